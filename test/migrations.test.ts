import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { applyMigrations, diffMigrationsToSchema, migrationsUpToDate, readMigrations } from '../src/db/migrations.js';
import { openTestDatabase } from './support/service.js';
import type { Database } from '../src/db/database.js';

describe('migrations', () => {
  let db: Database;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    ({ db, drop } = await openTestDatabase());
  });
  afterAll(() => drop());

  it('produce exactly schema.prisma: the engine diff from the committed migrations is empty', async () => {
    const shadow = await PGlite.create('memory://');
    try {
      expect(await diffMigrationsToSchema(new PrismaPGlite(shadow))).toBe('');
    } finally {
      await shadow.close();
    }
  });

  it('apply every committed migration once on an empty database, then nothing', async () => {
    const committed = (await readMigrations()).migrationDirectories.map((m) => m.path);
    expect(committed.length).toBeGreaterThan(0);
    expect(await migrationsUpToDate(db.prisma)).toBe(false);
    expect(await applyMigrations(db.migrationAdapter())).toEqual(committed);
    expect(await migrationsUpToDate(db.prisma)).toBe(true);
    expect(await applyMigrations(db.migrationAdapter())).toEqual([]);

    const recorded = await db.prisma.$queryRaw<Array<{ migration_name: string; finished_at: Date | null }>>`
      SELECT migration_name, finished_at FROM _prisma_migrations ORDER BY migration_name`;
    expect(recorded.map((r) => r.migration_name)).toEqual(committed);
    expect(recorded.every((r) => r.finished_at !== null)).toBe(true);

    // A recorded migration whose file changed since is not "up to date": start-up asks the engine.
    const [last] = committed.slice(-1);
    await db.prisma.$executeRaw`UPDATE _prisma_migrations SET checksum = 'edited' WHERE migration_name = ${last}`;
    expect(await migrationsUpToDate(db.prisma)).toBe(false);
  });

  it('create the partial indexes that latest-version reads rely on', async () => {
    const indexes = await db.prisma.$queryRaw<Array<{ indexname: string; indexdef: string }>>`
      SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'Tool'`;
    const byName = new Map(indexes.map((i) => [i.indexname, i.indexdef]));
    expect(byName.get('Tool_latest_key')).toMatch(/UNIQUE INDEX .* WHERE "isLatest"/);
    expect(byName.get('Tool_latest_enabled_name_idx')).toMatch(/\(name, platform\) WHERE \("isLatest" AND enabled AND \("deletedAt" IS NULL\)\)/);
  });

  it('enforce one latest version per tool identity in the database itself', async () => {
    const base = { name: 'uniq-probe', platform: 'linux', category: 'system', isLatest: true };
    await db.prisma.tool.create({ data: { ...base, version: '1' } });
    await expect(db.prisma.tool.create({ data: { ...base, version: '2' } })).rejects.toThrow(/Unique constraint/);
    // Same name on another platform is another tool.
    await db.prisma.tool.create({ data: { ...base, platform: 'windows', version: '1' } });
    expect(await db.prisma.tool.count({ where: { name: 'uniq-probe', isLatest: true } })).toBe(2);
  });
});
