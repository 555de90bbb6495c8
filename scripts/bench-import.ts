// Import benchmark: prints figures, never asserts on time.
//
// For each database (embedded PGlite in memory always; PostgreSQL too when DATABASE_URL is set,
// in a fresh `tc_bench_<random>` database created for the run and dropped after) and each corpus
// (the legacy catalog in ../shared/legacy-catalog, and a generated catalog of --count tools), in a
// fresh database each time: dry-run import, real import, re-import (everything unchanged).
// Each (database, corpus) pair runs in its own child process, so its peak RSS is its own.
//
// Writes bench/results/import-<timestamp>.json and bench/results/import-latest.md.
//
//   npm run bench:import [-- --count 5000 --seed 42 --keep-generated]
import { Command, InvalidArgumentError, Option } from 'commander';
import { fork } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { importCatalog } from '../src/catalog/importer.js';
import { loadConfig, type Config } from '../src/config.js';
import { openDatabase, type Database } from '../src/db/database.js';
import { applyMigrations } from '../src/db/migrations.js';
import { environmentLine, projectRoot, runEnvironment, startLine } from './bench/cli.js';
import { createBenchDatabase, redact, serverVersion } from './bench/postgres.js';
import { markdownTable, textTable, type Column } from './bench/tables.js';
import { generateCatalog, type GenerateSummary } from './generate-catalog.js';

const LEGACY_DIR = path.resolve(projectRoot, '../shared/legacy-catalog');
const RESULTS_DIR = path.join(projectRoot, 'bench', 'results');
/** A phase slower than this is called out in the output (not a failure). */
const SLOW_PHASE_MS = 120_000;

type DatabaseKind = Config['database']['kind'];
type Phase = 'create-database' | 'migrate' | 'dry-run' | 'import' | 're-import' | 'close';

interface PhaseError {
  phase: Phase;
  message: string;
  /** Error class and, for Prisma errors, code and meta. */
  detail: string;
  /** The innermost frames in the project (src/ or scripts/) and the first frame overall. */
  where: string[];
}

export interface BenchRow {
  database: DatabaseKind;
  corpus: string;
  files: number | null;
  created: number | null;
  unchanged: number | null;
  rejected: number | null;
  skipped: number | null;
  warnings: number | null;
  migrateMs: number | null;
  dryRunMs: number | null;
  importMs: number | null;
  reimportMs: number | null;
  /** Tools written per second by the real import. */
  toolsPerSecond: number | null;
  /** Peak RSS of the child process that ran this row (kernel maxRSS); PGlite's database lives in it. */
  peakRssMb: number;
  /** SQL statements Prisma reported per phase, with the sum of their reported durations. */
  sql: Partial<Record<'dryRun' | 'import' | 'reimport', SqlStats>>;
  applied: boolean | null;
  notes: string[];
  errors: PhaseError[];
}

interface SqlStats {
  statements: number;
  /**
   * Sum of Prisma's per-statement durations. Prisma sends createMany chunks concurrently on the
   * transaction's one connection, where node-postgres queues them, so this can exceed wall time.
   */
  reportedMs: number;
  /** Per statement kind (first words and table): count, summed ms, largest SQL text length. */
  byKind: Record<string, { count: number; ms: number; maxSqlChars: number }>;
}

