import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { exportCatalog, stringifyPortable } from '../src/catalog/exporter.js';
import { importCatalog } from '../src/catalog/importer.js';
import type { Database } from '../src/db/database.js';
import { applyMigrations } from '../src/db/migrations.js';
import { openTestDatabase } from './support/service.js';

/** The legacy corpus, read from beside the project (never copied into it). */
const LEGACY_DIR = fileURLToPath(new URL('../../shared/legacy-catalog/', import.meta.url));

interface SourceFile {
  relative: string;
  value: Record<string, any>;
}

function legacyFiles(): SourceFile[] {
  return readdirSync(LEGACY_DIR, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.yaml') && !f.split(path.sep).includes('templates'))
    .sort()
    .map((relative) => ({ relative, value: parse(readFileSync(path.join(LEGACY_DIR, relative), 'utf8')) }));
}

/** Capabilities and patterns as the files state them, counted without the importer. */
function expectedCounts(files: SourceFile[]) {
  let capabilities = 0;
  let patterns = 0;
  const size = (v: unknown) => (Array.isArray(v) ? v.length : v && typeof v === 'object' ? Object.keys(v).length : 0);
  for (const { value } of files) {
    if (value.tool) {
      capabilities += value.tool.capability ? 1 : 0;
      patterns += value.tool.pattern ? 1 : 0;
      continue;
    }
    const caps = value.capabilities;
    const list = Array.isArray(caps) ? caps : Object.values(caps ?? {});
    capabilities += list.length;
    for (const capability of list) patterns += size((capability as any)?.patterns);
  }
  return { capabilities, patterns };
}

function scalars(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => scalars(v, out));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => scalars(v, out));
  else if (value !== null && value !== undefined) out.push(String(value));
  return out;
}

async function freshDatabase() {
  const opened = await openTestDatabase();
  await applyMigrations(opened.db.migrationAdapter());
  return opened;
}

let db: Database;
let drop: () => Promise<void>;
let files: SourceFile[];

beforeAll(async () => {
  ({ db, drop } = await freshDatabase());
  files = legacyFiles();
});
afterAll(() => drop());

describe('importing the legacy corpus', () => {
  it('plans every file as a new tool on a dry run, and writes nothing', async () => {
    const report = await importCatalog(db.prisma, { paths: [LEGACY_DIR] }, { actor: 'test', dryRun: true });
    expect(files).toHaveLength(222);
    expect(report.counts).toMatchObject({ files: 222, create: 222, rejected: 0, skipped: 1 });
    expect(report.applied).toBe(false);
    expect(await db.prisma.tool.count()).toBe(0);
    expect(await db.prisma.catalogEvent.count()).toBe(0);
  });

  it('makes every file a tool, keeping linux and windows tools of one name apart', async () => {
    const report = await importCatalog(db.prisma, { paths: [LEGACY_DIR] }, { actor: 'test' });
    expect(report.counts).toMatchObject({ files: 222, create: 222, rejected: 0 });
    expect(report.applied).toBe(true);
    // A large import refreshes the planner's statistics itself (PGlite has no autovacuum).
    const analyzed = await db.prisma.$queryRaw<Array<{ relname: string }>>`
      SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL AND relname IN ('Tool', 'Capability', 'Pattern') ORDER BY relname`;
    expect(analyzed.map((row) => row.relname)).toEqual(['Capability', 'Pattern', 'Tool']);
    const tools = await db.prisma.tool.findMany({ select: { name: true, platform: true } });
    expect(tools).toHaveLength(222);
    for (const name of ['netstat', 'nslookup', 'ping', 'whoami']) {
      expect(tools.filter((t) => t.name === name).map((t) => t.platform).sort(), name).toEqual(['linux', 'windows']);
    }
    const shapes = new Map<string, number>();
    for (const tool of report.tools) shapes.set(tool.shape!, (shapes.get(tool.shape!) ?? 0) + 1);
    expect(Object.fromEntries(shapes)).toEqual({
      standard: 183,
      'capability-list': 1,
      'windows-wrapper': 11,
      stub: 26,
      'metadata-identity': 1,
    });
  });

  it('keeps every capability and pattern the files define', async () => {
    const expected = expectedCounts(files);
    expect(expected.capabilities).toBeGreaterThanOrEqual(211 + 11);
    expect(expected.patterns).toBeGreaterThanOrEqual(265 + 11);
    expect(await db.prisma.capability.count()).toBe(expected.capabilities);
    expect(await db.prisma.pattern.count()).toBe(expected.patterns);
  });

  it('warns, without rejecting, about undeclared variables, unknown words and placeholders', async () => {
    const report = await importCatalog(db.prisma, { paths: [LEGACY_DIR] }, { actor: 'test', dryRun: true });
    const warnings = report.tools.flatMap((t) => t.diagnostics).filter((d) => d.severity === 'warning');
    expect(warnings.some((w) => /uses packet_count, which no input declares/.test(w.message))).toBe(true);
    expect(warnings.some((w) => /unknown scope "continuous"/.test(w.message))).toBe(true);
    expect(warnings.some((w) => /\{\{…\}\} placeholder/.test(w.message) && w.file.endsWith('prometheus.yaml'))).toBe(true);
    for (const warning of warnings) expect(warning.line, JSON.stringify(warning)).toBeGreaterThan(0);
  });

  it('changes nothing when run again, and says so', async () => {
    const before = await db.prisma.tool.count();
    const report = await importCatalog(db.prisma, { paths: [LEGACY_DIR] }, { actor: 'test' });
    expect(report.counts).toMatchObject({ create: 0, new_version: 0, unchanged: 222, rejected: 0 });
    expect(await db.prisma.tool.count()).toBe(before);
  });
});

