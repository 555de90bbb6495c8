import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MigrationList } from '@prisma/schema-engine-wasm';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type { PrismaClient } from '../generated/prisma/client.js';
import { withSchemaEngine, type EngineLog } from './schemaEngine.js';

/**
 * The project's prisma/ directory: two levels up from src/db (run with tsx), three from the compiled
 * dist/src/db (run with node after `npm run build`).
 */
export const prismaDir = [new URL('../../prisma/', import.meta.url), new URL('../../../prisma/', import.meta.url)]
  .map((url) => fileURLToPath(url))
  .find((dir) => existsSync(path.join(dir, 'schema.prisma'))) ?? fileURLToPath(new URL('../../prisma/', import.meta.url));
export const schemaPath = path.join(prismaDir, 'schema.prisma');
export const migrationsDir = path.join(prismaDir, 'migrations');

const noFilters = { externalTables: [], externalEnums: [] };

export async function readSchema() {
  return { path: schemaPath, content: await readFile(schemaPath, 'utf8') };
}

/** The standard prisma/migrations tree, read the way `prisma migrate deploy` reads it. */
export async function readMigrations(dir = migrationsDir): Promise<MigrationList> {
  const entries = existsSync(dir) ? await readdir(dir, { withFileTypes: true }) : [];
  const names = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  const lockPath = path.join(dir, 'migration_lock.toml');
  return {
    baseDir: dir,
    lockfile: {
      path: 'migration_lock.toml',
      content: existsSync(lockPath) ? await readFile(lockPath, 'utf8') : null,
    },
    shadowDbInitScript: '',
    migrationDirectories: await Promise.all(
      names.map(async (name) => ({
        path: name,
        migrationFile: {
          path: 'migration.sql',
          content: { tag: 'ok' as const, value: await readFile(path.join(dir, name, 'migration.sql'), 'utf8') },
        },
      })),
    ),
  };
}

/**
 * True when `_prisma_migrations` records every committed migration as applied, with the same
 * checksum (SHA-256 of migration.sql, as Prisma records it). Then start-up need not load the schema
 * engine, whose WebAssembly memory would stay with the process for its whole life.
 */
export async function migrationsUpToDate(prisma: PrismaClient): Promise<boolean> {
  const local = (await readMigrations()).migrationDirectories.map((dir) => ({
    name: dir.path,
    checksum: createHash('sha256').update(dir.migrationFile.content.tag === 'ok' ? dir.migrationFile.content.value : '').digest('hex'),
  }));
  let applied: Array<{ migration_name: string; checksum: string }>;
  try {
    applied = await prisma.$queryRawUnsafe(
      'SELECT migration_name, checksum FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
    );
  } catch {
    return false; // no migrations table yet: a fresh database
  }
  const recorded = new Map(applied.map((row) => [row.migration_name, row.checksum]));
  return local.every((migration) => recorded.get(migration.name) === migration.checksum);
}

/** Applies the migrations the database has not seen yet, recording them in `_prisma_migrations`. */
export async function applyMigrations(
  adapter: SqlMigrationAwareDriverAdapterFactory,
  log?: EngineLog,
): Promise<string[]> {
  const migrationsList = await readMigrations();
  const result = await withSchemaEngine(
    await readSchema(),
    adapter,
    (engine) => engine.applyMigrations({ migrationsList, filters: noFilters }),
    log,
  );
  return result.appliedMigrationNames;
}

/**
 * SQL that would take a database built from the committed migrations to `schema.prisma`.
 * Empty when the migrations and the schema agree. Replays migrations on a shadow database.
 */
export async function diffMigrationsToSchema(adapter: SqlMigrationAwareDriverAdapterFactory): Promise<string> {
  const schema = await readSchema();
  const migrations = await readMigrations();
  const result = await withSchemaEngine(schema, adapter, (engine) =>
    engine.diff({
      from: { tag: 'migrations', ...migrations },
      to: { tag: 'schemaDatamodel', files: [schema] },
      script: true,
      exitCode: null,
      filters: noFilters,
    }),
  );
  return (result.stdout ?? '').replace(/^-- This is an empty migration\.\s*$/m, '').trim();
}
