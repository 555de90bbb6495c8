/**
 * Hostile and broken input to the one import path (`importCatalog`).
 *
 * Every rejection is checked twice: the report names the file (and, where it applies, the line
 * and the field) with a message that says what was expected and what was found, and the database
 * is exactly as it was before — row counts of every table an import writes, and the id, latest
 * flag and last writer of every tool row. The sample catalog is imported first, so "unchanged"
 * means something.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { formatDiagnostic, type Diagnostic } from '../src/catalog/diagnostics.js';
import { importCatalog, type ImportInput, type ImportOptions, type ImportReport, type PlannedTool } from '../src/catalog/importer.js';
import { YAML_LIMITS } from '../src/catalog/yamlSource.js';
import type { Database } from '../src/db/database.js';
import { applyMigrations } from '../src/db/migrations.js';
import { openTestDatabase, SAMPLE_CATALOG_DIR } from './support/service.js';

const ACTOR = 'import-safety-test';
const SAMPLE_FILE = (relative: string) => path.join(SAMPLE_CATALOG_DIR, relative);

let db: Database;
let drop: () => Promise<void>;
let workDir: string;
let sampleToolCount: number;

beforeAll(async () => {
  ({ db, drop } = await openTestDatabase());
  await applyMigrations(db.migrationAdapter());
  workDir = mkdtempSync(path.join(tmpdir(), 'tool-catalog-import-safety-'));
  const sample = await importCatalog(db.prisma, { paths: [SAMPLE_CATALOG_DIR] }, { actor: 'seed' });
  expect(sample.applied).toBe(true);
  expect(sample.counts.rejected).toBe(0);
  sampleToolCount = sample.counts.create;
  expect(sampleToolCount).toBeGreaterThanOrEqual(20);
});
afterAll(async () => {
  await drop?.();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Building test documents (the standard legacy shape, as in catalog/linux/grep.yaml)
// ---------------------------------------------------------------------------------------------

/** Field name → YAML text of its value; `undefined` leaves the field out. */
type Fields = Record<string, string | undefined>;

const PATTERN = 'capabilities.probe.patterns.quick_probe';

function toolYaml(name: string, options: { top?: Fields; pattern?: Fields; capabilities?: string; tail?: string[] } = {}): string {
  const top: Fields = {
    tool_name: name,
    version: '"1.0.0"',
    description: `Test tool ${name}, written by import-safety.test.ts`,
    platform: 'linux',
    category: 'testing',
    ...options.top,
  };
  const pattern: Fields = {
    description: 'Probe one thing quickly',
    typical_use_cases: '\n          - check one host\n          - confirm a fix',
    time_estimate_ms: '"100 + N * 2"',
    cost_estimate: '"1"',
    complexity_score: '0.2',
    scope: 'single_item',
    completeness: 'complete',
    ...options.pattern,
  };
  const lines = [`# ${name}`];
  for (const [key, value] of Object.entries(top)) if (value !== undefined) lines.push(`${key}: ${value}`);
  if (options.capabilities !== undefined) {
    lines.push(`capabilities: ${options.capabilities}`);
  } else {
    lines.push('capabilities:', '  probe:', '    description: Probe things', '    patterns:', '      quick_probe:');
    for (const [key, value] of Object.entries(pattern)) if (value !== undefined) lines.push(`        ${key}: ${value}`);
  }
  lines.push(...(options.tail ?? []));
  return `${lines.join('\n')}\n`;
}

/** 1-based number of the first line of `text` containing `needle`. */
function lineOf(text: string, needle: string): number {
  const index = text.split('\n').findIndex((line) => line.includes(needle));
  if (index < 0) throw new Error(`test bug: ${JSON.stringify(needle)} is not in the document`);
  return index + 1;
}