describe('export', () => {
  it('keeps every scalar value of every source file', async () => {
    const exported = await exportCatalog(db.prisma);
    expect(exported).toHaveLength(222);
    const present = new Set(exported.flatMap((file) => scalars(parse(file.content))));
    const missing: string[] = [];
    for (const { relative, value } of files) {
      for (const scalar of scalars(value)) if (!present.has(scalar)) missing.push(`${relative}: ${JSON.stringify(scalar)}`);
    }
    expect(missing).toEqual([]);
  });

  it('reads the same with a YAML 1.1 parser as with a YAML 1.2 parser, file by file and value by value', async () => {
    const exported = await exportCatalog(db.prisma);
    expect(exported).toHaveLength(222);
    for (const file of exported) expect(parse(file.content, { version: '1.1' }), file.path).toEqual(parse(file.content));
    // The four legacy values that a YAML 1.1 reader took for booleans stay text.
    const texts = new Set(exported.flatMap((file) => scalars(parse(file.content, { version: '1.1' }))));
    for (const word of ['yes', 'no', 'on', 'off']) expect(texts.has(word), word).toBe(true);
  });

  it.skipIf(spawnSync('python3', ['-c', 'import yaml']).status !== 0)('reads the same with PyYAML (YAML 1.1) as with the importer', async () => {
    const exported = await exportCatalog(db.prisma);
    const dir = mkdtempSync(path.join(tmpdir(), 'tool-catalog-pyyaml-'));
    try {
      exported.forEach((file, i) => writeFileSync(path.join(dir, `${i}.yaml`), file.content));
      const script = 'import json,sys,yaml\nprint(json.dumps([yaml.safe_load(open(sys.argv[1]+"/"+str(i)+".yaml")) for i in range(int(sys.argv[2]))], default=lambda v: "<" + type(v).__name__ + ">"))';
      const run = spawnSync('python3', ['-c', script, dir, String(exported.length)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 60_000 });
      expect(run.status, run.stderr).toBe(0);
      const read = JSON.parse(run.stdout) as unknown[];
      exported.forEach((file, i) => expect(read[i], file.path).toEqual(parse(file.content)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    'yes', 'No', 'ON', 'off', 'y', 'N', '~', 'null', 'NULL', '', '1_000', '0x1F', '0o17', '017', '0b101', '190:20:30', '1:20',
    '2001-12-14', '2001-12-14 21:59:43.10 -5', '.inf', '-.Inf', '.NaN', '1e3', '1.5', '.5', '+1', '-0', '=', '<<', 'true', 'False',
  ])('writes %j so that YAML 1.1 and 1.2 parsers read it back as that text, as a value and as a key', (text) => {
    const written = stringifyPortable({ [text]: text, list: [text] });
    for (const version of ['1.1', '1.2'] as const) expect(parse(written, { version }), written).toEqual({ [text]: text, list: [text] });
  });

  it('imports into an empty database as the same catalog', async () => {
    const first = await exportCatalog(db.prisma);
    const second = await freshDatabase();
    try {
      const report = await importCatalog(
        second.db.prisma,
        { documents: first.map((f) => ({ name: f.path, content: f.content })) },
        { actor: 'test' },
      );
      expect(report.counts).toMatchObject({ create: 222, rejected: 0 });
      const again = await exportCatalog(second.db.prisma);
      expect(again.map((f) => f.path)).toEqual(first.map((f) => f.path));
      for (let i = 0; i < first.length; i++) expect(again[i]!.content, first[i]!.path).toBe(first[i]!.content);
      // The content fingerprints agree too: re-importing the original files changes nothing.
      const original = await importCatalog(second.db.prisma, { paths: [LEGACY_DIR] }, { actor: 'test', dryRun: true });
      expect(original.counts).toMatchObject({ unchanged: 222, create: 0, new_version: 0 });
    } finally {
      await second.drop();
    }
  });
});
