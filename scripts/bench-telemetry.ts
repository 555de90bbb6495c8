// Telemetry benchmark, on PostgreSQL: ingestion throughput through reportExecutions (batches of
// --batch runs) and through POST /executions (NDJSON, --ndjson-lines per request), each with
// --clients concurrent clients; then the latency of executionStats (a tool version and its
// patterns over 30 days) and of driftingPatterns over the whole catalog with --runs runs stored.
// Prints figures, never asserts on time.
//
// The stored runs are generated deterministically (seeded), spread over the last 29 days across
// every pattern of the sample catalog, and written by this process through the service's own
// ingestor (raw rows and hourly roll-ups), then compacted as the running service would.
//
// Writes bench/results/telemetry-latest.md and bench/results/telemetry-latest.json.
//
//   npm run bench:telemetry -- [--postgres-url postgresql://...] [--runs 10000000] [--ingest-runs 200000] [--queries 200]
import { Command } from 'commander';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { environmentLine, integer, progress, projectRoot, runEnvironment, startLine } from './bench/cli.js';
import { createBenchDatabase, redact, serverVersion } from './bench/postgres.js';
import { killAllChildren } from './bench/processes.js';
import { startServiceProcess } from './bench/service.js';
import { distribution, type Distribution } from './bench/stats.js';
import { markdownTable, textTable, type Column } from './bench/tables.js';
import { openDatabase } from '../src/db/database.js';
import { ExecutionIngestor } from '../src/telemetry/ingest.js';
import { compactRollups } from '../src/telemetry/maintenance.js';
import { TelemetryClock } from '../src/telemetry/telemetryClock.js';

const RESULTS_DIR = path.join(projectRoot, 'bench', 'results');
const ADMIN_KEY = 'bench-telemetry-admin-key-Yp6Kr3Vz9Qm2Xt8Ln5Bw4Hc7Dj1Fs0Ga';
const DAY_MS = 86_400_000;

const program = new Command()
  .option('--postgres-url <url>', 'PostgreSQL server (a fresh database is created and dropped)', process.env.DATABASE_URL)
  .option('--runs <n>', 'runs stored before the read latencies are measured', integer('--runs'), 10_000_000)
  .option('--ingest-runs <n>', 'runs sent through each ingestion path', integer('--ingest-runs'), 200_000)
  .option('--batch <n>', 'runs per reportExecutions call', integer('--batch'), 500)
  .option('--ndjson-lines <n>', 'lines per POST /executions', integer('--ndjson-lines'), 5_000)
  .option('--clients <n>', 'concurrent clients per ingestion path', integer('--clients'), 4)
  .option('--queries <n>', 'samples per read latency', integer('--queries'), 200)
  .parse();
const options = program.opts<{ postgresUrl?: string; runs: number; ingestRuns: number; batch: number; ndjsonLines: number; clients: number; queries: number }>();
if (!options.postgresUrl) {
  console.error('bench:telemetry runs on PostgreSQL: set DATABASE_URL or pass --postgres-url');
  process.exit(2);
}

/** Deterministic pseudo-random numbers (mulberry32). */
function random(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Target {
  toolId: string;
  name: string;
  platform: string;
  version: string;
  capability: string;
  pattern: string;
}

/** One synthetic run: log-normal durations around a per-pattern median, 95 % successes. */
function makeRun(next: () => number, targets: Target[], id: string, startedAt: number) {
  const index = Math.floor(next() * targets.length);
  const target = targets[index]!;
  const median = 50 + (index % 17) * 40;
  const u = Math.max(next(), 1e-12);
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
  return {
    executionId: id,
    toolId: target.toolId,
    capability: target.capability,
    pattern: target.pattern,
    startedAt: new Date(startedAt).toISOString(),
    durationMs: Math.round(median * Math.exp(0.5 * z) * 100) / 100,
    success: next() < 0.95,
    cost: Math.round(next() * 100) / 100,
    variables: { N: 1 + Math.floor(next() * 500) },
  };
}

async function gql(base: string, query: string, variables: Record<string, unknown> = {}, key?: string) {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: any; errors?: Array<{ message: string }> };
  if (body.errors?.length) throw new Error(`GraphQL: ${body.errors[0]!.message}`);
  return body.data;
}

