import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDiagnostic, type Diagnostic } from '../src/catalog/diagnostics.js';
import { importCatalog } from '../src/catalog/importer.js';
import { checkDefinitionYaml } from '../src/catalog/validation.js';
import type { Database } from '../src/db/database.js';
import { applyMigrations } from '../src/db/migrations.js';
import { runCommand, TOOL_CATALOG } from './support/commands.js';
import { openTestDatabase, processDatabase } from './support/service.js';

/**
 * Item 8 of the fidelity issue: every YAML syntax error points at the line (and column) where the
 * problem starts — not where the parser noticed it (the next line, the end of the file) — with the
 * line shown and a caret, the same through every path that reads YAML text: the CLI's `import` and
 * `validate`, `importCatalog` (the GraphQL mutation's importer) and the checker generators call.
 */

/** A valid tool with `broken` lines where its description was, and comment lines after it (so the end of the file is far away). */
function toolText(broken: string[]): string {
  return [
    'tool_name: syntax-probe',
    'version: "1.0"',
    'platform: linux',
    ...broken,
    'category: testing',
    'metadata:',
    '  owner: diagnostics',
    ...Array.from({ length: 12 }, (_, i) => `# filler line ${i + 1}`),
    '',
  ].join('\n');
}

interface SyntaxCase {
  kind: string;
  text: string;
  /** The line holding the problem (first line that contains this text)… */
  line: string;
  /** …and the first occurrence of this text on it marks the column. */
  at: string;
  message: RegExp;
}

const CASES: SyntaxCase[] = [
  { kind: 'unclosed flow sequence', text: toolText(['tags: [probe, yaml', 'description: x']), line: 'tags: [probe', at: '[', message: /Unclosed flow list/ },
  { kind: 'unclosed flow mapping', text: toolText(['defaults: {retries: 1', 'description: x']), line: 'defaults: {', at: '{', message: /Unclosed flow map/ },
  {
    kind: 'unclosed flow sequence on the last line',
    text: ['tool_name: syntax-probe', 'version: "1.0"', 'platform: linux', 'category: testing', 'tags: [probe, yaml'].join('\n'),
    line: 'tags: [probe',
    at: '[',
    message: /Unclosed flow list/,
  },
  { kind: 'unclosed sequence inside a closed-off mapping', text: toolText(['defaults: {retries: [1, 2}', 'description: x']), line: 'defaults: {', at: '{', message: /Unclosed flow map/ },
  { kind: 'unclosed double quote', text: toolText(['description: "never closed']), line: 'description:', at: '"', message: /Missing closing quote/ },
  { kind: 'unclosed single quote', text: toolText(["description: 'never closed"]), line: 'description:', at: "'", message: /Missing closing quote/ },
  {
    kind: 'a line indented too deeply under a mapping',
    text: toolText(['description: x', 'defaults:', '  retries: 1', '    timeout: 5']),
    line: '    timeout: 5',
    at: 'timeout',
    message: /Unexpected `key:`/,
  },
  { kind: 'a mapping under a plain scalar', text: toolText(['description: x', '  owner: me']), line: '  owner: me', at: 'owner', message: /Unexpected `key:`/ },
  {
    kind: 'a mapping item indented less than its siblings',
    text: toolText(['description: x', 'defaults:', '    retries: 1', '  timeout: 5']),
    line: '  timeout: 5',
    at: 'timeout',
    message: /must start at the same column/,
  },
  { kind: 'a tab used for indentation', text: toolText(['description: x', 'defaults:', '\tretries: 1']), line: '\tretries', at: '\t', message: /Tabs are not allowed/ },
  { kind: 'a duplicate key', text: toolText(['description: x', 'description: y']), line: 'description: y', at: 'description', message: /keys must be unique/ },
  { kind: 'a bad block scalar header', text: toolText(['description: |x', '  text']), line: 'description: |x', at: 'x', message: /Block scalar header/ },
  { kind: 'a stray `:` in a plain scalar', text: toolText(['description: ratio: high']), line: 'description: ratio', at: 'ratio', message: /nested key/ },
  { kind: 'an invalid escape in a double-quoted scalar', text: toolText(['description: "a \\q b"']), line: 'description: "a', at: '\\q', message: /Invalid escape/ },
  { kind: 'an alias with no anchor', text: toolText(['description: *nowhere']), line: 'description: *', at: '*', message: /Unresolved alias \*nowhere/ },
  { kind: 'a second document', text: toolText(['description: x', '---', 'other: 1']), line: '---', at: '-', message: /multiple documents/ },
];

const FILE_NAME = (index: number) => `case-${String(index).padStart(2, '0')}.yaml`;