/** Writes `text` to `relative` under a fresh directory for one test; returns the absolute path. */
function write(dir: string, relative: string, text: string): string {
  const file = path.join(dir, relative);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

let dirCount = 0;
function freshDir(label: string): string {
  const dir = path.join(workDir, `${++dirCount}-${label.replace(/\W+/g, '-')}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

// ---------------------------------------------------------------------------------------------
// The database, before and after
// ---------------------------------------------------------------------------------------------

async function snapshot() {
  const prisma = db.prisma;
  const [tool, capability, pattern, catalogEvent, auditLog, tools, lastEvent] = await Promise.all([
    prisma.tool.count(),
    prisma.capability.count(),
    prisma.pattern.count(),
    prisma.catalogEvent.count(),
    prisma.auditLog.count(),
    prisma.tool.findMany({ select: { id: true, name: true, platform: true, version: true, isLatest: true, updatedBy: true }, orderBy: { id: 'asc' } }),
    prisma.catalogEvent.findFirst({ orderBy: { revision: 'desc' }, select: { revision: true } }),
  ]);
  return { counts: { tool, capability, pattern, catalogEvent, auditLog }, tools, lastRevision: lastEvent?.revision ?? null };
}

async function run(input: ImportInput, options: Partial<ImportOptions> = {}): Promise<ImportReport> {
  return importCatalog(db.prisma, input, { actor: ACTOR, ...options });
}

/** Runs an import that must not write: the report says so and the database did not move. */
async function runWithoutWrites(input: ImportInput, options: Partial<ImportOptions> = {}): Promise<ImportReport> {
  const before = await snapshot();
  expect(before.counts.tool).toBeGreaterThanOrEqual(sampleToolCount);
  const report = await run(input, options);
  expect(report.applied).toBe(false);
  expect(report.revision).toBeUndefined();
  expect(await snapshot()).toEqual(before);
  return report;
}

function entry(report: ImportReport, file: string): PlannedTool {
  const tool = report.tools.find((t) => t.file === file);
  if (!tool) throw new Error(`no report entry for ${file}; entries: ${report.tools.map((t) => t.file).join(', ')}`);
  return tool;
}

function describeDiagnostics(diagnostics: Diagnostic[]): string {
  return diagnostics.map(formatDiagnostic).join('\n') || '(no diagnostics)';
}

interface ExpectedError {
  /** Dotted field path, when the problem is in one field. */
  field?: string;
  /** Exact line: where the defect starts, syntax errors included. */
  line?: number;
  message: RegExp;
}

/**
 * The file is rejected with an error that names it (and the line, column and field asked for),
 * and `formatDiagnostic` renders it as `file:line:col: error: field: message`.
 */
function expectRejected(report: ImportReport, file: string, expected: ExpectedError): Diagnostic {
  const tool = entry(report, file);
  expect(tool.action, describeDiagnostics(tool.diagnostics)).toBe('rejected');
  expect(tool.reason).toBeTruthy();
  expect(tool.write).toBeUndefined();
  const errors = tool.diagnostics.filter((d) => d.severity === 'error');
  const found = errors.find((d) => expected.message.test(d.message));
  expect(found, `no error matching ${expected.message} in:\n${describeDiagnostics(tool.diagnostics)}`).toBeDefined();
  const d = found!;
  expect(d.file).toBe(file);
  if (expected.field !== undefined) expect(d.field).toBe(expected.field);
  const wantsLine = expected.line !== undefined;
  if (expected.line !== undefined) expect(d.line, formatDiagnostic(d)).toBe(expected.line);
  if (wantsLine) expect(d.column, formatDiagnostic(d)).toBeGreaterThanOrEqual(1);
  const where = [file, d.line, d.column].filter((part) => part !== undefined).join(':');
  const prefix = `${where}: error: ${expected.field !== undefined ? `${expected.field}: ` : ''}`;
  expect(formatDiagnostic(d).slice(0, prefix.length)).toBe(prefix);
  return d;
}

/** The single file in `dir` is rejected on its own: one entry, rejected, nothing else planned. */
function expectOnlyRejection(report: ImportReport) {
  expect(report.counts.rejected, describeDiagnostics(report.tools.flatMap((t) => t.diagnostics))).toBe(1);
  expect(report.counts.create + report.counts.new_version + report.counts.unchanged).toBe(0);
}

// ---------------------------------------------------------------------------------------------

describe('resource exhaustion in YAML', () => {
  const level = (name: string, of: string) => `${name}: &${name} [${Array(9).fill(of).join(', ')}]`;
  // Nine levels of nine-fold aliases: 9^9 (387 million) strings if expanded.
  const bomb = [
    toolYaml('alias-bomb').trimEnd(),
    'metadata:',
    '  lol:',
    ...['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'].map((name, i, all) => `    ${level(name, i === 0 ? '"lol"' : `*${all[i - 1]}`)}`),
    '',
  ].join('\n');

  it('rejects a billion-laughs alias bomb from a file and from text, without expanding it', async () => {
    const dir = freshDir('alias-bomb');
    const file = write(dir, 'linux/alias-bomb.yaml', bomb);
    const heapBefore = process.memoryUsage().heapUsed;
    const fromFile = await runWithoutWrites({ paths: [dir] });
    expectOnlyRejection(fromFile);
    expectRejected(fromFile, file, { message: new RegExp(`alias.*limited to ${YAML_LIMITS.maxAliasCount}`, 'i') });

    const fromText = await runWithoutWrites({ documents: [{ name: 'linux/alias-bomb.yaml', content: bomb }] });
    expectOnlyRejection(fromText);
    expectRejected(fromText, 'linux/alias-bomb.yaml', { message: /alias/i });
    // Expanded, the bomb is gigabytes; refused, it is noise.
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(256 * 1024 * 1024);
  });

  it('still accepts a document that shares a block through a few aliases', async () => {
    const text = toolYaml('alias-friendly', {
      pattern: { policy: '&policy\n          max_cost: 5\n          production_safe: true', metadata: '*policy' },
    });
    const report = await runWithoutWrites({ documents: [{ name: 'alias-friendly.yaml', content: text }] }, { dryRun: true });
    expect(entry(report, 'alias-friendly.yaml').action, describeDiagnostics(report.tools[0]!.diagnostics)).toBe('create');
  });

  it.each([
    ['lists', `nested: ${'['.repeat(200)}deep${']'.repeat(200)}`],
    ['maps', `nested:\n${Array.from({ length: 200 }, (_, i) => `${'  '.repeat(i + 1)}k${i}:`).join('\n')} deep`],
    ['block lists', `nested:\n${Array.from({ length: 200 }, (_, i) => `${'  '.repeat(i + 1)}-`).join('\n')} deep`],
  ])('rejects a document nested 200 levels deep (%s), from a file and from text', async (_kind, nested) => {
    const text = toolYaml('too-deep', { top: { metadata: '' } }).replace(/^metadata: $/m, `metadata:\n  ${nested.replace(/\n/g, '\n  ')}`);
    const dir = freshDir('deep');
    const file = write(dir, 'linux/too-deep.yaml', text);
    const fromFile = await runWithoutWrites({ paths: [dir] });
    expectOnlyRejection(fromFile);
    expectRejected(fromFile, file, { message: new RegExp(`nested deeper than ${YAML_LIMITS.maxDepth} levels`) });

    const fromText = await runWithoutWrites({ documents: [{ name: 'too-deep.yaml', content: text }] });
    expectRejected(fromText, 'too-deep.yaml', { message: new RegExp(`nested deeper than ${YAML_LIMITS.maxDepth} levels`) });
  });

  const veryDeep = toolYaml('far-too-deep', { top: { metadata: `\n  nested: ${'['.repeat(5000)}deep${']'.repeat(5000)}` } });

  it('rejects a document nested 5000 levels deep without crashing the import', async () => {
    const report = await runWithoutWrites({ documents: [{ name: 'far-too-deep.yaml', content: veryDeep }] });
    expectOnlyRejection(report);
    expectRejected(report, 'far-too-deep.yaml', { message: /./ });
  });

  // Thousands of `[` would exhaust the parser's stack before the parsed depth is checked: refused up front.
  it('rejects a document nested 5000 levels deep with the nesting limit in the message', async () => {
    const report = await runWithoutWrites({ documents: [{ name: 'far-too-deep.yaml', content: veryDeep }] });
    const messages = entry(report, 'far-too-deep.yaml').diagnostics.map((d) => d.message);
    expect(messages.join('\n')).toMatch(new RegExp(`nested deeper than ${YAML_LIMITS.maxDepth} levels`));
    expect(messages.join('\n')).not.toMatch(/call stack/);
  });

  it('accepts nesting within the limit', async () => {
    const text = toolYaml('deep-enough', { top: { metadata: `\n  nested: ${'['.repeat(30)}ok${']'.repeat(30)}` } });
    const report = await runWithoutWrites({ documents: [{ name: 'deep-enough.yaml', content: text }] }, { dryRun: true });
    expect(entry(report, 'deep-enough.yaml').action, describeDiagnostics(report.tools[0]!.diagnostics)).toBe('create');
  });

  it('rejects a file over the size limit without reading it, and the same text given directly', async () => {
    const limit = YAML_LIMITS.maxFileBytes;
    expect(limit).toBe(1024 * 1024);
    const text = toolYaml('too-big', { top: { description: `"${'x'.repeat(limit)}"` } });
    const size = Buffer.byteLength(text);
    expect(size).toBeGreaterThan(limit);
    const dir = freshDir('too-big');
    const file = write(dir, 'linux/too-big.yaml', text);
    const sizeMessage = new RegExp(`file is ${size} bytes; the limit is ${limit}`);

    const fromDir = await runWithoutWrites({ paths: [dir] });
    expectOnlyRejection(fromDir);
    expectRejected(fromDir, file, { message: sizeMessage });
    const fromFile = await runWithoutWrites({ paths: [file] });
    expectRejected(fromFile, file, { message: sizeMessage });

    const fromText = await runWithoutWrites({ documents: [{ name: 'linux/too-big.yaml', content: text }] });
    expectOnlyRejection(fromText);
    expectRejected(fromText, 'linux/too-big.yaml', { message: sizeMessage });

    // The limit is in bytes, not characters: 600k two-byte characters are 1.2 MB.
    const wide = toolYaml('too-big-wide', { top: { description: `"${'é'.repeat(600_000)}"` } });
    expect(wide.length).toBeLessThan(limit);
    const fromWide = await runWithoutWrites({ documents: [{ name: 'wide.yaml', content: wide }] });
    expectRejected(fromWide, 'wide.yaml', { message: new RegExp(`file is ${Buffer.byteLength(wide)} bytes; the limit is ${limit}`) });
  });

  it('accepts a file just under the size limit', async () => {
    // The padding is a comment: a description is limited on its own (DEFINITION_LIMITS.description).
    const shell = toolYaml('big-but-fine', { top: { description: '"fine" #' } });
    const padding = YAML_LIMITS.maxFileBytes - Buffer.byteLength(shell) - 1;
    const text = toolYaml('big-but-fine', { top: { description: `"fine" #${'x'.repeat(padding)}` } });
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(YAML_LIMITS.maxFileBytes);
    const file = write(freshDir('big-but-fine'), 'big-but-fine.yaml', text);
    const report = await runWithoutWrites({ paths: [file] }, { dryRun: true });
    expect(entry(report, file).action, describeDiagnostics(report.tools[0]!.diagnostics)).toBe('create');
  });
});

