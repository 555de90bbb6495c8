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

/** Every scalar value (not key) in `value`; with `typed`, as JSON (`"5"` and `5` differ). */
function scalars(value: unknown, out: string[] = [], typed = false): string[] {
  if (Array.isArray(value)) value.forEach((v) => scalars(v, out, typed));
  else if (value && typeof value === 'object' && !(value instanceof Date)) Object.values(value).forEach((v) => scalars(v, out, typed));
  else if (value !== null && value !== undefined) out.push(typed ? JSON.stringify(value) : String(value));
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

/** Each legacy file (path under LEGACY_DIR) with the exported file of the tool it became. */
async function exportedPerSource(): Promise<Array<{ relative: string; source: unknown; exported: string }>> {
  const exported = new Map((await exportCatalog(db.prisma)).map((file) => [file.path, file.content]));
  const plan = await importCatalog(db.prisma, { paths: [LEGACY_DIR] }, { actor: 'test', dryRun: true });
  return plan.tools.map((tool) => {
    const relative = path.relative(LEGACY_DIR, tool.file);
    const content = exported.get(`${tool.platform}/${tool.name}.yaml`);
    expect(content, relative).toBeDefined();
    return { relative, source: files.find((f) => f.relative === relative)!.value, exported: content! };
  });
}

/**
 * The values of `source` that `read` lacks, compared with their types (`"yes"` is not `true`, `"5"`
 * is not `5`) and counted (a value the source holds twice must be there twice). Keys are left out:
 * the legacy shapes' keys become the canonical shape's.
 */
function valuesLost(source: unknown, read: unknown): string[] {
  const have = new Map<string, number>();
  for (const value of scalars(read, [], true)) have.set(value, (have.get(value) ?? 0) + 1);
  const lost: string[] = [];
  for (const value of scalars(source, [], true)) {
    const left = have.get(value) ?? 0;
    if (left === 0) lost.push(value);
    else have.set(value, left - 1);
  }
  return lost;
}

describe('export', () => {
  it('keeps every value of every source file, with its type, in the exported file of its tool when read by a YAML 1.1 parser', async () => {
    const pairs = await exportedPerSource();
    expect(pairs).toHaveLength(222);
    const lost = pairs.flatMap(({ relative, source, exported }) =>
      [...valuesLost(source, parse(exported, { version: '1.1' })), ...valuesLost(source, parse(exported))].map((value) => `${relative}: ${value}`),
    );
    expect(lost).toEqual([]);
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
      // Value by value against the legacy sources, as PyYAML reads the export.
      const index = new Map(exported.map((file, i) => [file.content, i]));
      const lost = (await exportedPerSource()).flatMap(({ relative, source, exported: content }) =>
        valuesLost(source, read[index.get(content)!]).map((value) => `${relative}: ${value}`),
      );
      expect(lost).toEqual([]);
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
