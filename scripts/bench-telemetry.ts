// Telemetry benchmark, on PostgreSQL, against the goals: ingestion throughput through
// reportExecutions (batches of --batch runs) and through POST /executions (NDJSON, --ndjson-lines
// per request), each with --clients concurrent clients; concurrent retries of sent batches (0 rows
// may be added); with --runs runs stored, the latency of Pattern.executionStats over 30 days for one
// pattern and of driftingPatterns over the whole catalog, through the API (as served: the cache of
// merged roll-ups warm) and in-process with a cold cache every call; and the API's percentiles
// against PostgreSQL's percentile_cont over the raw rows. Prints each goal's figure next to its
// target; never asserts on time.
//
// The stored runs are generated deterministically (seeded) and written in bulk SQL, not through the
// API (scripts/bench/telemetrySeed.ts): raw rows plus the roll-ups compaction would have left,
// spread over the last --days days across every pattern of the catalog (--catalog-dir: the sample
// catalog by default).
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
import { random } from './bench/seededRandom.js';
import { seedPatterns, seedTelemetry, type SeedPattern } from './bench/telemetrySeed.js';
import { openDatabase } from '../src/db/database.js';
import { DEFAULT_DRIFT_RULE } from '../src/telemetry/accumulator.js';
import { RollupReader } from '../src/telemetry/rollupReader.js';
import { driftingPatterns, loadExecutionStats } from '../src/telemetry/stats.js';
import { windowStart } from '../src/telemetry/windows.js';

const RESULTS_DIR = path.join(projectRoot, 'bench', 'results');
const ADMIN_KEY = 'bench-telemetry-admin-key-Yp6Kr3Vz9Qm2Xt8Ln5Bw4Hc7Dj1Fs0Ga';

const program = new Command()
  .option('--postgres-url <url>', 'PostgreSQL server (a fresh database is created and dropped)', process.env.DATABASE_URL)
  .option('--catalog-dir <dir>', 'catalog the service seeds itself with (e.g. ../shared/legacy-catalog: 265 patterns)', path.join(projectRoot, 'catalog'))
  .option('--runs <n>', 'runs stored (bulk SQL) before the read latencies are measured', integer('--runs', 0), 10_000_000)
  .option('--days <n>', 'the stored runs start within this many days before now (at most 29: raw runs are kept 30)', integer('--days'), 29)
  .option('--rollups-only', 'store roll-ups only, no raw rows (quicker; skips the accuracy check)', false)
  .option('--ingest-runs <n>', 'runs sent through each ingestion path', integer('--ingest-runs'), 200_000)
  .option('--batch <n>', 'runs per reportExecutions call', integer('--batch'), 500)
  .option('--ndjson-lines <n>', 'lines per POST /executions', integer('--ndjson-lines'), 5_000)
  .option('--clients <n>', 'concurrent clients per ingestion path', integer('--clients'), 4)
  .option('--queries <n>', 'samples per read latency through the API', integer('--queries'), 200)
  .option('--cold-queries <n>', 'samples per in-process read with a cold cache', integer('--cold-queries'), 20)
  .option('--node-flags <flags>', 'node/V8 flags for the service process, e.g. "--cpu-prof"', '')
  .parse();
const options = program.opts<{
  postgresUrl?: string;
  catalogDir: string;
  runs: number;
  days: number;
  rollupsOnly: boolean;
  ingestRuns: number;
  batch: number;
  ndjsonLines: number;
  clients: number;
  queries: number;
  coldQueries: number;
  nodeFlags: string;
}>();
if (!options.postgresUrl) {
  console.error('bench:telemetry runs on PostgreSQL: set DATABASE_URL or pass --postgres-url');
  process.exit(2);
}
if (options.days > 29) {
  console.error('--days must be at most 29 (runs older than the 30-day raw retention would be pruned)');
  process.exit(2);
}

