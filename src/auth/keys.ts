import { createHash, randomBytes } from 'node:crypto';
import type { PrismaClient } from '../generated/prisma/client.js';
import { Prisma } from '../generated/prisma/client.js';

export const ROLES = ['reader', 'editor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Keys are random and long, so a fast hash is enough: only the hash is stored. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function generateKey(): string {
  return `tc_${randomBytes(32).toString('base64url')}`;
}

export class ApiKeyError extends Error {
  override name = 'ApiKeyError';
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Creates a key and returns it in clear, once; afterwards only its hash exists. */
export async function createApiKey(prisma: PrismaClient, name: string, role: Role): Promise<string> {
  if (!NAME.test(name)) throw new ApiKeyError(`invalid key name ${JSON.stringify(name)}: letters, digits, . _ - (up to 128)`);
  if (!ROLES.includes(role)) throw new ApiKeyError(`invalid role ${JSON.stringify(role)}: one of ${ROLES.join(', ')}`);
  const key = generateKey();
  try {
    await prisma.apiKey.create({ data: { name, role, keyHash: hashKey(key) } });
  } catch (error) {
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
      throw new ApiKeyError(`a key named ${JSON.stringify(name)} already exists`);
    }
    throw error;
  }
  await prisma.auditLog.create({ data: { actor: 'cli', action: 'apiKey.create', entityType: 'ApiKey', entityName: name, diff: { role } } });
  return key;
}

export async function revokeApiKey(prisma: PrismaClient, name: string): Promise<void> {
  const revoked = await prisma.apiKey.updateMany({ where: { name, revokedAt: null }, data: { revokedAt: new Date() } });
  if (revoked.count === 0) throw new ApiKeyError(`no active key named ${JSON.stringify(name)}`);
  await prisma.auditLog.create({ data: { actor: 'cli', action: 'apiKey.revoke', entityType: 'ApiKey', entityName: name } });
}

export function listApiKeys(prisma: PrismaClient) {
  return prisma.apiKey.findMany({
    select: { name: true, role: true, createdAt: true, lastUsedAt: true, revokedAt: true },
    orderBy: { name: 'asc' },
  });
}