describe('tags', () => {
  it.each([
    ['a Python object tag', (sentinel: string) => `!!python/object/apply:os.system ["touch ${sentinel}"]`, /python\/object\/apply:os\.system/],
    ['a custom local tag', () => '!custom foo', /!custom/],
    ['a JavaScript function tag', (sentinel: string) => `!!js/function "function () { require('fs').writeFileSync('${sentinel}', 'x') }"`, /js\/function/],
  ])('rejects %s with its line and column, and never acts on it', async (_kind, tagged, message) => {
    const dir = freshDir('tag');
    const sentinel = path.join(dir, 'tag-was-evaluated');
    const text = toolYaml('tagged-tool', { tail: [`run_on_load: ${tagged(sentinel)}`] });
    const file = write(dir, 'linux/tagged.yaml', text);
    const report = await runWithoutWrites({ paths: [dir] });
    expectOnlyRejection(report);
    expectRejected(report, file, { line: lineOf(text, 'run_on_load:'), message });

    const fromText = await runWithoutWrites({ documents: [{ name: 'tagged.yaml', content: text }] });
    expectRejected(fromText, 'tagged.yaml', { line: lineOf(text, 'run_on_load:'), message });
    expect(existsSync(sentinel)).toBe(false);
  });

  // YAML 1.1 tags are not resolved: !!set and !!omap were once read as {} and lost their data.
  it.each([
    ['!!binary', '!!binary aGVsbG8gd29ybGQ=', /binary/],
    ['!!set', '!!set {a, b}', /set/],
    ['!!omap', '!!omap [a: 1, b: 2]', /omap/],
    ['!!timestamp', '!!timestamp 2001-12-14', /timestamp/],
  ])('rejects the YAML 1.1 tag %s with its line', async (tag, tagged, message) => {
    const text = toolYaml(`tagged-${tag.slice(2)}`, { tail: [`blob: ${tagged}`] });
    // A dry run, so that while the bug stands the accepted file is not written either.
    const report = await runWithoutWrites({ documents: [{ name: 'tagged-known.yaml', content: text }] }, { dryRun: true });
    expectRejected(report, 'tagged-known.yaml', { line: lineOf(text, 'blob:'), message });
  });
});

