import { isExpectedError } from '../catalog/errors.js';
import { createApiKey, listApiKeys, revokeApiKey, ROLES, type Role } from '../auth/keys.js';
import { withCliDatabase } from './database.js';

/** Runs a key operation; a refused one (bad name, duplicate, unknown key) is one line and exit 1. */
async function keyOperation(run: () => Promise<void>): Promise<number> {
  try {
    await run();
    return 0;
  } catch (error) {
    if (isExpectedError(error)) {
      console.error(`tool-catalog: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

export async function createKeyCommand(options: { name: string; role: string }): Promise<number> {
  if (!(ROLES as readonly string[]).includes(options.role)) {
    console.error(`tool-catalog: --role must be one of ${ROLES.join(', ')}`);
    return 2;
  }
  return keyOperation(async () => {
    const key = await withCliDatabase((db) => createApiKey(db.prisma, options.name, options.role as Role));
    console.error(`created key ${JSON.stringify(options.name)} with role ${options.role}; it is shown once, store it now:`);
    console.log(key);
  });
}

export async function listKeysCommand(): Promise<number> {
  const keys = await withCliDatabase((db) => listApiKeys(db.prisma));
  for (const key of keys) {
    const state = key.revokedAt ? `revoked ${key.revokedAt.toISOString()}` : 'active';
    console.log(`${key.name.padEnd(32)} ${key.role.padEnd(7)} ${state.padEnd(34)} created ${key.createdAt.toISOString()}`);
  }
  if (!keys.length) console.log('no keys');
  return 0;
}

export async function revokeKeyCommand(name: string): Promise<number> {
  return keyOperation(async () => {
    await withCliDatabase((db) => revokeApiKey(db.prisma, name));
    console.log(`revoked ${name}`);
  });
}
