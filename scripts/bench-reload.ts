// Reload benchmark: reloads of a large catalog while readers hammer the service, checking that no
// read fails and none sees a mix of the catalog before and after. Prints figures, never asserts on
// time.
//
// For each database (PGlite always; PostgreSQL when a server URL is given) and each corpus:
// - generated: --count generated tools are loaded at start-up; each round rewrites every file with
//   a new version and reloads (every tool gets a new version in one transaction);
// - legacy: the service starts with an empty catalog and CATALOG_DIR pointing at
//   ../shared/legacy-catalog (read in place, never copied); round 1 loads it, round 2 finds it
//   unchanged.
// Readers (--readers concurrent loops, the response cache off so every read reaches the database)
// send one query of several root fields over loopback HTTP. Before each reload the bench records the
// answer, and after it the new answer; every answer in between must be one of the two, exactly.
//
// Writes bench/results/reload-latest.md and bench/results/reload-latest.json.
//
//   npm run bench:reload [-- --postgres-url postgresql://... --count 5000 --readers 8 --rounds 2]
import { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { choiceList, environmentLine, integer, progress, projectRoot, runEnvironment, startLine } from './bench/cli.js';
import { postGraphQL } from './bench/eventClients.js';
import { createBenchDatabase, redact } from './bench/postgres.js';
import { killAllChildren } from './bench/processes.js';
import { startServiceProcess, type ServiceProcess } from './bench/service.js';
import { markdownTable, textTable, type Column } from './bench/tables.js';
import { generateCatalog } from './generate-catalog.js';

const RESULTS_DIR = path.join(projectRoot, 'bench', 'results');
const LEGACY_DIR = path.resolve(projectRoot, '../shared/legacy-catalog');
const READY_TIMEOUT_MS = 600_000;
const READ_TIMEOUT_MS = 60_000;
const RELOAD_TIMEOUT_MS = 600_000;

// Several root fields, a connection with its count, nested relations: many statements per answer.
const READ = `{
  all: tools(first: 25) { totalCount edges { node { name platform version } } }
  linux: tools(first: 10, filter: { platform: "linux" }, orderBy: { field: NAME, direction: DESC }) {
    totalCount
    edges { node { name version capabilities { name patterns { name timeEstimateMs } } } }
  }
  newest: tools(first: 5, orderBy: { field: UPDATED_AT, direction: DESC }) { edges { node { name version } } }
}`;

interface RoundResult {
  database: string;
  corpus: string;
  round: number;
  reloadMs: number;
  historyMs: number | null;
  created: number;
  newVersions: number;
  unchanged: number;
  rejected: number;
  error: string | null;
  reads: number;
  readsDuring: number;
  failed: number;
  mixed: number;
  readsPerSecond: number;
}

const program = new Command('bench-reload')
  .option('--postgres-url <url>', 'PostgreSQL server to create a throwaway database on', process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL)
  .option('--databases <list>', 'pglite,postgres', choiceList('--databases', ['pglite', 'postgres'] as const))
  .option('--corpora <list>', 'generated,legacy', choiceList('--corpora', ['generated', 'legacy'] as const), ['generated', 'legacy'])
  .option('--count <n>', 'generated tools', integer('--count'), 5_000)
  .option('--readers <n>', 'concurrent reader loops', integer('--readers'), 8)
  .option('--rounds <n>', 'reloads per corpus', integer('--rounds'), 2)
  .parse();
const options = program.opts<{ postgresUrl?: string; databases?: Array<'pglite' | 'postgres'>; corpora: Array<'generated' | 'legacy'>; count: number; readers: number; rounds: number }>();
const databases = options.databases ?? (options.postgresUrl ? ['pglite', 'postgres'] : ['pglite']);
if (databases.includes('postgres') && !options.postgresUrl) {
  console.error('--databases postgres needs --postgres-url (or BENCH_DATABASE_URL / DATABASE_URL)');
  process.exit(2);
}

const adminKey = randomBytes(24).toString('hex');
const auth = { authorization: `Bearer ${adminKey}` };

/** Every file gets version `<original>-r<round>`: a new version of every tool. */
function bumpVersions(dir: string, round: number) {
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.yaml')) continue;
    const file = path.join(entry.parentPath, entry.name);
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.replace(/^version: "?([^"\n]+?)(?:-r\d+)?"?$/m, `version: "$1-r${round}"`));
  }
}

