import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/database.js';
import { applyMigrations } from '../src/db/migrations.js';
import { runCommand, TOOL_CATALOG } from './support/commands.js';
import { createPostgresDatabase, SAMPLE_CATALOG_DIR } from './support/service.js';

/**
 * Item 7 of the fidelity issue: a dry run writes nothing, not even migrations. On a database with no
 * schema yet, `import --dry-run` and `reload --dry-run` plan against an in-memory copy of the schema
 * and the database is left without a single table; on one with migrations pending they refuse in one
 * line and apply nothing. Run against a fresh PGlite directory, or (with DATABASE_URL) a fresh
 * PostgreSQL database.
 */

let workDir: string;
beforeAll(() => {
  workDir = mkdtempSync(path.join(tmpdir(), 'tool-catalog-dry-run-'));
});
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

interface Target {
  env: Record<string, string>;
  /** Runs SQL on the target database, outside the CLI. */
  query<T>(sql: string): Promise<T[]>;
  /** Brings the database up to the committed migrations. */
  migrate(): Promise<void>;
  drop(): Promise<void>;
}

/** A fresh database with nothing of ours in it: a PGlite directory made by PGlite itself, or a new PostgreSQL database. */
async function freshUnmigratedDatabase(name: string): Promise<Target> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const dataDir = path.join(workDir, name);
    // PGlite creates the cluster (PG_VERSION, base/…), as a first start would; no migrations.
    const { PGlite } = await import('@electric-sql/pglite');
    await (await PGlite.create(dataDir)).close();
    // Each use opens and closes the directory, so the CLI (a second process) is never locked out.
    const withDb = async <T>(fn: (db: Awaited<ReturnType<typeof openDatabase>>) => Promise<T>) => {
      const db = await openDatabase({ kind: 'pglite', dataDir });
      try {
        return await fn(db);
      } finally {
        await db.close();
      }
    };
    return {
      env: { DATA_DIR: dataDir },
      query: (sql) => withDb((db) => db.prisma.$queryRawUnsafe(sql)),
      migrate: () => withDb(async (db) => void (await applyMigrations(db.migrationAdapter()))),
      drop: async () => {},
    };
  }
  const fresh = await createPostgresDatabase(serverUrl);
  const query = async <T>(sql: string) => {
    const client = new pg.Client({ connectionString: fresh.url });
    await client.connect();
    try {
      return (await client.query(sql)).rows as T[];
    } finally {
      await client.end();
    }
  };
  return {
    env: { DATABASE_URL: fresh.url },
    query,
    migrate: async () => {
      const db = await openDatabase({ kind: 'postgres', url: fresh.url, poolMax: 2, connectTimeoutMs: 5_000, statementTimeoutMs: 60_000, idleTimeoutMs: 10_000 });
      try {
        await applyMigrations(db.migrationAdapter());
      } finally {
        await db.close();
      }
    },
    drop: fresh.drop,
  };
}

const TABLES = `SELECT table_schema || '.' || table_name AS name FROM information_schema.tables
  WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`;
const tables = async (target: Target) => (await target.query<{ name: string }>(TABLES)).map((row) => row.name);

const cli = (target: Target, ...args: string[]) => runCommand([...TOOL_CATALOG, ...args], { ...target.env, CATALOG_DIR: SAMPLE_CATALOG_DIR }, 170_000);

describe('a dry run on a database with no schema', () => {
  it('plans import and reload against an in-memory copy of the schema and leaves the database without a table', { timeout: 400_000 }, async () => {
    const target = await freshUnmigratedDatabase('unmigrated');
    try {
      expect(await tables(target)).toEqual([]);

      const imported = await cli(target, 'import', '--dry-run', SAMPLE_CATALOG_DIR);
      expect(imported.code, imported.stderr).toBe(0);
      expect(imported.stderr).toMatch(/planning against an empty in-memory copy of the schema \(nothing is written\)/);
      expect(imported.stdout).toMatch(/\d+ file\(s\): [1-9]\d* created, 0 new version\(s\), 0 unchanged, 0 rejected/);
      expect(imported.stdout).toContain('Dry run: nothing was written.');
      expect(await tables(target)).toEqual([]);

      const reloaded = await cli(target, 'reload', '--dry-run', '--reason', 'plan only');
      expect(reloaded.code, reloaded.stderr).toBe(0);
      expect(reloaded.stderr).toMatch(/planning against an empty in-memory copy of the schema \(nothing is written\)/);
      expect(reloaded.stdout).toMatch(/^dry run of reload from .*: [1-9]\d* created, 0 new version\(s\), 0 unchanged, 0 rejected/m);
      expect(await tables(target), 'a reload dry run leaves no table, no history row, no migration').toEqual([]);
    } finally {
      await target.drop();
    }
  });
});

describe.skipIf(!!process.env.DATABASE_URL)('a dry run on an empty embedded data directory', () => {
  it('does not create a database in it', { timeout: 200_000 }, async () => {
    const dataDir = path.join(workDir, 'empty-dir');
    mkdirSync(dataDir);
    const run = await runCommand([...TOOL_CATALOG, 'import', '--dry-run', SAMPLE_CATALOG_DIR], { DATA_DIR: dataDir }, 170_000);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('does not exist yet; planning against an empty in-memory copy of the schema');
    expect(readdirSync(dataDir)).toEqual([]);
  });
});

describe('a dry run on a database with migrations pending', () => {
  it('refuses in one line, exits non-zero, and applies nothing', { timeout: 400_000 }, async () => {
    const target = await freshUnmigratedDatabase('pending');
    try {
      await target.migrate();
      // The newest migration not applied yet: what a database looks like before an upgrade.
      const [newest] = await target.query<{ migration_name: string }>('SELECT migration_name FROM "_prisma_migrations" ORDER BY migration_name DESC LIMIT 1');
      await target.query(`DELETE FROM "_prisma_migrations" WHERE migration_name = '${newest!.migration_name}'`);
      const before = { tables: await tables(target), migrations: await target.query('SELECT migration_name FROM "_prisma_migrations" ORDER BY 1') };

      for (const args of [['import', '--dry-run', SAMPLE_CATALOG_DIR], ['reload', '--dry-run']]) {
        const run = await cli(target, ...args);
        expect(run.code, `${args.join(' ')}: ${run.stdout}`).not.toBe(0);
        const lines = run.stderr.trim().split('\n');
        expect(lines, run.stderr).toHaveLength(1);
        expect(lines[0]).toMatch(/^tool-catalog: migrations are pending on this database, and a dry run writes nothing/);
        expect(run.stdout).toBe('');
      }
      expect(await tables(target)).toEqual(before.tables);
      expect(await target.query('SELECT migration_name FROM "_prisma_migrations" ORDER BY 1')).toEqual(before.migrations);
      expect(await target.query('SELECT id FROM "CatalogReload"'), 'no history row either').toEqual([]);
    } finally {
      await target.drop();
    }
  });
});
