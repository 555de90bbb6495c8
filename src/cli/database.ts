import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig } from '../config.js';
import { openDatabase, type Database } from '../db/database.js';
import { applyMigrations, migrationsUpToDate } from '../db/migrations.js';
import type { PrismaClient } from '../generated/prisma/client.js';

/** True when the database holds nothing of ours yet: no migrations recorded and no tool table. */
async function isBlank(prisma: PrismaClient): Promise<boolean> {
  const rows = await prisma.$queryRawUnsafe<Array<{ count: bigint | number }>>(
    `SELECT count(*) AS count FROM information_schema.tables WHERE table_schema = current_schema() AND table_name IN ('_prisma_migrations', 'Tool')`,
  );
  return Number(rows[0]?.count ?? 0) === 0;
}

/** An in-memory database with the current schema, for planning against a database that has none yet. */
async function withScratchCopy<T>(fn: (db: Database) => Promise<T>, why: string): Promise<T> {
  console.error(`tool-catalog: ${why}; planning against an empty in-memory copy of the schema (nothing is written)`);
  const scratch = await openDatabase({ kind: 'pglite', dataDir: 'memory://' });
  try {
    await applyMigrations(scratch.migrationAdapter());
    return await fn(scratch);
  } finally {
    await scratch.close();
  }
}

/**
 * Opens the configured database for a CLI command, brought up to the committed migrations.
 * With `planOnly` (dry runs) nothing is written, not even migrations: a database that is up to date
 * is planned against as it is; a blank one (or an embedded one not created yet) through an empty
 * in-memory copy of the schema; one with migrations pending is refused with a message saying so.
 */
export async function withCliDatabase<T>(fn: (db: Database) => Promise<T>, options: { planOnly?: boolean } = {}): Promise<T> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) throw new Error(error.message);
    throw error;
  }
  // No PG_VERSION: no embedded database there yet (opening one would create it, a write).
  if (options.planOnly && config.database.kind === 'pglite' && !existsSync(path.join(config.database.dataDir, 'PG_VERSION'))) {
    return withScratchCopy(fn, `the embedded database ${config.database.dataDir} does not exist yet`);
  }
  const db = await openDatabase(config.database);
  let blank = false;
  try {
    if (options.planOnly) {
      if (!(await migrationsUpToDate(db.prisma))) {
        blank = await isBlank(db.prisma);
        if (!blank) {
          throw new Error(
            'migrations are pending on this database, and a dry run writes nothing (not even migrations): run `npm run db:migrate`, or the command without --dry-run, first',
          );
        }
      }
      if (!blank) return await fn(db);
    } else {
      // The schema engine (WebAssembly) is loaded only when something is pending: it costs seconds.
      if (!(await migrationsUpToDate(db.prisma))) await applyMigrations(db.migrationAdapter());
      return await fn(db);
    }
  } finally {
    await db.close();
  }
  return withScratchCopy(fn, 'the database has no schema yet');
}