function sqlRecorder(db: Database) {
  let current: SqlStats | undefined;
  const unsubscribe = db.onStatement((sql, ms) => {
    if (!current) return;
    current.statements++;
    current.reportedMs += ms;
    const kind = sql.slice(0, 2000).replace(/\s+/g, ' ').match(/^(?:SELECT .*? FROM|INSERT INTO|UPDATE|DELETE FROM|[A-Z]+)\s*("[^"]+"\."[^"]+"|"[^"]+")?/)?.[0].replace(/^SELECT .*? FROM/, 'SELECT … FROM') ?? sql.slice(0, 40);
    const entry = (current.byKind[kind] ??= { count: 0, ms: 0, maxSqlChars: 0 });
    entry.count++;
    entry.ms += ms;
    entry.maxSqlChars = Math.max(entry.maxSqlChars, sql.length);
  });
  return {
    start() {
      current = { statements: 0, reportedMs: 0, byKind: {} };
    },
    stop(): SqlStats {
      const done = current!;
      current = undefined;
      done.reportedMs = Math.round(done.reportedMs);
      for (const entry of Object.values(done.byKind)) entry.ms = Math.round(entry.ms);
      return done;
    },
    close: unsubscribe,
  };
}

interface Target {
  kind: DatabaseKind;
  /** Opens a fresh, empty database; `drop` closes and removes it. */
  fresh(): Promise<{ db: Database; drop: () => Promise<void> }>;
  describe: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Helpers

function describeError(phase: Phase, error: unknown): PhaseError {
  const err = error instanceof Error ? error : new Error(String(error));
  const extra = err as Error & { code?: unknown; meta?: unknown; clientVersion?: unknown };
  const detail = [err.name, extra.code !== undefined ? `code=${String(extra.code)}` : '', extra.meta !== undefined ? `meta=${JSON.stringify(extra.meta)}` : '']
    .filter(Boolean)
    .join(' ');
  const frames = (err.stack ?? '').split('\n').filter((l) => l.trim().startsWith('at '));
  const ours = frames.filter((l) => l.includes(`${path.sep}src${path.sep}`) || l.includes(`${path.sep}scripts${path.sep}`)).slice(0, 4);
  const where = [...new Set([frames[0]?.trim(), ...ours.map((l) => l.trim())].filter((l): l is string => Boolean(l)))];
  return { phase, message: err.message, detail, where };
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: Math.round((performance.now() - start) * 10) / 10, value };
}



// ---------------------------------------------------------------------------------------------
// Databases

function pgliteTarget(): Target {
  return {
    kind: 'pglite',
    describe: { dataDir: 'memory://' },
    async fresh() {
      const db = await openDatabase({ kind: 'pglite', dataDir: 'memory://' });
      return { db, drop: () => db.close() };
    },
  };
}


function postgresTarget(config: Extract<Config['database'], { kind: 'postgres' }>, version: string | null): Target {
  return {
    kind: 'postgres',
    describe: {
      server: redact(config.url),
      serverVersion: version,
      poolMax: config.poolMax,
      statementTimeoutMs: config.statementTimeoutMs,
      connectTimeoutMs: config.connectTimeoutMs,
    },
    async fresh() {
      const created = await createBenchDatabase(config.url);
      let db: Database;
      try {
        db = await openDatabase({ ...config, url: created.url });
      } catch (error) {
        await created.drop();
        throw error;
      }
      return {
        db,
        drop: async () => {
          try {
            await db.close();
          } finally {
            await created.drop();
          }
        },
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// One row: fresh database, migrate, dry run, import, re-import

/** A row with no figures yet. */
function emptyRow(database: BenchRow['database'], corpus: string): Omit<BenchRow, 'errors'> {
  return {
    database,
    corpus,
    files: null,
    created: null,
    unchanged: null,
    rejected: null,
    skipped: null,
    warnings: null,
    migrateMs: null,
    dryRunMs: null,
    importMs: null,
    reimportMs: null,
    toolsPerSecond: null,
    peakRssMb: 0,
    sql: {},
    applied: null,
    notes: [],
  };
}

async function benchCorpus(target: Target, corpus: string, dir: string): Promise<BenchRow> {
  const row: BenchRow = { ...emptyRow(target.kind, corpus), errors: [] };
  const options = { actor: 'bench', trigger: 'bench' };
  const progress = (label: string) => process.stderr.write(`  [${target.kind} ${corpus}] ${label}\n`);
  let opened: Awaited<ReturnType<Target['fresh']>> | undefined;
  let phase: Phase = 'create-database';
  try {
    progress('fresh database');
    opened = await target.fresh();
    const prisma = opened.db.prisma;
    const sql = sqlRecorder(opened.db);

    phase = 'migrate';
    const migrate = await timed(() => applyMigrations(opened!.db.migrationAdapter()));
    row.migrateMs = migrate.ms;

    phase = 'dry-run';
    progress('dry run');
    sql.start();
    const dry = await timed(() => importCatalog(prisma, { paths: [dir] }, { ...options, dryRun: true }));
    row.sql.dryRun = sql.stop();
    row.dryRunMs = dry.ms;
    row.files = dry.value.counts.files;
    row.skipped = dry.value.counts.skipped;
    row.warnings = dry.value.counts.warnings;
    row.rejected = dry.value.counts.rejected;
    progress(`dry run: ${dry.ms} ms, ${JSON.stringify(dry.value.counts)}`);

    phase = 'import';
    progress('import');
    sql.start();
    const real = await timed(() => importCatalog(prisma, { paths: [dir] }, options));
    row.sql.import = sql.stop();
    row.importMs = real.ms;
    row.applied = real.value.applied;
    row.created = real.value.counts.create;
    row.rejected = real.value.counts.rejected;
    if (real.value.applied && real.value.counts.create > 0) {
      row.toolsPerSecond = Math.round((real.value.counts.create / (real.ms / 1000)) * 10) / 10;
    }
    if (!real.value.applied) row.notes.push(`import not applied (${real.value.counts.rejected} rejected; all-or-nothing)`);
    if (real.value.counts.create !== dry.value.counts.create) {
      row.notes.push(`dry run planned ${dry.value.counts.create} creates, import made ${real.value.counts.create}`);
    }
    if (real.value.applied) {
      const stored = await prisma.tool.count();
      if (stored !== real.value.counts.create) row.notes.push(`${stored} tool rows stored after creating ${real.value.counts.create}`);
    }
    progress(`import: ${real.ms} ms, ${JSON.stringify(real.value.counts)}`);

    phase = 're-import';
    progress('re-import');
    sql.start();
    const again = await timed(() => importCatalog(prisma, { paths: [dir] }, options));
    row.sql.reimport = sql.stop();
    row.reimportMs = again.ms;
    row.unchanged = again.value.counts.unchanged;
    const changed = again.value.counts.create + again.value.counts.new_version;
    if (changed > 0) row.notes.push(`re-import wrote ${changed} tool(s); expected all unchanged`);
    if (real.value.applied && again.value.counts.unchanged !== real.value.counts.create) {
      row.notes.push(`re-import found ${again.value.counts.unchanged} unchanged of ${real.value.counts.create} created`);
    }
    progress(`re-import: ${again.ms} ms, ${JSON.stringify(again.value.counts)}`);
  } catch (error) {
    const described = describeError(phase, error);
    row.errors.push(described);
    progress(`FAILED in ${phase}: ${described.detail}: ${described.message.split('\n')[0]}`);
  } finally {
    if (opened) {
      try {
        await opened.drop();
      } catch (error) {
        row.errors.push(describeError('close', error));
      }
    }
    row.peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  }
  for (const [label, ms] of [['dry run', row.dryRunMs], ['import', row.importMs], ['re-import', row.reimportMs]] as const) {
    if (ms !== null && ms > SLOW_PHASE_MS) row.notes.push(`${label} took ${(ms / 1000).toFixed(1)} s (over ${SLOW_PHASE_MS / 1000} s)`);
  }
  return row;
}

// ---------------------------------------------------------------------------------------------
// Output

const COLUMNS: Array<Column<BenchRow>> = [
  { title: 'database', value: (r) => r.database },
  { title: 'corpus', value: (r) => r.corpus },
  { title: 'files', value: (r) => num(r.files), right: true },
  { title: 'created', value: (r) => num(r.created), right: true },
  { title: 'unchanged', value: (r) => num(r.unchanged), right: true },
  { title: 'rejected', value: (r) => num(r.rejected), right: true },
  { title: 'dry-run ms', value: (r) => ms(r.dryRunMs), right: true },
  { title: 'import ms', value: (r) => ms(r.importMs), right: true },
  { title: 're-import ms', value: (r) => ms(r.reimportMs), right: true },
  { title: 'tools/s', value: (r) => (r.toolsPerSecond === null ? '—' : r.toolsPerSecond.toFixed(1)), right: true },
  { title: 'peak RSS MB', value: (r) => String(r.peakRssMb), right: true },
];

function num(value: number | null) {
  return value === null ? '—' : String(value);
}
function ms(value: number | null) {
  return value === null ? '—' : value >= 100 ? Math.round(value).toString() : value.toFixed(1);
}

function problemLines(rows: BenchRow[]): string[] {
  return rows.flatMap((r) => [
    ...r.notes.map((n) => `${r.database} / ${r.corpus}: note: ${n}`),
    ...r.errors.flatMap((e) => [
      `${r.database} / ${r.corpus}: ERROR in ${e.phase}: ${e.detail}`,
      ...e.message.split('\n').map((l) => `    ${l}`),
      ...e.where.map((w) => `    ${w}`),
    ]),
  ]);
}

// ---------------------------------------------------------------------------------------------
// Main: the parent generates the corpus, runs one child per (database, corpus), and reports

function integer(name: string) {
  return (value: string) => {
    if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be an integer.`);
    return Number(value);
  };
}

interface ChildSpec {
  kind: DatabaseKind;
  corpus: string;
  dir: string;
}

function targetFor(kind: DatabaseKind, config: Config, version: string | null = null): Target {
  if (kind === 'pglite') return pgliteTarget();
  if (config.database.kind !== 'postgres') throw new Error('postgres benchmark without DATABASE_URL');
  return postgresTarget(config.database, version);
}

/** In the child: run one row and hand it to the parent. */
async function runChild(spec: ChildSpec) {
  const row = await benchCorpus(targetFor(spec.kind, loadConfig()), spec.corpus, spec.dir);
  await new Promise<void>((resolve, reject) => process.send!(row, (error: Error | null) => (error ? reject(error) : resolve())));
}

/** In the parent: run one row in a fresh process; a crash (out of memory, signal) becomes an error row. */
function runInChild(spec: ChildSpec): Promise<BenchRow> {
  return new Promise((resolve) => {
    const child = fork(fileURLToPath(import.meta.url), ['--child', JSON.stringify(spec)], {
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    let row: BenchRow | undefined;
    let stderrTail = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      stderrTail = (stderrTail + chunk.toString('utf8')).slice(-4000);
    });
    child.on('message', (message) => {
      row = message as BenchRow;
    });
    child.on('exit', (code, signal) => {
      if (row) return resolve(row);
      resolve({
        ...emptyRow(spec.kind, spec.corpus),
        errors: [
          {
            phase: 'import',
            message: `benchmark process exited with ${signal ? `signal ${signal}` : `code ${code}`} before reporting\n${stderrTail.trim().split('\n').slice(-15).join('\n')}`,
            detail: 'ChildProcessExit',
            where: [],
          },
        ],
      });
    });
  });
}

async function main() {
  const program = new Command()
    .name('bench-import')
    .description('Time dry-run, import and re-import of the legacy and a generated catalog (PGlite; PostgreSQL when DATABASE_URL is set)')
    .option('--count <n>', 'tools in the generated catalog', integer('--count'), 5000)
    .option('--seed <n>', 'seed of the generated catalog', integer('--seed'), 42)
    .option('--keep-generated', 'keep the generated catalog directory and print its path', false)
    .addOption(new Option('--child <spec>', 'internal: run one benchmark row').hideHelp())
    .parse();
  const opts = program.opts<{ count: number; seed: number; keepGenerated: boolean; child?: string }>();
  if (opts.child) return runChild(JSON.parse(opts.child) as ChildSpec);

  const config = loadConfig();
  const targets: Target[] = [pgliteTarget()];
  if (config.database.kind === 'postgres') {
    targets.push(targetFor('postgres', config, await serverVersion(config.database.url)));
  }

  const started = new Date();
  console.log(startLine('bench:import', started));
  console.log(`databases: ${targets.map((t) => t.kind).join(', ')}${config.database.kind === 'postgres' ? ` (${redact(config.database.url)})` : ''}`);

  const corpora: Array<{ name: string; dir: string }> = [];
  if (existsSync(LEGACY_DIR)) corpora.push({ name: 'legacy', dir: LEGACY_DIR });
  else console.log(`legacy corpus not found at ${LEGACY_DIR}; skipped`);

  const generatedDir = mkdtempSync(path.join(os.tmpdir(), 'tc-bench-catalog-'));
  let generated: (GenerateSummary & { ms: number }) | undefined;
  try {
    const t = await timed(async () => generateCatalog({ outDir: generatedDir, count: opts.count, seed: opts.seed }));
    generated = { ...t.value, ms: t.ms };
    console.log(
      `generated ${generated.files} tools (${generated.capabilities} capabilities, ${generated.patterns} patterns, ` +
        `${(generated.bytes / 1024 / 1024).toFixed(1)} MiB, seed ${opts.seed}) in ${Math.round(t.ms)} ms`,
    );
    corpora.push({ name: `generated-${opts.count}`, dir: generatedDir });

    const rows: BenchRow[] = [];
    for (const target of targets) {
      for (const corpus of corpora) rows.push(await runInChild({ kind: target.kind, corpus: corpus.name, dir: corpus.dir }));
    }
    const peakRssMb = Math.max(0, ...rows.map((r) => r.peakRssMb));

    console.log('');
    console.log(textTable(COLUMNS, rows));
    console.log('');
    console.log(`peak RSS: ${peakRssMb} MB (highest of the per-row processes; PGlite runs inside them, the PostgreSQL server does not)`);
    const problems = problemLines(rows);
    if (problems.length) {
      console.log('');
      for (const line of problems) console.log(line);
    }

    const result = {
      ...runEnvironment(started),
      databases: Object.fromEntries(targets.map((t) => [t.kind, t.describe])),
      corpora: {
        legacy: existsSync(LEGACY_DIR) ? path.relative(projectRoot, LEGACY_DIR) : null,
        generated: generated && {
          count: generated.count,
          seed: generated.seed,
          files: generated.files,
          capabilities: generated.capabilities,
          distinctCapabilities: generated.distinctCapabilities,
          patterns: generated.patterns,
          bytes: generated.bytes,
          generateMs: generated.ms,
        },
      },
      peakRssMb,
      rows,
    };
    mkdirSync(RESULTS_DIR, { recursive: true });
    const stamp = started.toISOString().replace(/[:.]/g, '-');
    const jsonPath = path.join(RESULTS_DIR, `import-${stamp}.json`);
    writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
    const markdown = [
      '# Import benchmark',
      '',
      environmentLine(result),
      '',
      ...targets.map((t) => `- ${t.kind}: ${Object.entries(t.describe).map(([k, v]) => `${k} ${String(v)}`).join(', ')}`),
      generated
        ? `- generated corpus: ${generated.files} tools, ${generated.capabilities} capabilities, ${generated.patterns} patterns, ${(generated.bytes / 1024 / 1024).toFixed(1)} MiB (seed ${generated.seed})`
        : '',
      '',
      'Each row runs in its own process against a fresh database. dry-run and import run against the empty database; re-import imports the same files again (all unchanged). Every phase includes reading and parsing the YAML files. tools/s = created ÷ import time. Peak RSS is the row process\'s maxRSS (PGlite runs inside it; the PostgreSQL server does not).',
      '',
      markdownTable(COLUMNS, rows),
      '',
      `Peak RSS: ${peakRssMb} MB.`,
      ...(problems.length ? ['', '```', ...problems, '```'] : []),
      '',
      `JSON: \`${path.relative(projectRoot, jsonPath)}\``,
      '',
    ].join('\n');
    writeFileSync(path.join(RESULTS_DIR, 'import-latest.md'), markdown);
    console.log('');
    console.log(`wrote ${path.relative(projectRoot, jsonPath)} and ${path.relative(projectRoot, path.join(RESULTS_DIR, 'import-latest.md'))}`);
    if (rows.some((r) => r.errors.length)) process.exitCode = 1;
  } finally {
    if (opts.keepGenerated) console.log(`generated catalog kept in ${generatedDir}`);
    else rmSync(generatedDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(`bench:import failed: ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 1;
});