async function read(service: ServiceProcess) {
  const answer = await postGraphQL(service.base, READ, { timeoutMs: READ_TIMEOUT_MS });
  return { ok: answer.status === 200 && !answer.errors && answer.data !== null, text: JSON.stringify(answer.data), errors: answer.errors };
}

async function reloadUnderLoad(service: ServiceProcess, label: { database: string; corpus: string; round: number }, prepare: () => void): Promise<RoundResult> {
  const before = await read(service);
  if (!before.ok) throw new Error(`read before the reload failed: ${JSON.stringify(before.errors)}`);
  prepare();
  const answers: Array<{ text: string; ok: boolean; during: boolean }> = [];
  let reloading = false;
  let stop = false;
  const deadline = Date.now() + RELOAD_TIMEOUT_MS;
  const startedReading = performance.now();
  const readers = Array.from({ length: options.readers }, async () => {
    while (!stop && Date.now() < deadline) {
      const during = reloading;
      try {
        const answer = await read(service);
        answers.push({ text: answer.text, ok: answer.ok, during: during || reloading });
      } catch (error) {
        const cause = (error as { cause?: unknown }).cause;
        answers.push({ text: `${String(error)}${cause ? ` (${String(cause)})` : ''}`, ok: false, during: during || reloading });
      }
    }
  });
  // Readers warm up first, so the reload starts under load.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  reloading = true;
  const started = performance.now();
  const result = await postGraphQL<{ reloadCatalog: { reload: Record<string, unknown> } }>(
    service.base,
    'mutation { reloadCatalog(reason: "bench") { reload { durationMs created newVersions unchanged rejected error } } }',
    { headers: auth, timeoutMs: RELOAD_TIMEOUT_MS },
  );
  const reloadMs = performance.now() - started;
  reloading = false;
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  stop = true;
  await Promise.all(readers);
  const readingSeconds = (performance.now() - startedReading) / 1000;
  const after = await read(service);
  const reload = result.data?.reloadCatalog.reload;
  if (!reload) throw new Error(`reloadCatalog failed: ${JSON.stringify(result.errors)}`);
  const failed = answers.filter((a) => !a.ok);
  const mixed = answers.filter((a) => a.ok && a.text !== before.text && a.text !== after.text);
  if (failed.length) progress(`  first failed read: ${failed[0]!.text.slice(0, 300)}`);
  if (mixed.length) progress(`  first mixed read: ${mixed[0]!.text.slice(0, 300)}`);
  return {
    ...label,
    reloadMs,
    historyMs: (reload.durationMs as number | null) ?? null,
    created: reload.created as number,
    newVersions: reload.newVersions as number,
    unchanged: reload.unchanged as number,
    rejected: reload.rejected as number,
    error: (reload.error as string | null) ?? null,
    reads: answers.length,
    readsDuring: answers.filter((a) => a.during).length,
    failed: failed.length,
    mixed: mixed.length,
    readsPerSecond: answers.length / readingSeconds,
  };
}

async function databaseEnv(database: string, workDir: string): Promise<{ env: Record<string, string>; drop(): Promise<void> }> {
  if (database === 'pglite') return { env: { DATA_DIR: path.join(workDir, 'data') }, drop: async () => {} };
  const fresh = await createBenchDatabase(options.postgresUrl!);
  return { env: { DATABASE_URL: fresh.url }, drop: fresh.drop };
}