describe('broken syntax', () => {
  it.each([
    ['an unclosed bracket', (t: string) => t.replace(/^category: .*$/m, 'category: [testing, more'), 'category:', /Unclosed flow list/],
    ['an unclosed quote', (t: string) => t.replace(/^category: .*$/m, 'category: "testing'), 'category:', /Missing closing quote/],
    ['bad indentation', (t: string) => t.replace(/^ {8}cost_estimate: .*$/m, '           cost_estimate: "1"'), 'cost_estimate:', /must start at the same column/],
    ['a tab used for indentation', (t: string) => t.replace(/^ {8}cost_estimate: /m, '\t\tcost_estimate: '), 'cost_estimate:', /Tabs are not allowed/],
    ['a duplicate key', (t: string) => t.replace(/^category: .*$/m, 'category: testing\ncategory: other'), 'category: other', /keys must be unique/],
  ])('rejects %s with the line and column', async (_kind, edit, near, message) => {
    const text = edit(toolYaml('broken-syntax'));
    const dir = freshDir('syntax');
    const file = write(dir, 'linux/broken.yaml', text);
    const line = lineOf(text, near);
    const report = await runWithoutWrites({ paths: [dir] });
    expectOnlyRejection(report);
    // Where the problem starts, not where the parser noticed it (an unclosed bracket or quote on the next line).
    expectRejected(report, file, { line, message });
    expect(entry(report, file).name).toBeUndefined();
  });

  it('rejects a file holding several documents', async () => {
    const text = `${toolYaml('first-of-two')}---\n${toolYaml('second-of-two')}`;
    const report = await runWithoutWrites({ documents: [{ name: 'two.yaml', content: text }] });
    expectRejected(report, 'two.yaml', { line: lineOf(text, '---'), message: /multiple documents/ });
  });
});