/** One live run (the last hour) for the ingestion phase: log-normal durations, 95 % successes. */
function liveRun(next: () => number, patterns: SeedPattern[], id: string) {
  const index = Math.floor(next() * patterns.length);
  const target = patterns[index]!;
  const u = Math.max(next(), 1e-12);
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
  return {
    executionId: id,
    toolId: target.toolId,
    capability: target.capability,
    pattern: target.pattern,
    startedAt: new Date(Date.now() - Math.floor(next() * 3_600_000)).toISOString(),
    durationMs: Math.round((50 + (index % 17) * 40) * Math.exp(0.5 * z) * 100) / 100,
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
  /** The first requests' runs, kept to be sent again. */
  sent: unknown[][];
}

async function ingestThroughput(label: string, total: number, perRequest: number, clients: number, send: (runs: unknown[]) => Promise<number>, make: (i: number) => unknown): Promise<Throughput> {
  let nextIndex = 0;
  let accepted = 0;
  const sent: unknown[][] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (nextIndex < total) {
        const from = nextIndex;
        nextIndex = Math.min(total, nextIndex + perRequest);
        const runs = Array.from({ length: nextIndex - from }, (_, k) => make(from + k));
        if (sent.length < 4) sent.push(runs);
        const stored = await send(runs);
        accepted += stored;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  progress(`${label}: ${total} runs in ${seconds.toFixed(1)} s`);
  return { path: label, runs: total, seconds, runsPerSecond: total / seconds, accepted, sent };
}

async function latency(samples: number, fn: () => Promise<unknown>, options: { warmUp?: boolean } = {}): Promise<Distribution> {
  const times: number[] = [];
  // One untimed call first, so "cache warm" series measure the warm cache, not its first fill.
  if (options.warmUp) await fn();
  for (let i = 0; i < samples; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return distribution(times);
}

/** Sends `runs` again through reportExecutions, in calls of `batch` runs (an NDJSON request holds more than one call may). */
async function gqlRetry(base: string, runs: unknown[], key: string, batch: number) {
  const total = { accepted: 0, duplicates: 0 };
  for (let from = 0; from < runs.length; from += batch) {
    const data = await gql(base, 'mutation ($runs: [ExecutionInput!]!) { reportExecutions(executions: $runs) { accepted duplicates } }', { runs: runs.slice(from, from + batch) }, key);
    total.accepted += data.reportExecutions.accepted as number;
    total.duplicates += data.reportExecutions.duplicates as number;
  }
  return total;
}

const PATTERN_STATS = `query ($id: ID!) { toolById(id: $id) { capabilities { patterns { name executionStats(window: LAST_30D) {
  runs successRate durationMs { p50 p95 p99 mean } cost { mean total } estimateError { medianRatio } drift lastRunAt } } } } }`;

const started = new Date();
console.log(startLine('bench:telemetry', started));
const database = await createBenchDatabase(options.postgresUrl);
process.on('exit', killAllChildren);
try {
  const service = await startServiceProcess({
    label: 'service',
    nodeFlags: options.nodeFlags.split(/\s+/).filter(Boolean),
    env: { DATABASE_URL: database.url, ADMIN_API_KEY: ADMIN_KEY, NODE_ENV: 'production', LOG_LEVEL: 'warn', CATALOG_WATCH: 'false', CATALOG_DIR: path.resolve(options.catalogDir) },
    readyTimeoutMs: 120_000,
  });
  const db = await openDatabase({ kind: 'postgres', url: database.url, poolMax: 4, connectTimeoutMs: 10_000, statementTimeoutMs: 3_600_000, idleTimeoutMs: 10_000 });
  try {
    const created = await gql(service.base, 'mutation { createApiKey(name: "bench-pipeline", role: REPORTER) { ... on CreatedApiKey { key } } }', {}, ADMIN_KEY);
    const reporterKey = created.createApiKey.key as string;
    const patterns = await seedPatterns(db.prisma);
    const busiest = patterns[0]!;
    progress(`${patterns.length} patterns in the catalog; the busiest is ${busiest.capability}/${busiest.pattern}, the only pattern of its tool version`);

    // 1. Stored runs, in bulk SQL (raw rows and the roll-ups compaction would have left).
    const seedStart = performance.now();
    const seeded = await seedTelemetry(db.prisma, database.url, patterns, { runs: options.runs, days: options.days, rollupsOnly: options.rollupsOnly, seed: 2026, progress });
    await db.prisma.$executeRawUnsafe('ANALYZE "ToolExecution", "ExecutionRollup", "ExecutionRollupDaily"');
    const seedSeconds = (performance.now() - seedStart) / 1000;
    progress(`stored ${options.runs.toLocaleString('en')} runs (${seeded.rows.toLocaleString('en')} raw rows, ${seeded.rollups.toLocaleString('en')} roll-up rows) in ${seedSeconds.toFixed(0)} s`);

    // 2. Ingestion through the service.
    const fresh = random(7);
    const live = (prefix: string) => (i: number) => liveRun(fresh, patterns, `${prefix}-${i}`);
    const mutation = await ingestThroughput('reportExecutions', options.ingestRuns, options.batch, options.clients, async (runs) => {
      const data = await gql(service.base, 'mutation ($runs: [ExecutionInput!]!) { reportExecutions(executions: $runs) { accepted items { outcome reason message } } }', { runs }, reporterKey);
      const refused = (data.reportExecutions.items as Array<{ outcome: string; message: string | null }>).find((item) => item.outcome !== 'ACCEPTED');
      if (refused) progress(`reportExecutions answered ${refused.outcome}: ${refused.message}`);
      return data.reportExecutions.accepted as number;
    }, live('mutation'));
    const postNdjson = async (runs: unknown[]) => {
      const response = await fetch(`${service.base}/executions`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${reporterKey}` },
        body: runs.map((run) => JSON.stringify(run)).join('\n'),
      });
      return (await response.json()) as { accepted: number; duplicates: number };
    };
    const ndjson = await ingestThroughput('POST /executions', options.ingestRuns, options.ndjsonLines, options.clients, async (runs) => (await postNdjson(runs)).accepted, live('ndjson'));

    // 3. Concurrent retries of batches already stored: each sent 3 times at once through both paths.
    const countRows = async () => Number((await db.prisma.$queryRaw<Array<{ n: bigint }>>`SELECT count(*) AS n FROM "ToolExecution"`)[0]!.n);
    const rowsBefore = await countRows();
    const retryBatches = [...mutation.sent, ...ndjson.sent];
    const retried = await Promise.all(retryBatches.flatMap((runs) => [gqlRetry(service.base, runs, reporterKey, options.batch), postNdjson(runs), gqlRetry(service.base, runs, reporterKey, options.batch)]));
    const retry = {
      runsSent: retryBatches.reduce((sum, runs) => sum + runs.length, 0) * 3,
      accepted: retried.reduce((sum, r) => sum + r.accepted, 0),
      rowsAdded: (await countRows()) - rowsBefore,
      duplicateRows: Number(
        (await db.prisma.$queryRaw<Array<{ n: bigint }>>`SELECT count(*) AS n FROM (SELECT "executionId" FROM "ToolExecution" GROUP BY 1 HAVING count(*) > 1) d`)[0]!.n,
      ),
    };
    progress(`retries: ${retry.runsSent} runs sent again, ${retry.accepted} accepted, ${retry.rowsAdded} rows added, ${retry.duplicateRows} duplicate rows`);

    // 4. Wait (bounded) for the service to compact what was ingested, as it does within seconds in production.
    const compactDeadline = Date.now() + 300_000;
    let pending = Infinity;
    while (Date.now() < compactDeadline) {
      pending = Number((await db.prisma.$queryRaw<Array<{ n: bigint }>>`SELECT count(*) AS n FROM "ExecutionRollup" WHERE NOT "compacted"`)[0]!.n);
      if (pending === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    progress(pending === 0 ? 'every roll-up compacted' : `${pending} roll-up rows still waiting for compaction after 5 minutes`);

    // 5. Read latencies through the API (cache warm after the first call) and in-process with a cold cache.
    const patternStats = await latency(options.queries, () => gql(service.base, PATTERN_STATS, { id: busiest.toolId }), { warmUp: true });
    const toolStats = await latency(options.queries, () =>
      gql(service.base, 'query ($id: ID!) { toolById(id: $id) { executionStats(window: LAST_30D) { runs durationMs { p50 p95 p99 } } } }', { id: busiest.toolId }),
      { warmUp: true },
    );
    const drifting30 = await latency(options.queries, () => gql(service.base, '{ driftingPatterns(window: LAST_30D, first: 20) { edges { node { pattern drift } } } }'), { warmUp: true });
    const drifting7 = await latency(options.queries, () => gql(service.base, '{ driftingPatterns(window: LAST_7D, first: 20) { edges { node { pattern drift } } } }'), { warmUp: true });
    // Right after a report (100 runs over random patterns, not timed), as while the pipeline reports: today's rows changed.
    const timedAfter = async (samples: number, read: () => Promise<unknown>) => {
      const times: number[] = [];
      for (let i = 0; i < samples; i++) {
        await postNdjson(Array.from({ length: 100 }, (_, k) => liveRun(fresh, patterns, `after-${times.length}-${i}-${k}-${Math.random()}`)));
        await postNdjson([{ ...liveRun(fresh, patterns, `after-busiest-${i}-${Math.random()}`), toolId: busiest.toolId, capability: busiest.capability, pattern: busiest.pattern }]);
        const start = performance.now();
        await read();
        times.push(performance.now() - start);
      }
      return distribution(times);
    };
    const afterSamples = Math.min(options.queries, 50);
    const patternAfter = await timedAfter(afterSamples, () => gql(service.base, PATTERN_STATS, { id: busiest.toolId }));
    const driftingAfter = await timedAfter(afterSamples, () => gql(service.base, '{ driftingPatterns(window: LAST_30D, first: 20) { edges { node { pattern drift } } } }'));
    const coldPattern = await latency(options.coldQueries, () => loadExecutionStats(db.prisma, new RollupReader(), 'pattern', 'LAST_30D', [busiest.patternId], DEFAULT_DRIFT_RULE));
    const coldDrifting = await latency(options.coldQueries, () => driftingPatterns(db.prisma, new RollupReader(), 'LAST_30D', DEFAULT_DRIFT_RULE));
    const driftingCount = (await driftingPatterns(db.prisma, new RollupReader(), 'LAST_30D', DEFAULT_DRIFT_RULE)).length;
    const [sizes] = await db.prisma.$queryRaw<Array<{ runs: bigint; hourly: bigint; daily: bigint }>>`
      SELECT (SELECT count(*) FROM "ToolExecution") AS runs, (SELECT count(*) FROM "ExecutionRollup") AS hourly, (SELECT count(*) FROM "ExecutionRollupDaily") AS daily`;

    // 6. Percentiles from the API against PostgreSQL's over the raw rows (busiest five patterns, 30 days).
    const accuracy: Array<{ pattern: string; runs: number; apiRuns: number; quantile: string; api: number; exact: number; error: number }> = [];
    if (!options.rollupsOnly) {
      for (const target of patterns.slice(0, 5)) {
        const from = windowStart('LAST_30D')!;
        const data = await gql(service.base, PATTERN_STATS, { id: target.toolId });
        const stats = (data.toolById.capabilities as Array<{ patterns: Array<{ name: string; executionStats: any }> }>)
          .flatMap((c) => c.patterns)
          .find((p) => p.name === target.pattern)!.executionStats;
        if (windowStart('LAST_30D')!.getTime() !== from.getTime()) continue;
        const [exact] = await db.prisma.$queryRaw<Array<{ runs: bigint; q: number[] }>>`
          SELECT count(*) AS runs, percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY "durationMs") AS q
          FROM "ToolExecution" WHERE "patternId" = ${target.patternId}::uuid AND "startedAt" >= ${from}`;
        ['p50', 'p95', 'p99'].forEach((q, k) => {
          const value = exact!.q[k]!;
          accuracy.push({ pattern: `${target.capability}/${target.pattern}`, runs: Number(exact!.runs), apiRuns: stats.runs, quantile: q, api: stats.durationMs[q], exact: value, error: Math.abs(stats.durationMs[q] - value) / value });
        });
      }
    }
    const worstError = accuracy.length ? Math.max(...accuracy.map((a) => a.error)) : null;
    const countsMatch = accuracy.every((a) => a.runs === a.apiRuns);

    const env = runEnvironment(started);
    const version = await serverVersion(options.postgresUrl);
    const stored = Number(sizes!.runs);
    const throughputColumns: Array<Column<Throughput>> = [
      { title: 'path', value: (r) => r.path },
      { title: 'runs', value: (r) => String(r.runs), right: true },
      { title: 'accepted', value: (r) => String(r.accepted), right: true },
      { title: 'seconds', value: (r) => r.seconds.toFixed(2), right: true },
      { title: 'runs/s', value: (r) => Math.round(r.runsPerSecond).toLocaleString('en'), right: true },
    ];
    const reads = [
      { read: `Pattern.executionStats(LAST_30D), one pattern (API, cache warm)`, ...patternStats },
      { read: 'Pattern.executionStats(LAST_30D), one pattern (API, right after a report to it)', ...patternAfter },
      { read: 'Pattern.executionStats(LAST_30D), one pattern (in-process, cold cache)', ...coldPattern },
      { read: 'Tool.executionStats(LAST_30D), one version (API)', ...toolStats },
      { read: 'driftingPatterns(LAST_30D, first: 20), whole catalog (API, cache warm)', ...drifting30 },
      { read: 'driftingPatterns(LAST_30D, first: 20), whole catalog (API, right after a report)', ...driftingAfter },
      { read: 'driftingPatterns(LAST_30D), whole catalog (in-process, cold cache)', ...coldDrifting },
      { read: 'driftingPatterns(LAST_7D, first: 20), whole catalog (API, cache warm)', ...drifting7 },
    ];
    const readColumns: Array<Column<(typeof reads)[number]>> = [
      { title: 'read', value: (r) => r.read },
      { title: 'samples', value: (r) => String(r.count), right: true },
      { title: 'median ms', value: (r) => String(r.median), right: true },
      { title: 'p99 ms', value: (r) => String(r.p99), right: true },
      { title: 'max ms', value: (r) => String(r.max), right: true },
    ];
    const met = (ok: boolean | null) => (ok === null ? 'n/a' : ok ? 'met' : 'MISSED');
    const goals = [
      { goal: 'Ingestion through NDJSON', target: '≥ 20,000 runs/s', measured: `${Math.round(ndjson.runsPerSecond).toLocaleString('en')} runs/s`, verdict: met(ndjson.runsPerSecond >= 20_000) },
      { goal: `Ingestion through the mutation (batches of ${options.batch})`, target: '≥ 10,000 runs/s', measured: `${Math.round(mutation.runsPerSecond).toLocaleString('en')} runs/s`, verdict: met(mutation.runsPerSecond >= 10_000) },
      { goal: `executionStats, one pattern, 30 days, ${stored.toLocaleString('en')} runs stored`, target: 'p99 < 50 ms', measured: `p99 ${patternStats.p99} ms (after a report: ${patternAfter.p99}; cold: ${coldPattern.p99})`, verdict: met((patternStats.p99 ?? Infinity) < 50) },
      { goal: `driftingPatterns, whole catalog (${patterns.length} patterns, 30 days)`, target: 'p99 < 50 ms', measured: `p99 ${drifting30.p99} ms (after a report: ${driftingAfter.p99}; cold: ${coldDrifting.p99})`, verdict: met((drifting30.p99 ?? Infinity) < 50) },
      {
        goal: 'Percentiles against percentile_cont over the raw rows',
        target: 'within 2 %',
        measured: worstError === null ? 'not checked (--rollups-only)' : `worst ${(worstError * 100).toFixed(3)} % over ${accuracy.length} figures; counts ${countsMatch ? 'equal' : 'DIFFER'}`,
        verdict: met(worstError === null ? null : worstError <= 0.02 && countsMatch),
      },
      { goal: `Concurrent retries (${retry.runsSent} runs sent again)`, target: '0 duplicate rows', measured: `${retry.rowsAdded} rows added, ${retry.duplicateRows} duplicate rows`, verdict: met(retry.rowsAdded === 0 && retry.duplicateRows === 0) },
    ];
    const goalColumns: Array<Column<(typeof goals)[number]>> = [
      { title: 'goal', value: (r) => r.goal },
      { title: 'target', value: (r) => r.target },
      { title: 'measured', value: (r) => r.measured },
      { title: '', value: (r) => r.verdict },
    ];
    const summary = `PostgreSQL ${version ?? '?'} at ${redact(options.postgresUrl)}; ${stored.toLocaleString('en')} runs stored (seeded in ${seedSeconds.toFixed(0)} s), ${sizes!.hourly} hourly and ${sizes!.daily} daily roll-up rows, ${driftingCount} drifting patterns; ${options.clients} clients per ingestion path`;
    console.log(`\n${summary}\n`);
    console.log(textTable(goalColumns, goals));
    console.log();
    console.log(textTable(throughputColumns, [mutation, ndjson]));
    console.log();
    console.log(textTable(readColumns, reads));
    mkdirSync(RESULTS_DIR, { recursive: true });
    const result = {
      environment: env,
      postgres: version,
      options: { ...options, postgresUrl: redact(options.postgresUrl) },
      stored: { runs: stored, hourlyRollups: Number(sizes!.hourly), dailyRollups: Number(sizes!.daily), seconds: seedSeconds },
      goals,
      ingestion: [mutation, ndjson].map(({ sent: _sent, ...r }) => r),
      retry,
      reads,
      accuracy,
    };
    writeFileSync(path.join(RESULTS_DIR, 'telemetry-latest.json'), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(
      path.join(RESULTS_DIR, 'telemetry-latest.md'),
      [
        '# Telemetry benchmark (npm run bench:telemetry)',
        '',
        environmentLine(env),
        '',
        `${summary}.`,
        '',
        markdownTable(goalColumns, goals),
        '',
        markdownTable(throughputColumns, [mutation, ndjson]),
        '',
        markdownTable(readColumns, reads),
        '',
      ].join('\n'),
    );
  } finally {
    await db.close();
    await service.stop();
  }
} finally {
  await database.drop();
}
