import { createHash, randomBytes } from 'node:crypto';
import { auditRow, CLI_ORIGIN, type ChangeOrigin } from '../audit/auditRow.js';
import { CatalogValidationError, ConflictError, NotFoundError } from '../catalog/errors.js';
import type { PrismaClient } from '../generated/prisma/client.js';
import { Prisma } from '../generated/prisma/client.js';
import { CATALOG_CHANNEL } from '../events/eventLog.js';

/** Lowest to highest: a reporter may report runs but not change the catalog. */
export const ROLES = ['reader', 'reporter', 'editor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Keys are random and long, so a fast hash is enough: only the hash is stored. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function generateKey(): string {
  return `tc_${randomBytes(32).toString('base64url')}`;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Creates a key and returns it in clear, once; afterwards only its hash exists. */
export async function createApiKey(prisma: PrismaClient, name: string, role: Role, origin: ChangeOrigin = CLI_ORIGIN): Promise<string> {
  if (!NAME.test(name)) {
    throw CatalogValidationError.of([{ path: 'name', message: `invalid key name ${JSON.stringify(name)}: letters, digits, . _ - (up to 128)` }]);
  }
  if (!ROLES.includes(role)) throw CatalogValidationError.of([{ path: 'role', message: `invalid role ${JSON.stringify(role)}: one of ${ROLES.join(', ')}` }]);
  const key = generateKey();
  try {
    await prisma.$transaction(async (tx) => {
      const created = await tx.apiKey.create({ data: { name, role, keyHash: hashKey(key) } });
      await tx.auditLog.create({ data: auditRow(origin, { action: 'apiKey.create', entityType: 'ApiKey', entityId: created.id, entityName: name, diff: { after: { role } } }) });
    });
  } catch (error) {
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
      throw new ConflictError(`a key named ${JSON.stringify(name)} already exists`);
    }
    throw error;
  }
  return key;
}

export async function revokeApiKey(prisma: PrismaClient, name: string, origin: ChangeOrigin = CLI_ORIGIN): Promise<void> {
  await prisma.$transaction(async (tx) => {
    const revoked = await tx.apiKey.updateMany({ where: { name, revokedAt: null }, data: { revokedAt: new Date() } });
    if (revoked.count === 0) throw new NotFoundError(`no active key named ${JSON.stringify(name)}`, 'ApiKey');
    await tx.auditLog.create({ data: auditRow(origin, { action: 'apiKey.revoke', entityType: 'ApiKey', entityName: name, diff: { before: { revoked: false }, after: { revoked: true } } }) });
    // Every instance listens on the catalog channel (delivered at commit): each one drops its cached
    // key lookups then, so the revoked key is refused everywhere at once, not when a cache entry expires.
    await tx.$queryRaw`SELECT 1 FROM pg_notify(${CATALOG_CHANNEL}, 'apiKey.revoke')`;
  });
}

export function listApiKeys(prisma: PrismaClient) {
  return prisma.apiKey.findMany({
    select: { name: true, role: true, createdAt: true, lastUsedAt: true, revokedAt: true },
    orderBy: { name: 'asc' },
  });
}