describe('values of the wrong type', () => {
  it.each([
    ['complexity_score: "high"', { pattern: { complexity_score: '"high"' } }, `${PATTERN}.complexity_score`, 'complexity_score:', /expected a number, found string "high"/],
    ['complexity_score: 1.5', { pattern: { complexity_score: '1.5' } }, `${PATTERN}.complexity_score`, 'complexity_score:', /expected a number from 0 to 1, found 1\.5/],
    ['complexity_score: -0.1', { pattern: { complexity_score: '-0.1' } }, `${PATTERN}.complexity_score`, 'complexity_score:', /expected a number from 0 to 1, found -0\.1/],
    ['typical_use_cases: 5', { pattern: { typical_use_cases: '5' } }, `${PATTERN}.typical_use_cases`, 'typical_use_cases:', /expected a list of text, found number 5/],
    ['typical_use_cases: [{a: 1}]', { pattern: { typical_use_cases: '[{a: 1}]' } }, `${PATTERN}.typical_use_cases.0`, 'typical_use_cases:', /expected text, found a map/],
    ['capabilities: "x"', { capabilities: '"x"' }, 'capabilities', 'capabilities:', /expected .*map or a list, found string "x"/],
    ['capabilities: {probe: [1]}', { capabilities: '{probe: [1]}' }, 'capabilities.probe', 'capabilities:', /expected capability as a map, found a list/],
    ['version: [1]', { top: { version: '[1]' } }, 'version', 'version:', /expected text, found a list/],
    ['tool_name: {a: 1}', { top: { tool_name: '{a: 1}' } }, 'tool_name', 'tool_name:', /expected text, found a map/],
    ['policy: "strict"', { pattern: { policy: '"strict"' } }, `${PATTERN}.policy`, 'policy:', /expected a map, found string "strict"/],
    ['enabled: "yes"', { top: { enabled: '"yes"' } }, 'enabled', 'enabled:', /expected true or false, found string "yes"/],
  ] as const)('rejects %s, naming the field and its line, from a file and from text', async (_case, options, field, near, message) => {
    const text = toolYaml('wrong-type', options);
    const dir = freshDir('wrong-type');
    const file = write(dir, 'linux/wrong-type.yaml', text);
    const line = lineOf(text, near);

    const fromFile = await runWithoutWrites({ paths: [dir] });
    expectOnlyRejection(fromFile);
    expectRejected(fromFile, file, { field, line, message });

    const fromText = await runWithoutWrites({ documents: [{ name: 'linux/wrong-type.yaml', content: text }] });
    expectRejected(fromText, 'linux/wrong-type.yaml', { field, line, message });
  });

  it('reports every wrong field of one file, not only the first', async () => {
    const text = toolYaml('many-wrongs', { pattern: { complexity_score: '"high"', typical_use_cases: '5', scope: '[1]' } });
    const report = await runWithoutWrites({ documents: [{ name: 'many.yaml', content: text }] });
    const fields = entry(report, 'many.yaml').diagnostics.filter((d) => d.severity === 'error').map((d) => d.field);
    expect(fields).toEqual(expect.arrayContaining([`${PATTERN}.complexity_score`, `${PATTERN}.typical_use_cases`, `${PATTERN}.scope`]));
  });

  it('names the field of a pattern given as a list item by its position', async () => {
    const text = [
      'tool_name: list-shaped',
      'version: "1.0.0"',
      'platform: linux',
      'category: testing',
      'capabilities:',
      '  - capability_name: probe',
      '    patterns:',
      '      - pattern_name: quick_probe',
      '        complexity_score: "high"',
      '',
    ].join('\n');
    const report = await runWithoutWrites({ documents: [{ name: 'list.yaml', content: text }] });
    expectRejected(report, 'list.yaml', { field: 'capabilities.0.patterns.0.complexity_score', line: 9, message: /expected a number, found string "high"/ });
  });

  // A field of the wrong type is reported once, not also as missing.
  it('reports a version of the wrong type once, not also as missing', async () => {
    const report = await runWithoutWrites({ documents: [{ name: 'v.yaml', content: toolYaml('bad-version', { top: { version: '[1]' } }) }] });
    const messages = entry(report, 'v.yaml').diagnostics.filter((d) => d.field === 'version').map((d) => d.message);
    expect(messages).toEqual(['expected text, found a list']);
  });

  // Limits of the model are reported at the source field and its line, not at an index path.
  it('reports a too-long scope at its own field path and line', async () => {
    const text = [
      'tool_name: long-scope',
      'version: "1.0.0"',
      'platform: linux',
      'category: testing',
      'capabilities:',
      '  first:',
      '    patterns:',
      '      fine: {}',
      '  second:',
      '    patterns:',
      '      fine_too: {}',
      '      bad:',
      `        scope: ${'s'.repeat(70)}`,
      '',
    ].join('\n');
    const report = await runWithoutWrites({ documents: [{ name: 'long.yaml', content: text }] });
    expectRejected(report, 'long.yaml', { field: 'capabilities.second.patterns.bad.scope', line: 13, message: /64 characters/ });
  });

  it('spells the plural of capability correctly', async () => {
    const report = await runWithoutWrites({ documents: [{ name: 'c.yaml', content: toolYaml('bad-caps', { capabilities: '"x"' }) }] });
    expectRejected(report, 'c.yaml', { field: 'capabilities', message: /expected capabilities as a map or a list/ });
  });

  // NaN is named as NaN (JSON would print it as null).
  it('describes a NaN complexity as NaN, not as null', async () => {
    const report = await runWithoutWrites({ documents: [{ name: 'nan.yaml', content: toolYaml('nan', { pattern: { complexity_score: '.nan' } }) }] });
    expectRejected(report, 'nan.yaml', { field: `${PATTERN}.complexity_score`, message: /found .*NaN/i });
  });
});