async function runCorpus(database: string, corpus: 'generated' | 'legacy'): Promise<RoundResult[]> {
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'tc-bench-reload-'));
  const db = await databaseEnv(database, workDir);
  let service: ServiceProcess | undefined;
  try {
    let catalogDir = LEGACY_DIR;
    if (corpus === 'generated') {
      catalogDir = path.join(workDir, 'catalog');
      mkdirSync(catalogDir);
      generateCatalog({ outDir: catalogDir, count: options.count, seed: 42 });
    }
    progress(`${database}/${corpus}: starting the service (${corpus === 'generated' ? `${options.count} tools loaded at start-up` : 'empty catalog'})`);
    service = await startServiceProcess({
      label: `${database}/${corpus}`,
      env: {
        ...db.env,
        CATALOG_DIR: catalogDir,
        SEED_ON_EMPTY: corpus === 'generated' ? 'true' : 'false',
        CATALOG_WATCH: 'false',
        CACHE_ENABLED: 'false',
        GRAPHIQL: 'false',
        LOG_LEVEL: 'warn',
        ADMIN_API_KEY: adminKey,
      },
      readyTimeoutMs: READY_TIMEOUT_MS,
    });
    const rounds: RoundResult[] = [];
    for (let round = 1; round <= options.rounds; round += 1) {
      const result = await reloadUnderLoad(service, { database, corpus, round }, () => {
        if (corpus === 'generated') bumpVersions(catalogDir, round);
      });
      progress(
        `${database}/${corpus} round ${round}: reload ${result.reloadMs.toFixed(0)} ms (created ${result.created}, new versions ${result.newVersions}, unchanged ${result.unchanged}, rejected ${result.rejected}${result.error ? `, error: ${result.error}` : ''}); ` +
          `${result.reads} reads (${result.readsDuring} during the reload), ${result.failed} failed, ${result.mixed} mixed`,
      );
      rounds.push(result);
    }
    return rounds;
  } finally {
    await service?.stop();
    await db.drop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

const columns: Array<Column<RoundResult>> = [
  { title: 'database', value: (r) => r.database },
  { title: 'corpus', value: (r) => r.corpus },
  { title: 'round', value: (r) => String(r.round), right: true },
  { title: 'reload ms', value: (r) => r.reloadMs.toFixed(0), right: true },
  { title: 'created', value: (r) => String(r.created), right: true },
  { title: 'new versions', value: (r) => String(r.newVersions), right: true },
  { title: 'unchanged', value: (r) => String(r.unchanged), right: true },
  { title: 'rejected', value: (r) => String(r.rejected), right: true },
  { title: 'reads', value: (r) => String(r.reads), right: true },
  { title: 'during reload', value: (r) => String(r.readsDuring), right: true },
  { title: 'reads/s', value: (r) => r.readsPerSecond.toFixed(0), right: true },
  { title: 'failed', value: (r) => String(r.failed), right: true },
  { title: 'mixed', value: (r) => String(r.mixed), right: true },
  { title: 'error', value: (r) => r.error ?? '' },
];

process.on('SIGINT', () => {
  killAllChildren();
  process.exit(130);
});

const started = new Date();
console.log(startLine('bench:reload', started));
const results: RoundResult[] = [];
try {
  for (const database of databases) {
    for (const corpus of options.corpora) results.push(...(await runCorpus(database, corpus)));
  }
} finally {
  killAllChildren();
}
console.log(`\n${textTable(columns, results)}`);
mkdirSync(RESULTS_DIR, { recursive: true });
const environment = runEnvironment(started);
const header = [
  '# Reload benchmark',
  '',
  environmentLine(environment),
  options.postgresUrl && databases.includes('postgres') ? `PostgreSQL: ${redact(options.postgresUrl)}` : 'PostgreSQL: not run',
  '',
  `${options.readers} readers over loopback HTTP, response cache off, each sending one query of three root fields (two connections with their counts, nested capabilities and patterns). ` +
    'An answer is "mixed" when it equals neither the answer before the reload nor the one after it. "reload ms" is the reloadCatalog round trip. ' +
    `Generated: ${options.count} tools loaded at start-up, then each round gives every tool a new version. Legacy: ../shared/legacy-catalog read in place, loaded into an empty catalog in round 1, unchanged after.`,
  '',
];
writeFileSync(path.join(RESULTS_DIR, 'reload-latest.md'), `${header.join('\n')}${markdownTable(columns, results)}\n`);
writeFileSync(path.join(RESULTS_DIR, 'reload-latest.json'), `${JSON.stringify({ ...environment, options: { ...options, postgresUrl: undefined }, results }, null, 2)}\n`);
const failedOrMixed = results.reduce((sum, r) => sum + r.failed + r.mixed, 0);
console.log(`\n${failedOrMixed === 0 ? 'no read failed or mixed' : `${failedOrMixed} reads failed or mixed`}; wrote bench/results/reload-latest.md`);