/** Line and column (1-based) a case expects, found in its own text. */
function expectedPlace(c: SyntaxCase): { line: number; column: number; excerpt: string } {
  const lines = c.text.split('\n');
  const index = lines.findIndex((l) => l.includes(c.line));
  expect(index, `${c.kind}: marker line`).toBeGreaterThanOrEqual(0);
  return { line: index + 1, column: lines[index]!.indexOf(c.at) + 1, excerpt: lines[index]! };
}

function expectFirstErrorAt(c: SyntaxCase, diagnostics: Diagnostic[], path: string) {
  const first = diagnostics.find((d) => d.severity === 'error');
  expect(first, `${c.kind} via ${path}`).toBeDefined();
  const place = expectedPlace(c);
  expect({ line: first!.line, column: first!.column, excerpt: first!.excerpt }, `${c.kind} via ${path}: ${first!.message}`).toEqual(place);
  expect(first!.message, `${c.kind} via ${path}`).toMatch(c.message);
  // The caret sits under the column on a copy of the line.
  const [, excerpt, caret] = formatDiagnostic(first!).split('\n');
  expect(excerpt).toBe(`    ${place.excerpt}`);
  expect(caret).toBe(`    ${' '.repeat(place.column - 1)}^`);
}

let db: Database;
let drop: () => Promise<void>;
let workDir: string;
let casesDir: string;
let cliEnv: Record<string, string>;
let dropCliDatabase = async () => {};

beforeAll(async () => {
  ({ db, drop } = await openTestDatabase());
  await applyMigrations(db.migrationAdapter());
  workDir = mkdtempSync(path.join(tmpdir(), 'tool-catalog-yaml-diagnostics-'));
  casesDir = path.join(workDir, 'cases');
  mkdirSync(path.join(casesDir, 'linux'), { recursive: true });
  CASES.forEach((c, i) => writeFileSync(path.join(casesDir, 'linux', FILE_NAME(i)), c.text));
  ({ env: cliEnv, drop: dropCliDatabase } = await processDatabase(workDir));
});
afterAll(async () => {
  await drop();
  await dropCliDatabase();
  rmSync(workDir, { recursive: true, force: true });
});

describe('YAML syntax errors point at the line where the problem starts', () => {
  it('covers at least 6 kinds of syntax error', () => {
    expect(new Set(CASES.map((c) => c.kind)).size).toBeGreaterThanOrEqual(6);
  });

  it.each(CASES.map((c, i) => [c.kind, c, i] as const))('%s: importCatalog and the generators’ checker', async (_kind, c, i) => {
    const report = await importCatalog(db.prisma, { documents: [{ name: `linux/${FILE_NAME(i)}`, content: c.text }] }, { actor: 'test', dryRun: true });
    expect(report.tools[0]!.action).toBe('rejected');
    expectFirstErrorAt(c, report.tools[0]!.diagnostics, 'importCatalog');
    expectFirstErrorAt(c, checkDefinitionYaml(FILE_NAME(i), c.text).diagnostics, 'checkDefinitionYaml');
  });

  it('prints each at its line and column, with the line and a caret, through `tool-catalog import` and `validate`', { timeout: 120_000 }, async () => {
    const [imported, validated] = await Promise.all([
      runCommand([...TOOL_CATALOG, 'import', '--dry-run', casesDir], cliEnv),
      runCommand([...TOOL_CATALOG, 'validate', '--quiet', casesDir], cliEnv),
    ]);
    expect(imported.code, imported.stderr).toBe(1);
    expect(validated.code, validated.stderr).toBe(1);
    CASES.forEach((c, i) => {
      const { line, column, excerpt } = expectedPlace(c);
      const caret = `${' '.repeat(column - 1)}^`;
      for (const [command, output] of [
        ['import', imported.stdout],
        ['validate', validated.stdout],
      ] as const) {
        // The first error printed for the file: `<file>:<line>:<column>: error: …`, the line, the caret.
        const printed = output.split('\n');
        const at = printed.findIndex((l) => new RegExp(`${FILE_NAME(i).replace('.', '\\.')}:\\d+:\\d+: error: `).test(l));
        expect(at, `${c.kind}: ${command} printed no error\n${output}`).toBeGreaterThanOrEqual(0);
        expect(printed[at], `${c.kind}: ${command}`).toMatch(new RegExp(`${FILE_NAME(i).replace('.', '\\.')}:${line}:${column}: error: `));
        expect(printed[at], `${c.kind}: ${command}`).toMatch(c.message);
        expect(printed[at + 1]!.trimStart(), `${c.kind}: ${command}`).toBe(excerpt.trimStart());
        // The caret is indented like the line above it plus the column.
        const indent = printed[at + 1]!.length - excerpt.length;
        expect(printed[at + 2], `${c.kind}: ${command}`).toBe(`${' '.repeat(indent)}${caret}`);
      }
    });
    if (!process.env.DATABASE_URL) expect(imported.stderr).toContain('nothing is written');
  });
});