describe('estimate expressions', () => {
  const probe = vi.fn(() => 1);
  beforeAll(() => {
    (globalThis as Record<string, unknown>).__importSafetyProbe = probe;
  });
  afterAll(() => {
    delete (globalThis as Record<string, unknown>).__importSafetyProbe;
  });

  it.each([
    ['time_estimate_ms', '2000 + * N', /malformed expression "2000 \+ \* N": Expected expression/],
    ['time_estimate_ms', "require('fs')", /malformed expression "require\('fs'\)": unknown function; allowed: ceil/],
    ['time_estimate_ms', 'process.exit()', /malformed expression "process\.exit\(\)": unknown function/],
    ['time_estimate_ms', 'N; N', /malformed expression "N; N": .*not allowed/],
    ['cost_estimate', "require('fs').writeFileSync(SENTINEL, 'x')", /malformed expression .*writeFileSync/],
    ['cost_estimate', '__importSafetyProbe() + N', /malformed expression "__importSafetyProbe\(\) \+ N": unknown function/],
    ['cost_estimate', 'N > 1 ? 5 : 1', /malformed expression .*not allowed/],
    ['cost_estimate', '"1" + N', /malformed expression .*only numbers are allowed/],
    ['cost_estimate', 'constructor.constructor("return process")()', /malformed expression/],
  ])('rejects %s %j naming the file and the field, and never evaluates it', async (key, expression, message) => {
    const dir = freshDir('expression');
    const sentinel = path.join(dir, 'expression-was-evaluated');
    const source = expression.replace('SENTINEL', `'${sentinel}'`);
    const text = toolYaml('bad-estimate', { pattern: { [key]: JSON.stringify(source) } });
    const file = write(dir, 'linux/bad-estimate.yaml', text);
    const report = await runWithoutWrites({ paths: [dir] });
    expectOnlyRejection(report);
    expectRejected(report, file, { field: `${PATTERN}.${key}`, line: lineOf(text, `${key}:`), message });
    expect(existsSync(sentinel)).toBe(false);
    expect(probe).not.toHaveBeenCalled();
  });
});

describe('paths', () => {
  it('refuses a link that leads out of the directory given, even to a valid tool, and writes nothing', async () => {
    const outside = freshDir('outside');
    const target = write(outside, 'escaped-tool.yaml', toolYaml('escaped-tool'));
    const dir = freshDir('linked');
    write(dir, 'linux/linked-good.yaml', toolYaml('linked-good'));
    const link = path.join(dir, 'linux', 'escape.yaml');
    symlinkSync(path.relative(path.dirname(link), target), link);

    const report = await runWithoutWrites({ paths: [dir] });
    expect(report.counts.rejected).toBe(1);
    expect(entry(report, path.join(dir, 'linux', 'linked-good.yaml')).action).toBe('create');
    const d = expectRejected(report, link, { message: /outside .*; refused/ });
    expect(d.message).toContain(target);
    expect(report.tools.some((t) => t.name === 'escaped-tool')).toBe(false);

    // Even when the valid files are written regardless, the linked one is not.
    const partial = await run({ paths: [dir] }, { partial: true });
    expect(partial.applied).toBe(true);
    expectRejected(partial, link, { message: /outside .*; refused/ });
    expect(await db.prisma.tool.count({ where: { name: 'linked-good' } })).toBe(1);
    expect(await db.prisma.tool.count({ where: { name: 'escaped-tool' } })).toBe(0);
  });

  it('does not follow a linked directory that leads outside', async () => {
    const outside = freshDir('outside-dir');
    write(outside, 'linux/escaped-by-dir.yaml', toolYaml('escaped-by-dir'));
    const dir = freshDir('linked-dir');
    write(dir, 'linux/only-real.yaml', toolYaml('only-real'));
    symlinkSync(path.join(outside, 'linux'), path.join(dir, 'elsewhere'));
    const report = await runWithoutWrites({ paths: [dir] }, { dryRun: true });
    expect(report.tools.map((t) => t.name)).toEqual(['only-real']);
  });

  it('accepts a link that stays inside the directory, and reads a file reached twice once', async () => {
    const dir = freshDir('inside-link');
    // Not a .yaml name, so only the link brings it in.
    write(dir, 'data/inside-tool.txt', toolYaml('inside-linked'));
    write(dir, 'linux/direct.yaml', toolYaml('direct-tool'));
    symlinkSync('../data/inside-tool.txt', path.join(dir, 'linux', 'inside.yaml'));
    symlinkSync('direct.yaml', path.join(dir, 'linux', 'direct-again.yaml'));
    const report = await runWithoutWrites({ paths: [dir] }, { dryRun: true });
    expect(report.counts.rejected, describeDiagnostics(report.tools.flatMap((t) => t.diagnostics))).toBe(0);
    expect(report.tools.map((t) => [t.name, t.action]).sort()).toEqual([
      ['direct-tool', 'create'],
      ['inside-linked', 'create'],
    ]);
  });

  it('rejects a link to nothing', async () => {
    const dir = freshDir('broken-link');
    write(dir, 'linux/fine.yaml', toolYaml('fine-next-to-broken-link'));
    const link = path.join(dir, 'linux', 'dangling.yaml');
    symlinkSync('missing-target.yaml', link);
    const report = await runWithoutWrites({ paths: [dir] });
    expectRejected(report, link, { message: /broken link/ });
  });

  it('rejects a path that does not exist, alone or next to a valid directory', async () => {
    const missing = path.join(workDir, 'no-such-dir', 'tool.yaml');
    const alone = await runWithoutWrites({ paths: [missing] });
    expectOnlyRejection(alone);
    expectRejected(alone, missing, { message: /no such file/ });

    const dir = freshDir('next-to-missing');
    write(dir, 'linux/beside-missing.yaml', toolYaml('beside-missing'));
    const mixed = await runWithoutWrites({ paths: [dir, missing] });
    expect(mixed.counts.rejected).toBe(1);
    expect(mixed.counts.create).toBe(1);
    expectRejected(mixed, missing, { message: /no such file/ });
  });

  it('skips templates/ directories instead of importing them as tools', async () => {
    const dir = freshDir('templates');
    const template = write(dir, 'templates/tool-template.yaml', toolYaml('{{tool_name}}', { top: { version: '{{version}}' } }));
    write(dir, 'linux/real-one.yaml', toolYaml('real-one'));
    const report = await runWithoutWrites({ paths: [dir] }, { dryRun: true });
    expect(report.skipped).toEqual([{ display: template, reason: 'template, not a tool' }]);
    expect(report.tools.map((t) => t.name)).toEqual(['real-one']);
  });
});