interface Throughput {
  path: string;
  runs: number;
  seconds: number;
  runsPerSecond: number;
  accepted: number;
}

async function ingestThroughput(label: string, total: number, perRequest: number, clients: number, send: (runs: unknown[]) => Promise<number>, make: (i: number) => unknown): Promise<Throughput> {
  let nextIndex = 0;
  let accepted = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (nextIndex < total) {
        const from = nextIndex;
        nextIndex = Math.min(total, nextIndex + perRequest);
        const runs = Array.from({ length: nextIndex - from }, (_, k) => make(from + k));
        const stored = await send(runs);
        accepted += stored;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  progress(`${label}: ${total} runs in ${seconds.toFixed(1)} s`);
  return { path: label, runs: total, seconds, runsPerSecond: total / seconds, accepted };
}

async function latency(samples: number, fn: () => Promise<unknown>): Promise<Distribution> {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return distribution(times);
}

const started = new Date();
console.log(startLine('bench:telemetry', started));
const database = await createBenchDatabase(options.postgresUrl);
process.on('exit', killAllChildren);
try {
  const service = await startServiceProcess({
    label: 'service',
    env: { DATABASE_URL: database.url, ADMIN_API_KEY: ADMIN_KEY, NODE_ENV: 'production', LOG_LEVEL: 'warn', CATALOG_WATCH: 'false' },
    readyTimeoutMs: 120_000,
  });
  try {
    const created = await gql(service.base, 'mutation { createApiKey(name: "bench-pipeline", role: REPORTER) { ... on CreatedApiKey { key } } }', {}, ADMIN_KEY);
    const reporterKey = created.createApiKey.key as string;
    const catalog = await gql(service.base, '{ tools(first: 200) { edges { node { id name platform version capabilities { name patterns { name } } } } } }');
    const targets: Target[] = [];
    for (const { node } of catalog.tools.edges) {
      for (const capability of node.capabilities) {
        for (const pattern of capability.patterns) targets.push({ toolId: node.id, name: node.name, platform: node.platform, version: node.version, capability: capability.name, pattern: pattern.name });
      }
    }
    progress(`${targets.length} patterns in the sample catalog`);

    // 1. Stored runs, generated here and written through the ingestor (raw rows and roll-ups).
    const db = await openDatabase({ kind: 'postgres', url: database.url, poolMax: 4, connectTimeoutMs: 10_000, statementTimeoutMs: 600_000, idleTimeoutMs: 10_000 });
    const ingestor = new ExecutionIngestor(db.prisma, { clock: new TelemetryClock(), retentionMs: 30 * DAY_MS });
    const seedStart = performance.now();
    const now = Date.now();
    const next = random(2026);
    const SEED_BATCH = 5_000;
    let seeded = 0;
    await Promise.all(
      [0, 1].map(async () => {
        while (seeded < options.runs) {
          const from = seeded;
          seeded = Math.min(options.runs, seeded + SEED_BATCH);
          const runs = Array.from({ length: seeded - from }, (_, k) => makeRun(next, targets, `seed-${from + k}`, now - 60_000 - Math.floor(next() * 29 * DAY_MS)));
          await ingestor.ingest(runs, 'graphql', 'bench');
          if (Math.floor(seeded / 500_000) !== Math.floor(from / 500_000)) progress(`stored ${seeded} runs`);
        }
      }),
    );
    while ((await compactRollups(db.prisma, 5_000)) > 0);
    const seedSeconds = (performance.now() - seedStart) / 1000;
    const [sizes] = await db.prisma.$queryRaw<Array<{ runs: bigint; rollups: bigint }>>`
      SELECT (SELECT count(*) FROM "ToolExecution") AS runs, (SELECT count(*) FROM "ExecutionRollup") AS rollups`;
    progress(`stored ${sizes!.runs} runs and ${sizes!.rollups} compacted roll-ups in ${seedSeconds.toFixed(0)} s`);
    await db.close();

    // 2. Ingestion through the service.
    const fresh = random(7);
    const live = (prefix: string) => (i: number) => makeRun(fresh, targets, `${prefix}-${i}`, Date.now() - Math.floor(fresh() * 3_600_000));
    const mutation = await ingestThroughput('reportExecutions', options.ingestRuns, options.batch, options.clients, async (runs) => {
      const data = await gql(service.base, 'mutation ($runs: [ExecutionInput!]!) { reportExecutions(executions: $runs) { accepted items { outcome reason message } } }', { runs }, reporterKey);
      const refused = (data.reportExecutions.items as Array<{ outcome: string; message: string | null }>).find((item) => item.outcome !== 'ACCEPTED');
      if (refused) progress(`reportExecutions answered ${refused.outcome}: ${refused.message}`);
      return data.reportExecutions.accepted as number;
    }, live('mutation'));
    const ndjson = await ingestThroughput('POST /executions', options.ingestRuns, options.ndjsonLines, options.clients, async (runs) => {
      const response = await fetch(`${service.base}/executions`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${reporterKey}` },
        body: runs.map((run) => JSON.stringify(run)).join('\n'),
      });
      return ((await response.json()) as { accepted: number }).accepted;
    }, live('ndjson'));

    // 3. Read latencies (the service compacts in the background meanwhile, as in production).
    const busiest = targets[0]!;
    const toolStats = await latency(options.queries, () =>
      gql(service.base, 'query ($id: ID!) { toolById(id: $id) { executionStats(window: LAST_30D) { runs durationMs { p50 p95 p99 } } } }', { id: busiest.toolId }),
    );
    const patternStats = await latency(options.queries, () =>
      gql(service.base, 'query ($id: ID!) { toolById(id: $id) { capabilities { patterns { executionStats(window: LAST_30D) { runs durationMs { p50 p95 p99 } drift } } } } }', { id: busiest.toolId }),
    );
    const drifting = await latency(options.queries, () => gql(service.base, '{ driftingPatterns(window: LAST_7D, first: 20) { edges { node { pattern drift } } } }'));

    const env = runEnvironment(started);
    const version = await serverVersion(options.postgresUrl);
    const throughputColumns: Array<Column<Throughput>> = [
      { title: 'path', value: (r) => r.path },
      { title: 'runs', value: (r) => String(r.runs), right: true },
      { title: 'accepted', value: (r) => String(r.accepted), right: true },
      { title: 'seconds', value: (r) => r.seconds.toFixed(2), right: true },
      { title: 'runs/s', value: (r) => Math.round(r.runsPerSecond).toLocaleString('en'), right: true },
    ];
    const reads = [
      { read: 'Tool.executionStats(LAST_30D), one version', ...toolStats },
      { read: 'Pattern.executionStats(LAST_30D), every pattern of that version', ...patternStats },
      { read: 'driftingPatterns(LAST_7D, first: 20)', ...drifting },
    ];
    const readColumns: Array<Column<(typeof reads)[number]>> = [
      { title: 'read', value: (r) => r.read },
      { title: 'samples', value: (r) => String(r.count), right: true },
      { title: 'median ms', value: (r) => String(r.median), right: true },
      { title: 'p99 ms', value: (r) => String(r.p99), right: true },
      { title: 'max ms', value: (r) => String(r.max), right: true },
    ];
    console.log(`\nPostgreSQL ${version ?? '?'} at ${redact(options.postgresUrl)}; ${sizes!.runs} runs stored, ${sizes!.rollups} roll-up rows\n`);
    console.log(textTable(throughputColumns, [mutation, ndjson]));
    console.log();
    console.log(textTable(readColumns, reads));
    mkdirSync(RESULTS_DIR, { recursive: true });
    const result = { environment: env, postgres: version, options: { ...options, postgresUrl: redact(options.postgresUrl) }, stored: { runs: Number(sizes!.runs), rollups: Number(sizes!.rollups), seconds: seedSeconds }, ingestion: [mutation, ndjson], reads };
    writeFileSync(path.join(RESULTS_DIR, 'telemetry-latest.json'), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(
      path.join(RESULTS_DIR, 'telemetry-latest.md'),
      [
        '# Telemetry benchmark (npm run bench:telemetry)',
        '',
        environmentLine(env),
        '',
        `PostgreSQL ${version ?? '?'}; ${sizes!.runs} runs stored (${sizes!.rollups} roll-up rows), ${options.clients} clients per path.`,
        '',
        markdownTable(throughputColumns, [mutation, ndjson]),
        '',
        markdownTable(readColumns, reads),
        '',
      ].join('\n'),
    );
  } finally {
    await service.stop();
  }
} finally {
  await database.drop();
}
