import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { seedIfEmpty, SeedRejectedError } from '../src/catalog/seed.js';
import { applyMigrations } from '../src/db/migrations.js';
import type { Database } from '../src/db/database.js';
import { readSampleCatalog } from './support/sampleCatalog.js';
import { openTestDatabase, SAMPLE_CATALOG_DIR, silentLog } from './support/service.js';

let db: Database;
let drop: () => Promise<void>;
let workDir: string;

beforeAll(async () => {
  ({ db, drop } = await openTestDatabase());
  await applyMigrations(db.migrationAdapter());
  workDir = mkdtempSync(path.join(tmpdir(), 'tool-catalog-seed-'));
});
afterAll(async () => {
  await drop();
  rmSync(workDir, { recursive: true, force: true });
});
afterEach(async () => {
  await db.prisma.tool.deleteMany();
  await db.prisma.catalogEvent.deleteMany();
});

function catalogWith(name: string, edit: (text: string) => string): string {
  const dir = path.join(workDir, name);
  cpSync(SAMPLE_CATALOG_DIR, dir, { recursive: true });
  const file = path.join(dir, 'linux', 'grep.yaml');
  writeFileSync(file, edit(readFileSync(file, 'utf8')));
  return dir;
}

describe('seeding the sample catalog', () => {
  it('loads every file with every capability and pattern, and records one event per tool', async () => {
    const sample = readSampleCatalog();
    expect(sample.length).toBeGreaterThanOrEqual(20);
    expect(sample.length).toBeLessThanOrEqual(40);
    expect(await seedIfEmpty(db.prisma, SAMPLE_CATALOG_DIR, silentLog)).toBe(sample.length);
    const capabilities = sample.reduce((n, t) => n + Object.keys(t.capabilities).length, 0);
    const patterns = sample.reduce((n, t) => n + Object.values(t.capabilities).reduce((m, c) => m + Object.keys(c.patterns).length, 0), 0);
    expect(await db.prisma.tool.count({ where: { isLatest: true } })).toBe(sample.length);
    expect(await db.prisma.capability.count()).toBe(capabilities);
    expect(await db.prisma.pattern.count()).toBe(patterns);
    const events = await db.prisma.catalogEvent.findMany({ select: { type: true, toolName: true, platform: true } });
    expect(events.map((e) => `${e.type} ${e.toolName}@${e.platform}`).sort()).toEqual(
      sample.map((t) => `TOOL_CREATED ${t.name}@${t.platform}`).sort(),
    );
    const platforms = new Set(sample.map((t) => t.platform));
    for (const platform of ['linux', 'windows', 'network', 'cloud', 'container', 'database', 'monitoring']) {
      expect(platforms, platform).toContain(platform);
    }
  });

  it('keeps keys it does not model in metadata instead of dropping them', async () => {
    const dir = catalogWith('extra-keys', (text) => `${text}\nowner_team: platform-ops\n`);
    await seedIfEmpty(db.prisma, dir, silentLog);
    const grep = await db.prisma.tool.findFirstOrThrow({ where: { name: 'grep' } });
    expect(grep.metadata).toMatchObject({ owner_team: 'platform-ops' });
  });

  it('does nothing when the database already holds tools', async () => {
    await seedIfEmpty(db.prisma, SAMPLE_CATALOG_DIR, silentLog);
    const before = await db.prisma.tool.count();
    expect(await seedIfEmpty(db.prisma, SAMPLE_CATALOG_DIR, silentLog)).toBe(0);
    expect(await db.prisma.tool.count()).toBe(before);
  });

  it.each([
    ['complexity out of range', (t: string) => t.replace(/complexity_score: [\d.]+/, 'complexity_score: 7'), /grep\.yaml:\d+:\d+: error: capabilities\.\w+\.patterns\.\w+\.complexity_score: expected a number from 0 to 1, found 7/],
    ['broken YAML', (t: string) => t.replace(/^tool_name: .*$/m, 'tool_name: [unclosed'), /grep\.yaml:\d+:\d+: error: /],
    ['missing category', (t: string) => t.replace(/^category: .*$/m, ''), /grep\.yaml(:\d+:\d+)?: error: category: required field is missing/],
    ['duplicate identity', (t: string) => t.replace(/^tool_name: .*$/m, 'tool_name: ps'), /tool ps \(linux\) is also defined in/],
  ])('rejects a catalog with %s, naming the file, and writes nothing', async (_case, edit, message) => {
    const dir = catalogWith(`bad-${_case.replace(/\W+/g, '-')}`, edit);
    const attempt = seedIfEmpty(db.prisma, dir, silentLog);
    await expect(attempt).rejects.toBeInstanceOf(SeedRejectedError);
    await expect(attempt).rejects.toThrow(message);
    expect(await db.prisma.tool.count()).toBe(0);
    expect(await db.prisma.catalogEvent.count()).toBe(0);
  });
});