describe('all or nothing', () => {
  function batch(label: string) {
    const dir = freshDir(label);
    const names = [`${label}-alpha`, `${label}-bravo`, `${label}-charlie`];
    for (const name of names) write(dir, `linux/${name}.yaml`, toolYaml(name));
    const badText = toolYaml(`${label}-delta`, { pattern: { complexity_score: '"high"' } });
    const bad = write(dir, `linux/${label}-delta.yaml`, badText);
    return { dir, names, bad, badLine: lineOf(badText, 'complexity_score:') };
  }

  it('writes nothing when one file of four is rejected', async () => {
    const { dir, names, bad, badLine } = batch('aon');
    const report = await runWithoutWrites({ paths: [dir] });
    expect(report.counts).toMatchObject({ files: 4, create: 3, rejected: 1, new_version: 0, unchanged: 0 });
    expectRejected(report, bad, { field: `${PATTERN}.complexity_score`, line: badLine, message: /expected a number/ });
    for (const tool of report.tools.filter((t) => t.action === 'create')) expect(tool.write).toBeUndefined();
    expect(await db.prisma.tool.count({ where: { name: { in: names } } })).toBe(0);
  });

  it('keeps the current version latest when a new version sits next to a rejected file', async () => {
    const dir = freshDir('aon-version');
    const df = readFileSync(SAMPLE_FILE('linux/df.yaml'), 'utf8').replace(/^version: .*$/m, 'version: "9.9.9"');
    write(dir, 'linux/df.yaml', df);
    const bad = write(dir, 'linux/bad.yaml', toolYaml('aon-version-bad', { pattern: { complexity_score: '2' } }));
    const report = await runWithoutWrites({ paths: [dir] });
    expect(report.counts).toMatchObject({ new_version: 1, rejected: 1 });
    expectRejected(report, bad, { field: `${PATTERN}.complexity_score`, message: /from 0 to 1, found 2/ });
    const latest = await db.prisma.tool.findFirstOrThrow({ where: { name: 'df', isLatest: true } });
    expect(latest.version).toBe('1.0.0');
  });

  it('with partial, writes the three good tools and reports the bad one', async () => {
    const { dir, names, bad, badLine } = batch('partial');
    const before = await snapshot();
    const report = await run({ paths: [dir] }, { partial: true });
    expect(report.applied).toBe(true);
    expect(report.revision).toBeDefined();
    expect(report.counts).toMatchObject({ files: 4, create: 3, rejected: 1 });
    expectRejected(report, bad, { field: `${PATTERN}.complexity_score`, line: badLine, message: /expected a number/ });

    const after = await snapshot();
    expect(after.counts).toEqual({
      tool: before.counts.tool + 3,
      capability: before.counts.capability + 3,
      pattern: before.counts.pattern + 3,
      catalogEvent: before.counts.catalogEvent + 3,
      auditLog: before.counts.auditLog + 3,
    });
    // Every row there before is untouched; the new ones are exactly the three good tools.
    const beforeIds = new Set(before.tools.map((t) => t.id));
    expect(after.tools.filter((t) => beforeIds.has(t.id))).toEqual(before.tools);
    expect(after.tools.filter((t) => !beforeIds.has(t.id)).map((t) => `${t.name}@${t.platform} ${t.version}`).sort()).toEqual(
      names.map((n) => `${n}@linux 1.0.0`),
    );
    expect(after.lastRevision).toBe(report.revision);
    const events = await db.prisma.catalogEvent.findMany({ where: { revision: { gt: before.lastRevision ?? 0n } } });
    expect(events.map((e) => `${e.type} ${e.toolName}`).sort()).toEqual(names.map((n) => `TOOL_CREATED ${n}`));
    const audit = await db.prisma.auditLog.findMany({ where: { entityName: { in: names.map((n) => `${n}@linux`) } } });
    expect(audit.map((a) => [a.actor, a.action])).toEqual(Array(3).fill([ACTOR, 'tool.create']));
    expect(await db.prisma.tool.count({ where: { name: 'partial-delta' } })).toBe(0);
  });
});

describe('dry run', () => {
  it('writes nothing even when everything is valid, and says what it would do', async () => {
    const dir = freshDir('dry-run');
    const names = ['dry-one', 'dry-two'];
    for (const name of names) write(dir, `linux/${name}.yaml`, toolYaml(name));
    write(dir, 'linux/find.yaml', readFileSync(SAMPLE_FILE('linux/find.yaml'), 'utf8').replace(/^version: .*$/m, 'version: "7.0.0"'));
    write(dir, 'linux/ps.yaml', readFileSync(SAMPLE_FILE('linux/ps.yaml'), 'utf8'));
    const report = await runWithoutWrites({ paths: [dir] }, { dryRun: true });
    expect(report.counts).toMatchObject({ create: 2, new_version: 1, unchanged: 1, rejected: 0 });
    expect(Object.fromEntries(report.tools.map((t) => [t.name, t.action]))).toEqual({
      'dry-one': 'create',
      'dry-two': 'create',
      find: 'new_version',
      ps: 'unchanged',
    });
    for (const tool of report.tools) expect(tool.write).toBeUndefined();
  });

  it('writes nothing with partial either', async () => {
    const dir = freshDir('dry-run-partial');
    write(dir, 'linux/dry-partial.yaml', toolYaml('dry-partial'));
    write(dir, 'linux/dry-partial-bad.yaml', toolYaml('dry-partial-bad', { pattern: { typical_use_cases: '5' } }));
    const report = await runWithoutWrites({ paths: [dir] }, { dryRun: true, partial: true });
    expect(report.counts).toMatchObject({ create: 1, rejected: 1 });
  });
});

describe('warnings are not errors', () => {
  it('imports a file with an unknown scope, an undeclared variable and a literal {{x}}, with three warnings naming the fields', async () => {
    const text = toolYaml('warned-tool', {
      pattern: { description: '"Run {{x}} against the host"', scope: 'everywhere', time_estimate_ms: '"100 + packet_count"' },
    });
    const dir = freshDir('warnings');
    const file = write(dir, 'linux/warned.yaml', text);
    const before = await snapshot();
    const report = await run({ paths: [dir] });
    expect(report.applied).toBe(true);
    const tool = entry(report, file);
    expect(tool.action, describeDiagnostics(tool.diagnostics)).toBe('create');
    expect(tool.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(report.counts).toMatchObject({ create: 1, rejected: 0, warnings: 3 });
    const warnings = tool.diagnostics.map((d) => ({ severity: d.severity, file: d.file, field: d.field, line: d.line }));
    expect(warnings).toEqual(
      expect.arrayContaining([
        { severity: 'warning', file, field: `${PATTERN}.scope`, line: lineOf(text, 'scope:') },
        { severity: 'warning', file, field: `${PATTERN}.time_estimate_ms`, line: lineOf(text, 'time_estimate_ms:') },
        { severity: 'warning', file, field: `${PATTERN}.description`, line: lineOf(text, '{{x}}') },
      ]),
    );
    expect(warnings).toHaveLength(3);
    const text3 = tool.diagnostics.map(formatDiagnostic).join('\n');
    expect(text3).toMatch(/warning: .*\.scope: unknown scope "everywhere" \(known: .*single_item.*\); kept as written/);
    expect(text3).toMatch(/warning: .*\.time_estimate_ms: expression "100 \+ packet_count" uses packet_count, which no input declares/);
    expect(text3).toMatch(/warning: .*\.description: literal \{\{…\}\} placeholder kept as written/);

    expect((await snapshot()).counts.tool).toBe(before.counts.tool + 1);
    const pattern = await db.prisma.pattern.findFirstOrThrow({ where: { name: 'quick_probe', capability: { tool: { name: 'warned-tool' } } } });
    expect(pattern).toMatchObject({ scope: 'everywhere', timeEstimateMs: '100 + packet_count', description: 'Run {{x}} against the host' });
  });
});

describe('platform spelling', () => {
  it('normalises platform: Linux to linux instead of rejecting or warning', async () => {
    const text = toolYaml('cased-platform', { top: { platform: 'Linux' } });
    const file = write(freshDir('cased'), 'cased-platform.yaml', text);
    const report = await run({ paths: [file] });
    expect(report.applied).toBe(true);
    const tool = entry(report, file);
    expect(tool.action, describeDiagnostics(tool.diagnostics)).toBe('create');
    expect(tool.platform).toBe('linux');
    expect(tool.diagnostics).toEqual([]);
    const row = await db.prisma.tool.findFirstOrThrow({ where: { name: 'cased-platform' } });
    expect(row.platform).toBe('linux');
  });

  it('treats an existing tool spelled with another case as the same tool', async () => {
    const ps = readFileSync(SAMPLE_FILE('linux/ps.yaml'), 'utf8');
    expect(ps).toMatch(/^platform: linux$/m);
    const before = await snapshot();
    const report = await run({ documents: [{ name: 'ps.yaml', content: ps.replace(/^platform: linux$/m, 'platform: " LINUX "') }] });
    expect(entry(report, 'ps.yaml').action).toBe('unchanged');
    expect(report.revision).toBeUndefined();
    expect(await snapshot()).toEqual(before);
    expect(report.counts).toMatchObject({ unchanged: 1, rejected: 0, warnings: 0 });
  });
});
