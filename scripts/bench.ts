// HTTP benchmark of the running service: prints figures, never asserts on time.
//
// Generates a catalog of --count tools (seed --seed) and imports it, before any server starts, into
// embedded PGlite (a data directory) and, when DATABASE_URL is set, into a fresh `tc_bench_<random>`
// database on that PostgreSQL server (dropped at the end). The service then runs as its own process
// (`node dist/src/server.js`, as `npm start` runs it, built first when stale; NODE_ENV=production, pinned with `taskset -c 0`) and an
// autocannon load generator as another (scripts/bench/loadgen.ts, `taskset -c 1`), for each cell:
//
//   cached-post      tool by name, response cache on, POST (cache filled with every tool first)
//   cached-get       the same over GET (no If-None-Match: plain 200s)
//   cold             tool by name on a freshly started cached server, each request the next of the
//                    --count tool names, so nearly every request is a cache miss
//   nocache-tool     tool by name, CACHE_ENABLED=false
//   nocache-tools20  tools(first: 20) with capabilities and patterns, cache off
//   nocache-search   tools(search: "net", first: 20), cache off
//   nocache-stats    catalogStats, cache off
//   select-vars      selectTools, new variables every request, cache off
//   select-unit      selectTools with a new unitId (and variables) every request, under a running
//                    experiment whose one arm pins an older version (scripts/bench/experiment-setup.ts)
//   assignment       assignment(experimentKey, unitId), a new unit every request, cache off
//   profiles         GET /profiles (the whole enabled catalog), cache off
//   profiles-graphql profiles(platform: "linux") over GraphQL, cache off
//   node-post/-get   baseline: plain node:http answering the captured cached response bytes
//   yoga-post        baseline: bare graphql-yoga with a static `tool: JSON` resolver, same bytes
//
// at each of --connections, for --duration seconds, in --rounds interleaved rounds (round 1 runs
// every cell, then round 2...). Medians per cell are reported. Per cell: req/s, p50/p99 latency,
// non-2xx, socket errors/timeouts, GraphQL errors, SQL statements per request and response-cache hit
// rate (from /metrics deltas), and the server's RSS (/proc/<pid>/status) after the cell.
// Each scenario gets --warmup seconds of unrecorded load on its server first (cold: on tool names
// that do not exist, so the real ones stay uncached), and after every run the bench waits until the
// server has answered everything still in flight, so no cell inherits another's backlog.
// PGlite locks its data directory, so only one service process runs at a time.
//
// Every uncached scenario is also reported as a ratio of its req/s to yoga-post's (the goals list).
// Writes bench/results/bench-<timestamp>.json and bench/results/bench-latest.md (with the goals).
//
//   npm run bench [-- --duration 5 --rounds 3 --connections 1,10,50 --count 5000]
import { Command } from 'commander';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateCatalog, generateTools } from './generate-catalog.js';
import type { LoadReply, LoadResult, LoadSpec } from './bench/loadgen.js';
import { importCatalogInto, runSetupCommand } from './bench/catalogImport.js';
import { PREFERENCES, SELECT_QUERY, selectBodies, selectVariables } from './bench/selectBodies.js';
import { createBenchDatabase, redact, serverVersion, type BenchDatabase } from './bench/postgres.js';
import { markdownTable, textTable, type Column } from './bench/tables.js';
import { choiceList, environmentLine, integer, integerList, progress, runEnvironment, startLine } from './bench/cli.js';
import { startServiceProcess } from './bench/service.js';
import { median } from './bench/stats.js';
import {
  captureTail,
  cpuSeconds,
  detectPinning,
  machineBusySeconds,
  killAllChildren,
  rssMb,
  spawnNode,
  stopChild,
  type Pinning,
} from './bench/processes.js';

const projectRoot = fileURLToPath(new URL('..', import.meta.url));
const RESULTS_DIR = path.join(projectRoot, 'bench', 'results');
const LOADGEN = path.join(projectRoot, 'scripts', 'bench', 'loadgen.ts');
const BASELINE = path.join(projectRoot, 'scripts', 'bench', 'baseline-server.ts');
const READY_TIMEOUT_MS = 120_000;
/** Beyond its own duration, how long a load-generator run may take before it is abandoned. */
const LOAD_SLACK_MS = 60_000;
const REQUEST_TIMEOUT_S = 10;
/** Idle time before each cell over which the service's own background statements are counted. */
const BACKGROUND_WINDOW_MS = 2_000;
/** Longest wait for a server to finish the requests a load run left in flight. */
const QUIESCE_LIMIT_MS = 300_000;

type DbKind = 'pglite' | 'postgres';
type ServerKind = 'cached' | 'cold' | 'nocache' | 'node' | 'yoga';
type ScenarioId =
  | 'cached-post'
  | 'cached-get'
  | 'cold'
  | 'nocache-tool'
  | 'nocache-tools20'
  | 'nocache-search'
  | 'nocache-stats'
  | 'select-vars'
  | 'select-unit'
  | 'assignment'
  | 'profiles'
  | 'profiles-graphql'
  | 'node-post'
  | 'node-get'
  | 'yoga-post';

interface Scenario {
  id: ScenarioId;
  title: string;
  server: ServerKind;
}

const SCENARIOS: Scenario[] = [
  { id: 'cached-post', title: 'tool by name, cached, POST', server: 'cached' },
  { id: 'cached-get', title: 'tool by name, cached, GET', server: 'cached' },
  { id: 'cold', title: 'tool by name, cold (every name once)', server: 'cold' },
  { id: 'nocache-tool', title: 'tool by name, cache off', server: 'nocache' },
  { id: 'nocache-tools20', title: 'tools first:20 nested, cache off', server: 'nocache' },
  { id: 'nocache-search', title: 'search "net" first:20, cache off', server: 'nocache' },
  { id: 'nocache-stats', title: 'catalogStats, cache off', server: 'nocache' },
  { id: 'select-vars', title: 'selectTools, different variables every request', server: 'nocache' },
  { id: 'select-unit', title: 'selectTools with a unitId under a running experiment, different unit every request', server: 'nocache' },
  { id: 'assignment', title: 'assignment(experimentKey, unitId), different unit every request', server: 'nocache' },
  { id: 'profiles', title: 'GET /profiles, whole catalog', server: 'nocache' },
  { id: 'profiles-graphql', title: 'profiles(platform: "linux") over GraphQL, cache off', server: 'nocache' },
  { id: 'node-post', title: 'baseline node:http POST', server: 'node' },
  { id: 'node-get', title: 'baseline node:http GET', server: 'node' },
  { id: 'yoga-post', title: 'baseline bare yoga POST', server: 'yoga' },
];

// ---------------------------------------------------------------------------------------------
// Queries

interface ToolRef {
  name: string;
  platform: string;
}

const toolByName = (t: ToolRef) =>
  `query ToolByName { tool(name: ${JSON.stringify(t.name)}, platform: ${JSON.stringify(t.platform)}) { name version description capabilities { name patterns { name timeEstimateMs costEstimate complexityScore } } } }`;
const bareToolQuery = (t: ToolRef) => `{ tool(name: ${JSON.stringify(t.name)}, platform: ${JSON.stringify(t.platform)}) }`;
const TOOLS_20 = 'query Tools { tools(first: 20) { totalCount edges { node { name platform version capabilities { name patterns { name timeEstimateMs } } } } } }';
const SEARCH = 'query Search { tools(search: "net", first: 20) { totalCount edges { node { name platform } } } }';
const STATS = 'query Stats { catalogStats { tools versions capabilities patterns } }';
const PROFILES = 'query Profiles { profiles(platform: "linux") }';
/** Distinct selection bodies: every request of a cell has variables no earlier one had (nothing to cache). */
const SELECT_BODIES = selectBodies(50_000);

/** The running experiment the experiment scenarios decide under (set up before any server starts). */
interface BenchExperiment {
  key: string;
  capability: string;
  platform: string;
}
const SELECT_UNIT =
  'query SelectUnit($request: SelectToolsInput!) { selectTools(request: $request) { revision stale ambiguous decisionId experiment { key arm outcome } ' +
  'candidates { rank score pattern capability tool { name platform version } estimate { timeMs cost } executionHint experiment { key arm } } ' +
  'excluded { pattern reason detail tool { name platform } } } }';
const ASSIGNMENT = 'query Assignment($key: String!, $unit: String!) { assignment(experimentKey: $key, unitId: $unit) { bucket inExperiment active arm { key tool { name version } } } }';
const experimentBodies = (experiment: BenchExperiment) => ({
  select: Array.from({ length: 50_000 }, (_, i) =>
    JSON.stringify({
      query: SELECT_UNIT,
      variables: {
        request: {
          capability: experiment.capability,
          platform: experiment.platform,
          unitId: `bench-unit-${i}`,
          preference: PREFERENCES[i % PREFERENCES.length],
          variables: selectVariables(i),
          limit: 5,
        },
      },
    }),
  ),
  assignment: Array.from({ length: 50_000 }, (_, i) => JSON.stringify({ query: ASSIGNMENT, variables: { key: experiment.key, unit: `bench-unit-${i}` } })),
});
let benchBodies: ReturnType<typeof experimentBodies> | undefined;

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };
const GET_HEADERS = { accept: 'application/json', 'x-graphql-yoga-csrf': '1' };

type RequestSpec = Pick<LoadSpec, 'method' | 'path' | 'headers' | 'body' | 'bodies' | 'offset' | 'checkGraphQLErrors'>;

const post = (query: string): RequestSpec => ({ method: 'POST', path: '/graphql', headers: JSON_HEADERS, body: JSON.stringify({ query }), checkGraphQLErrors: true });
const get = (query: string): RequestSpec => ({ method: 'GET', path: `/graphql?query=${encodeURIComponent(query)}`, headers: GET_HEADERS, checkGraphQLErrors: true });

function requestFor(id: ScenarioId, tool: ToolRef, all: ToolRef[]): RequestSpec {
  switch (id) {
    case 'cached-post':
    case 'nocache-tool':
    case 'node-post':
      return post(toolByName(tool));
    case 'cached-get':
    case 'node-get':
      return get(toolByName(tool));
    case 'yoga-post':
      return post(bareToolQuery(tool));
    case 'cold':
      return { ...post(toolByName(tool)), body: undefined, bodies: all.map((t) => JSON.stringify({ query: toolByName(t) })), offset: 0 };
    case 'nocache-tools20':
      return post(TOOLS_20);
    case 'nocache-search':
      return post(SEARCH);
    case 'nocache-stats':
      return post(STATS);
    case 'select-vars':
      return { ...post(SELECT_QUERY), body: SELECT_BODIES[0], bodies: SELECT_BODIES, offset: 0 };
    case 'select-unit':
      return { ...post(SELECT_UNIT), body: benchBodies!.select[0], bodies: benchBodies!.select, offset: 0 };
    case 'assignment':
      return { ...post(ASSIGNMENT), body: benchBodies!.assignment[0], bodies: benchBodies!.assignment, offset: 0 };
    case 'profiles':
      return { method: 'GET', path: '/profiles', headers: { accept: 'application/json' }, checkGraphQLErrors: false };
    case 'profiles-graphql':
      return post(PROFILES);
  }
}

// ---------------------------------------------------------------------------------------------
// Figures

interface CellRun {
  round: number;
  scenario: ScenarioId;
  database: DbKind | null;
  connections: number;
  reqPerSec: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  graphqlErrors: number;
  sqlPerRequest: number | null;
  cacheHitRate: number | null;
  rssMb: number | null;
  /** Server CPU time ÷ cell wall time (1 = one core); load generator likewise. */
  serverCpu: number | null;
  loadgenCpu: number | null;
  /** Busy CPU of the whole machine minus server and load generator ÷ wall time: other work (and kernel networking). */
  otherCpu: number | null;
  statusCodes: Record<string, number>;
  /** /metrics deltas around the cell (after the server finished the cell's requests). */
  metrics: MetricsDelta | null;
  load: LoadResult | null;
  failure?: string;
}

interface CellMedian {
  scenario: ScenarioId;
  database: DbKind | null;
  connections: number;
  rounds: number;
  reqPerSec: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  /** Summed over the rounds. */
  non2xx: number;
  errors: number;
  timeouts: number;
  graphqlErrors: number;
  failures: number;
  sqlPerRequest: number | null;
  cacheHitRate: number | null;
  rssMb: number | null;
  serverCpu: number | null;
  loadgenCpu: number | null;
  otherCpu: number | null;
}

/** Caches that answer whole responses: the HTTP front door's and Yoga's response cache. */
const RESPONSE_CACHES = ['http', 'response'];

interface MetricsSnapshot {
  /** SQL statements, all kinds. */
  statements: number;
  /** GraphQL HTTP requests answered (graphql_yoga_http_duration count, cached answers included). */
  answered: number;
  /** Per cache label. */
  caches: Record<string, { hits: number; misses: number; entries: number | null }>;
}

async function scrapeMetrics(base: string): Promise<MetricsSnapshot> {
  // Generous: a server still working through a backlog (PGlite blocks its event loop) answers late.
  const response = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(60_000) });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  const snapshot: MetricsSnapshot = { statements: 0, answered: 0, caches: {} };
  for (const line of text.split('\n')) {
    const match = /^(\w+)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const [, name, labels = '', raw] = match;
    const value = Number(raw);
    if (name === 'tool_catalog_db_statements_total') snapshot.statements += value;
    else if (name === 'graphql_yoga_http_duration_count') snapshot.answered += value;
    else if (name?.startsWith('tool_catalog_cache_')) {
      const label = /(?:^|,)cache="([^"]*)"/.exec(labels)?.[1];
      if (!label) continue;
      const cache = (snapshot.caches[label] ??= { hits: 0, misses: 0, entries: null });
      if (name === 'tool_catalog_cache_hits_total') cache.hits = value;
      else if (name === 'tool_catalog_cache_misses_total') cache.misses = value;
      else if (name === 'tool_catalog_cache_entries') cache.entries = value;
    }
  }
  return snapshot;
}

interface MetricsDelta {
  statements: number;
  answered: number;
  caches: Record<string, { hits: number; misses: number }>;
  /** Requests answered from a whole-response cache ÷ requests answered; null without such a cache. */
  hitRate: number | null;
}

function metricsDelta(before: MetricsSnapshot, after: MetricsSnapshot): MetricsDelta {
  const caches: MetricsDelta['caches'] = {};
  for (const [label, c] of Object.entries(after.caches)) {
    caches[label] = { hits: c.hits - (before.caches[label]?.hits ?? 0), misses: c.misses - (before.caches[label]?.misses ?? 0) };
  }
  const answered = after.answered - before.answered;
  const present = RESPONSE_CACHES.filter((label) => caches[label]);
  const hits = present.reduce((sum, label) => sum + caches[label]!.hits, 0);
  return {
    statements: after.statements - before.statements,
    answered,
    caches,
    hitRate: present.length && answered > 0 ? Math.min(1, Math.round((hits / answered) * 10000) / 10000) : null,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until the server has finished what the last load run left in flight (a stopped load
 * generator closes its sockets, but the server still works through the requests it had): until
 * it has answered every request sent since `before`, or nothing moved for `stableMs`; at most
 * QUIESCE_LIMIT_MS. Returns the last snapshot, and whether the server was seen idle.
 */
async function quiesce(server: { base: string; metrics: boolean }, before: MetricsSnapshot | null, sent: number, stableMs: number): Promise<MetricsSnapshot | null> {
  if (!server.metrics) {
    await sleep(200);
    return null;
  }
  const deadline = performance.now() + QUIESCE_LIMIT_MS;
  let last: MetricsSnapshot | null = null;
  let stableSince = performance.now();
  while (performance.now() < deadline) {
    const next = await scrapeMetrics(server.base).catch(() => null);
    if (next) {
      if (before && next.answered - before.answered >= sent) return next;
      if (!last || next.answered !== last.answered || next.statements !== last.statements) stableSince = performance.now();
      else if (performance.now() - stableSince >= stableMs) return next;
      last = next;
    }
    await sleep(100);
  }
  progress(`server at ${server.base} still busy after ${QUIESCE_LIMIT_MS / 1000} s; going on`);
  return last ?? (await scrapeMetrics(server.base));
}

/** How long "nothing moved" must last to count as idle: three times the run's p99, 1–30 s. */
function stableWindowMs(load: LoadResult): number {
  return load.latency ? Math.min(30_000, Math.max(1_000, 3 * load.latency.p99)) : 30_000;
}

// ---------------------------------------------------------------------------------------------
// Processes: the load generator, the service, the baselines

class LoadGenerator {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private pending = new Map<number, { resolve: (r: LoadResult) => void; reject: (e: Error) => void }>();

  constructor(private readonly core: number | null) {}

  private ensure(): ChildProcess {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) return this.child;
    const child = spawnNode(['--import', 'tsx', LOADGEN], this.core, { cwd: projectRoot, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.on('message', (message: LoadReply) => {
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if ('result' in message) waiter.resolve(message.result);
      else waiter.reject(new Error(`load generator: ${message.error}`));
    });
    child.on('exit', (code, signal) => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`load generator exited (${code ?? signal})`));
      this.pending.clear();
    });
    this.child = child;
    return child;
  }

  run(spec: LoadSpec): Promise<LoadResult> {
    const child = this.ensure();
    const id = this.nextId++;
    const limitMs = (spec.durationS ?? 0) * 1000 + LOAD_SLACK_MS + (spec.amount ? 10 * 60_000 : 0);
    return new Promise<LoadResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`load generator gave no answer within ${Math.round(limitMs / 1000)} s; restarted`));
        child.kill('SIGKILL');
      }, limitMs);
      this.pending.set(id, {
        resolve: (r) => (clearTimeout(timer), resolve(r)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      child.send({ id, spec });
    });
  }

  async close() {
    if (this.child) await stopChild(this.child, 'SIGTERM', 5_000);
  }
}

interface DbTarget {
  kind: DbKind;
  /** DATA_DIR or DATABASE_URL for the service and the import. */
  env: Record<string, string>;
  describe: Record<string, unknown>;
}

interface Running {
  label: string;
  child: ChildProcess;
  base: string;
  startMs: number;
  /** Has /metrics with the catalog's counters. */
  metrics: boolean;
  stop(): Promise<void>;
}

/** Extra node/V8 flags for the service process (--node-flags), e.g. a heap cap to trade speed for memory. */
let serviceNodeFlags: string[] = [];

async function startService(target: DbTarget, cache: boolean, pin: Pinning): Promise<Running> {
  const label = `${target.kind} service (cache ${cache ? 'on' : 'off'})`;
  const service = await startServiceProcess({
    label,
    nodeFlags: serviceNodeFlags,
    core: pin.serverCore,
    readyTimeoutMs: READY_TIMEOUT_MS,
    env: { NODE_ENV: 'production', LOG_LEVEL: 'warn', SEED_ON_EMPTY: 'false', CACHE_ENABLED: String(cache), ...target.env },
  });
  return { label, child: service.child, base: service.base, startMs: service.startMs, metrics: true, stop: service.stop };
}

async function startBaseline(kind: 'node' | 'yoga', capturedFile: string, pin: Pinning): Promise<Running> {
  const label = `baseline ${kind}`;
  const started = performance.now();
  const child = spawnNode(['--import', 'tsx', BASELINE, kind, '0', capturedFile], pin.serverCore, { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const tail = captureTail(child);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} did not listen within ${READY_TIMEOUT_MS / 1000} s\n${tail()}`)), READY_TIMEOUT_MS);
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const port = /\{"listening":(\d+)\}/.exec(buffer)?.[1];
      if (port) {
        clearTimeout(timer);
        resolve(Number(port));
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited (${code}) before listening\n${tail()}`));
    });
  }).catch(async (error: unknown) => {
    await stopChild(child, 'SIGKILL');
    throw error;
  });
  return {
    label,
    child,
    base: `http://127.0.0.1:${port}`,
    startMs: Math.round(performance.now() - started),
    metrics: false,
    stop: async () => {
      await stopChild(child, 'SIGTERM', 5_000);
    },
  };
}

/** One request outside the load generator: status, body text, content type. */
async function send(base: string, request: RequestSpec): Promise<{ status: number; body: string; contentType: string }> {
  const response = await fetch(`${base}${request.path}`, {
    method: request.method,
    headers: request.headers,
    body: request.method === 'POST' ? request.body : undefined,
    signal: AbortSignal.timeout(30_000),
  });
  return { status: response.status, body: await response.text(), contentType: response.headers.get('content-type') ?? '' };
}

/** A problem with one response of a GraphQL scenario, or null when it looks right. */
function probeProblem(answer: { status: number; body: string }, scenario?: ScenarioId): string | null {
  if (answer.status !== 200) return `HTTP ${answer.status}: ${answer.body.slice(0, 200)}`;
  if (scenario === 'profiles') {
    const parsed = JSON.parse(answer.body) as { tools?: Record<string, unknown> };
    return parsed.tools && Object.keys(parsed.tools).length ? null : `no tools: ${answer.body.slice(0, 200)}`;
  }
  try {
    const parsed = JSON.parse(answer.body) as { data?: Record<string, unknown> | null; errors?: unknown[] };
    if (parsed.errors?.length) return `GraphQL errors: ${JSON.stringify(parsed.errors).slice(0, 300)}`;
    if (!parsed.data || Object.values(parsed.data).some((v) => v === null)) return `null data: ${answer.body.slice(0, 200)}`;
    // The experiment scenarios measure nothing unless the running experiment was consulted.
    if (scenario === 'select-unit' && !(parsed.data.selectTools as { experiment?: { key?: string } }).experiment?.key) return `the experiment was not consulted: ${answer.body.slice(0, 300)}`;
    if (scenario === 'assignment' && typeof (parsed.data.assignment as { bucket?: unknown }).bucket !== 'number') return `no bucket: ${answer.body.slice(0, 200)}`;
  } catch {
    return `not JSON: ${answer.body.slice(0, 200)}`;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Output

const COLUMNS: Array<Column<CellMedian>> = [
  { title: 'scenario', value: (m) => m.scenario },
  { title: 'database', value: (m) => m.database ?? '—' },
  { title: 'conn', value: (m) => String(m.connections), right: true },
  { title: 'req/s', value: (m) => fmt(m.reqPerSec, 0), right: true },
  { title: 'p50 ms', value: (m) => fmt(m.p50Ms, 2), right: true },
  { title: 'p99 ms', value: (m) => fmt(m.p99Ms, 2), right: true },
  { title: 'non-2xx', value: (m) => String(m.non2xx), right: true },
  { title: 'err/timeouts', value: (m) => `${m.errors}/${m.timeouts}`, right: true },
  { title: 'gql errors', value: (m) => String(m.graphqlErrors), right: true },
  { title: 'SQL/req', value: (m) => fmt(m.sqlPerRequest, 2), right: true },
  { title: 'hit rate', value: (m) => (m.cacheHitRate === null ? '—' : `${(m.cacheHitRate * 100).toFixed(1)}%`), right: true },
  { title: 'RSS MB', value: (m) => fmt(m.rssMb, 0), right: true },
  { title: 'srv CPU', value: (m) => pct(m.serverCpu), right: true },
  { title: 'gen CPU', value: (m) => pct(m.loadgenCpu), right: true },
  { title: 'other CPU', value: (m) => pct(m.otherCpu), right: true },
];

function fmt(value: number | null, digits: number): string {
  return value === null ? '—' : value.toFixed(digits);
}

function pct(value: number | null): string {
  return value === null ? '—' : `${Math.round(value * 100)}%`;
}

interface Goal {
  database: DbKind;
  goal: string;
  value: number | null;
  shown: string;
  target: string;
  met: boolean | null;
}

/** Uncached scenarios reported as a ratio to the bare-Yoga baseline, with the issue's target where it sets one. */
const UNCACHED_RATIO_GOALS: Array<[ScenarioId, string, number | null]> = [
  ['nocache-tool', '≥ 0.6', 0.6],
  ['nocache-tools20', '≥ 0.35', 0.35],
  ['nocache-search', '≥ 0.3', 0.3],
  ['nocache-stats', '≥ 0.3', 0.3],
  ['select-vars', 'reported', null],
  ['profiles-graphql', 'reported', null],
  ['profiles', 'reported', null],
];

function computeGoals(medians: CellMedian[], databases: DbKind[], level: number, count: number, fullCacheRss: Record<string, number | null>): Goal[] {
  const cell = (scenario: ScenarioId, database: DbKind | null) =>
    medians.find((m) => m.scenario === scenario && m.database === database && m.connections === level);
  const ratio = (a: number | null | undefined, b: number | null | undefined) => (a == null || b == null || b === 0 ? null : a / b);
  const goals: Goal[] = [];
  const add = (database: DbKind, goal: string, value: number | null | undefined, shown: (v: number) => string, target: string, ok: (v: number) => boolean) =>
    goals.push({ database, goal, value: value ?? null, shown: value == null ? 'n/a' : shown(value), target, met: value == null ? null : ok(value) });
  /** A latency goal for a cell that got no 2xx answer at all within its duration: not met. */
  const latency = (database: DbKind, goal: string, m: CellMedian | undefined, target: string, ok: (v: number) => boolean) => {
    if (m && m.p99Ms === null && m.reqPerSec === 0) goals.push({ database, goal, value: null, shown: 'no 2xx answer within the cell', target, met: false });
    else add(database, goal, m?.p99Ms, ms, target, ok);
  };
  const x = (v: number) => `${v.toFixed(2)}×`;
  const ms = (v: number) => `${v.toFixed(2)} ms`;
  for (const db of databases) {
    const cachedPost = cell('cached-post', db);
    const cachedGet = cell('cached-get', db);
    const noCache = cell('nocache-tool', db);
    const tools20 = cell('nocache-tools20', db);
    const cold = cell('cold', db);
    add(db, 'cached tool-by-name POST req/s ÷ node:http POST req/s', ratio(cachedPost?.reqPerSec, cell('node-post', null)?.reqPerSec), x, '≥ 0.25', (v) => v >= 0.25);
    add(db, 'cached tool-by-name GET req/s ÷ node:http GET req/s', ratio(cachedGet?.reqPerSec, cell('node-get', null)?.reqPerSec), x, '≥ 0.5', (v) => v >= 0.5);
    const cachedSql = [cachedPost?.sqlPerRequest, cachedGet?.sqlPerRequest].filter((v): v is number => v != null);
    add(db, 'SQL statements per cached request (POST and GET, the larger)', cachedSql.length ? Math.max(...cachedSql) : null, (v) => v.toFixed(3), '= 0', (v) => v === 0);
    add(db, 'cache-off tool-by-name SQL statements per request', noCache?.sqlPerRequest, (v) => v.toFixed(2), '≤ 2', (v) => v <= 2);
    add(db, 'cache-off tool-by-name req/s', noCache?.reqPerSec, (v) => v.toFixed(0), '≥ 600', (v) => v >= 600);
    latency(db, 'cache-off tool-by-name p99', noCache, '< 50 ms', (v) => v < 50);
    add(db, 'tools first:20 nested (cache off) req/s', tools20?.reqPerSec, (v) => v.toFixed(0), '≥ 300', (v) => v >= 300);
    latency(db, 'tools first:20 nested (cache off) p99', tools20, '< 100 ms', (v) => v < 100);
    add(db, 'warm (cached POST) p99 ÷ cold p99', ratio(cachedPost?.p99Ms, cold?.p99Ms), x, '≤ 0.33 (one third)', (v) => v <= 1 / 3);
    add(db, `service RSS with ${count} tools and a full response cache`, fullCacheRss[db], (v) => `${v.toFixed(0)} MB`, '≤ 300 MB', (v) => v <= 300);
    const select = cell('select-vars', db);
    add(db, 'selectTools (new variables every request) req/s', select?.reqPerSec, (v) => v.toFixed(0), '≥ 1,500', (v) => v >= 1500);
    latency(db, 'selectTools p99', select, '< 20 ms', (v) => v < 20);
    add(db, 'selectTools SQL statements per request', select?.sqlPerRequest, (v) => v.toFixed(3), '= 0', (v) => v === 0);
    // Issue 16: with a unitId under a running experiment, and assignment, the same goal as selectTools.
    const selectUnit = cell('select-unit', db);
    add(db, 'selectTools with unitId (running experiment) req/s', selectUnit?.reqPerSec, (v) => v.toFixed(0), '≥ 1,500', (v) => v >= 1500);
    latency(db, 'selectTools with unitId p99', selectUnit, '< 20 ms', (v) => v < 20);
    add(db, 'selectTools with unitId SQL statements per request', selectUnit?.sqlPerRequest, (v) => v.toFixed(3), '= 0', (v) => v === 0);
    const assignment = cell('assignment', db);
    add(db, 'assignment req/s', assignment?.reqPerSec, (v) => v.toFixed(0), '≥ 1,500', (v) => v >= 1500);
    latency(db, 'assignment p99', assignment, '< 20 ms', (v) => v < 20);
    add(db, 'assignment SQL statements per request', assignment?.sqlPerRequest, (v) => v.toFixed(3), '= 0', (v) => v === 0);
    add(db, 'GET /profiles (whole catalog) req/s', cell('profiles', db)?.reqPerSec, (v) => v.toFixed(0), '≥ 200', (v) => v >= 200);
    // Every uncached scenario as a ratio to bare Yoga answering the same tool bytes from a static
    // resolver: what the service costs beyond GraphQL over HTTP itself (issue 14's goals).
    const yoga = cell('yoga-post', null)?.reqPerSec;
    for (const [scenario, target, minimum] of UNCACHED_RATIO_GOALS) {
      const title = SCENARIOS.find((s) => s.id === scenario)!.title;
      add(db, `${title}: req/s ÷ bare Yoga req/s`, ratio(cell(scenario, db)?.reqPerSec, yoga), x, target, (v) => (minimum === null ? true : v >= minimum));
    }
  }
  return goals;
}

function goalLines(goals: Goal[], level: number, markdown: boolean): string[] {
  const mark = (g: Goal) => (g.value !== null && g.target === 'reported' ? 'figure' : g.met === null ? 'n/a (not measured)' : g.met ? 'met' : 'NOT MET');
  if (!markdown) return goals.map((g) => `  [${g.database}] ${g.goal}: ${g.shown} (goal ${g.target}) — ${mark(g)}`);
  return [
    `Medians at ${level} connections (RSS: see below).`,
    '',
    '| database | goal | value | target | result |',
    '| --- | --- | ---: | --- | --- |',
    ...goals.map((g) => `| ${g.database} | ${g.goal} | ${g.shown} | ${g.target} | ${mark(g)} |`),
  ];
}

// ---------------------------------------------------------------------------------------------
// Main

interface Options {
  duration: number;
  rounds: number;
  connections: number[];
  count: number;
  seed: number;
  /** A legacy corpus imported beside the generated catalog; false with --no-legacy. */
  legacy: string | false;
  warmup: number;
  scenarios?: ScenarioId[];
  databases?: DbKind[];
  pin: boolean;
  keep: boolean;
  nodeFlags: string;
}

/** Creates and starts the experiment the experiment scenarios decide under (scripts/bench/experiment-setup.ts). */
async function setUpExperiment(target: DbTarget, capability: string): Promise<BenchExperiment> {
  const { output } = await runSetupCommand(`experiment set-up in ${target.kind}`, ['--import', 'tsx', 'scripts/bench/experiment-setup.ts', capability], target.env);
  const line = output.split('\n').reverse().find((l) => l.startsWith('{'));
  if (!line) throw new Error(`experiment set-up in ${target.kind} printed no experiment:\n${output.split('\n').slice(-15).join('\n')}`);
  return JSON.parse(line) as BenchExperiment;
}

async function main() {
  const program = new Command()
    .name('bench')
    .description('HTTP benchmark of the service (PGlite; PostgreSQL too when DATABASE_URL is set) against node:http and bare yoga baselines')
    .option('--duration <s>', 'seconds per cell', integer('--duration'), 5)
    .option('--rounds <n>', 'interleaved rounds (medians reported)', integer('--rounds'), 3)
    .option('--connections <list>', 'concurrent connections, comma-separated', integerList('--connections'), [1, 10, 50])
    .option('--count <n>', 'tools in the generated catalog', integer('--count'), 5000)
    .option('--seed <n>', 'seed of the generated catalog', integer('--seed', 0), 42)
    .option('--legacy <dir>', 'also import this legacy corpus (what selectTools ranks in the issue\'s goal)', path.join(projectRoot, '..', 'shared', 'legacy-catalog'))
    .option('--no-legacy', 'import only the generated catalog')
    .option('--warmup <s>', 'seconds of unrecorded load before each scenario on a server (0: none; cold warms up on names that do not exist)', integer('--warmup', 0), 2)
    .option('--scenarios <list>', `only these scenarios (${SCENARIOS.map((s) => s.id).join(', ')})`, choiceList('--scenarios', SCENARIOS.map((s) => s.id)))
    .option('--databases <list>', 'only these databases (pglite, postgres; default: pglite, and postgres when DATABASE_URL is set)', choiceList('--databases', ['pglite', 'postgres'] as const))
    .option('--no-pin', 'do not pin servers and load generator to separate cores')
    .option('--keep', 'keep the generated catalog and PGlite data directory and print their path', false)
    .option('--node-flags <flags>', 'node/V8 flags for the service process, e.g. "--max-old-space-size=160"', '')
    .parse();
  const opts = program.opts<Options>();
  serviceNodeFlags = opts.nodeFlags.split(/\s+/).filter(Boolean);
  const scenarios = SCENARIOS.filter((s) => !opts.scenarios || opts.scenarios.includes(s.id));
  const selected = (server: ServerKind) => scenarios.filter((s) => s.server === server);

  const serverUrl = process.env.DATABASE_URL || undefined;
  const kinds: DbKind[] = opts.databases ?? (serverUrl ? ['pglite', 'postgres'] : ['pglite']);
  if (kinds.includes('postgres') && !serverUrl) throw new Error('--databases postgres needs DATABASE_URL');
  const pin = detectPinning(!opts.pin);
  const level = opts.connections.includes(10) ? 10 : opts.connections[Math.floor(opts.connections.length / 2)]!;

  const started = new Date();
  console.log(startLine('bench', started));
  console.log(
    `databases: ${kinds.join(', ')}${serverUrl && kinds.includes('postgres') ? ` (${redact(serverUrl)})` : ''}  ·  ${opts.rounds} round(s) × ${opts.duration} s per cell  ·  connections ${opts.connections.join(',')}  ·  pinning: ${pin.reason}`,
  );

  const workDir = mkdtempSync(path.join(os.tmpdir(), 'tc-bench-http-'));
  const catalogDir = path.join(workDir, 'catalog');
  const cleanups: Array<() => Promise<void>> = [];
  const loadgen = new LoadGenerator(pin.loadCore);
  const notes: string[] = [];
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    killAllChildren();
    for (const fn of cleanups.reverse()) await fn().catch((error: unknown) => console.error(`cleanup: ${(error as Error).message}`));
    if (opts.keep) console.log(`kept ${workDir}`);
    else rmSync(workDir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`\nbench: ${signal}; stopping children and cleaning up`);
    const force = setTimeout(() => process.exit(130), 20_000);
    force.unref();
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    // ---- corpus and databases
    const generateStart = performance.now();
    const generated = generateCatalog({ outDir: catalogDir, count: opts.count, seed: opts.seed });
    const tools: ToolRef[] = [...generateTools(opts.count, opts.seed)].map((t) => ({ name: t.name, platform: t.platform }));
    const tool = tools[0]!;
    const warmUpCold: RequestSpec = {
      ...post(toolByName(tool)),
      body: undefined,
      bodies: Array.from({ length: 1000 }, (_, i) => JSON.stringify({ query: toolByName({ name: `bench-warm-up-${i}`, platform: tool.platform }) })),
    };
    console.log(
      `generated ${generated.files} tools (${generated.capabilities} capabilities, ${generated.patterns} patterns, seed ${opts.seed}) in ${Math.round(performance.now() - generateStart)} ms; tool by name: ${tool.name} (${tool.platform})`,
    );

    const targets: DbTarget[] = [];
    for (const kind of kinds) {
      if (kind === 'pglite') {
        const dataDir = path.join(workDir, 'pglite');
        targets.push({ kind, env: { DATA_DIR: dataDir }, describe: { dataDir: opts.keep ? dataDir : '(temporary directory)' } });
      } else {
        const created: BenchDatabase = await createBenchDatabase(serverUrl!);
        cleanups.push(() => created.drop());
        targets.push({ kind, env: { DATABASE_URL: created.url }, describe: { server: redact(serverUrl!), serverVersion: await serverVersion(serverUrl!), database: created.name } });
      }
    }
    const imports: Record<string, { ms: number; summary: string }> = {};
    for (const target of targets) {
      progress(`importing ${opts.count} tools into ${target.kind}…`);
      imports[target.kind] = await importCatalogInto(target.kind, target.env, catalogDir);
      progress(`imported into ${target.kind} in ${(imports[target.kind]!.ms / 1000).toFixed(1)} s: ${imports[target.kind]!.summary}`);
      if (opts.legacy && existsSync(opts.legacy)) {
        // --partial: a generated tool that happens to share a legacy tool's name and platform must not stop the run.
        const legacy = await importCatalogInto(target.kind, target.env, opts.legacy, ['--partial']);
        imports[`${target.kind} legacy`] = legacy;
        progress(`imported the legacy corpus into ${target.kind} in ${(legacy.ms / 1000).toFixed(1)} s: ${legacy.summary}`);
      }
      if (scenarios.some((s) => s.id === 'select-unit' || s.id === 'assignment')) {
        const experiment = await setUpExperiment(target, 'text_search');
        benchBodies ??= experimentBodies(experiment);
        progress(`${target.kind}: experiment ${experiment.key} running for ${experiment.capability} on ${experiment.platform}`);
      }
    }

    // ---- the cached response: captured once, compared everywhere
    const byteChecks: Record<string, boolean | string> = {};
    let captured: { body: string; contentType: string } | undefined;
    const startTimes: Array<{ label: string; round: number; ms: number }> = [];
    const sqlPerMiss: Record<string, number | null> = {};
    for (const target of targets) {
      const service = await startService(target, true, pin);
      try {
        const before = await scrapeMetrics(service.base);
        const first = await send(service.base, post(toolByName(tool)));
        const afterMiss = await scrapeMetrics(service.base);
        sqlPerMiss[target.kind] = afterMiss.statements - before.statements;
        const problem = probeProblem(first);
        if (problem) throw new Error(`${target.kind}: tool by name does not answer: ${problem}`);
        captured ??= { body: first.body, contentType: first.contentType };
        const hitPost = await send(service.base, post(toolByName(tool)));
        const hitGet = await send(service.base, get(toolByName(tool)));
        byteChecks[`${target.kind} first POST (miss)`] = first.body === captured.body;
        byteChecks[`${target.kind} cached POST`] = hitPost.body === captured.body;
        byteChecks[`${target.kind} cached GET`] = hitGet.status !== 200 ? `HTTP ${hitGet.status}` : hitGet.body === captured.body;
      } finally {
        await service.stop();
      }
    }
    const capturedFile = path.join(workDir, 'captured.json');
    writeFileSync(capturedFile, JSON.stringify(captured));
    console.log(`captured response: ${Buffer.byteLength(captured!.body)} bytes, ${captured!.contentType}; SQL statements for one miss: ${JSON.stringify(sqlPerMiss)}`);

    const baselines: Partial<Record<'node' | 'yoga', Running>> = {};
    for (const kind of ['node', 'yoga'] as const) {
      if (!selected(kind).length) continue;
      const running = await startBaseline(kind, capturedFile, pin);
      baselines[kind] = running;
      cleanups.push(() => running.stop());
    }
    if (baselines.node) {
      byteChecks['node:http POST'] = (await send(baselines.node.base, post(toolByName(tool)))).body === captured!.body;
      byteChecks['node:http GET'] = (await send(baselines.node.base, get(toolByName(tool)))).body === captured!.body;
    }
    if (baselines.yoga) byteChecks['bare yoga POST'] = (await send(baselines.yoga.base, post(bareToolQuery(tool)))).body === captured!.body;
    const byteLine = Object.entries(byteChecks).map(([k, v]) => `${k}: ${v === true ? 'identical' : v === false ? 'DIFFERENT' : v}`);
    console.log(`response bytes: ${byteLine.join('; ')}`);
    if (Object.values(byteChecks).some((v) => v !== true)) notes.push(`response bytes differ: ${byteLine.join('; ')}`);

    // ---- rounds
    const runs: CellRun[] = [];
    const fills: Array<Record<string, unknown>> = [];
    const fullCacheRssByRound: Record<string, Array<number | null>> = {};
    const probed = new Set<string>();

    const measure = async (round: number, scenario: Scenario, database: DbKind | null, server: Running, connections: number): Promise<CellRun> => {
      const request = requestFor(scenario.id, tool, tools);
      const spec: LoadSpec = { url: server.base, connections, durationS: opts.duration, timeoutS: REQUEST_TIMEOUT_S, ...request };
      const run: CellRun = {
        round, scenario: scenario.id, database, connections, reqPerSec: null, p50Ms: null, p99Ms: null, requests: 0, non2xx: 0,
        errors: 0, timeouts: 0, graphqlErrors: 0, sqlPerRequest: null, cacheHitRate: null, rssMb: null, serverCpu: null, loadgenCpu: null, otherCpu: null,
        statusCodes: {}, metrics: null, load: null,
      };
      try {
        // Statements the service sends on its own schedule (the change listener's LISTEN, roll-up
        // compaction) are not caused by requests: their rate over an idle window is taken off below.
        const idleStart = server.metrics ? await scrapeMetrics(server.base) : null;
        const idleStartedAt = performance.now();
        if (idleStart) await new Promise((resolve) => setTimeout(resolve, BACKGROUND_WINDOW_MS));
        const before = server.metrics ? await scrapeMetrics(server.base) : null;
        const measuredAt = performance.now();
        const backgroundPerMs = idleStart && before ? metricsDelta(idleStart, before).statements / (measuredAt - idleStartedAt) : 0;
        const cpuBefore = cpuSeconds(server.child.pid);
        const busyBefore = machineBusySeconds();
        const load = await loadgen.run(spec);
        const cpuAfter = cpuSeconds(server.child.pid);
        const busyAfter = machineBusySeconds();
        if (cpuBefore !== null && cpuAfter !== null) run.serverCpu = Math.round(((cpuAfter - cpuBefore) / load.durationS) * 100) / 100;
        if (run.serverCpu !== null && busyBefore !== null && busyAfter !== null) {
          // The load generator's own figure covers its run only; the machine's includes the IPC around it (small).
          run.otherCpu = Math.max(0, Math.round(((busyAfter - busyBefore) / load.durationS - run.serverCpu - load.cpu) * 100) / 100);
        }
        const after = await quiesce(server, before, load.sent, stableWindowMs(load));
        run.rssMb = rssMb(server.child.pid);
        Object.assign(run, {
          load, reqPerSec: load.reqPerSec, p50Ms: load.latency?.p50 ?? null, p99Ms: load.latency?.p99 ?? null, requests: load.requests,
          non2xx: load.non2xx, errors: load.errors, timeouts: load.timeouts, graphqlErrors: load.graphqlErrors, statusCodes: load.statusCodes,
          loadgenCpu: load.cpu,
        });
        if (before && after) {
          const delta = metricsDelta(before, after);
          run.metrics = delta;
          // Per request the server answered (requests still in flight when the run stopped included).
          const background = backgroundPerMs * (performance.now() - measuredAt);
          if (delta.answered > 0) run.sqlPerRequest = Math.round((Math.max(0, delta.statements - background) / delta.answered) * 1000) / 1000;
          run.cacheHitRate = delta.hitRate;
        }
      } catch (error) {
        run.failure = (error as Error).message;
      }
      const hit = run.cacheHitRate === null ? '' : `  hit ${(run.cacheHitRate * 100).toFixed(1)}%`;
      const sql = run.sqlPerRequest === null ? '' : `  SQL/req ${run.sqlPerRequest}`;
      const bad = run.non2xx || run.errors || run.graphqlErrors ? `  non-2xx ${run.non2xx} errors ${run.errors} gql ${run.graphqlErrors}` : '';
      progress(
        `[r${round} ${database ?? 'baseline'} ${scenario.id} c=${connections}] ` +
          (run.failure
            ? `FAILED: ${run.failure.split('\n')[0]}`
            : `${fmt(run.reqPerSec, 0)} req/s  p50 ${fmt(run.p50Ms, 2)}  p99 ${fmt(run.p99Ms, 2)} ms${sql}${hit}  RSS ${fmt(run.rssMb, 0)} MB  CPU server ${pct(run.serverCpu)} load ${pct(run.loadgenCpu)}${bad}`),
      );
      runs.push(run);
      return run;
    };

    /**
     * Unrecorded load before a scenario's cells on a server, so the cells measure a JIT-warm process.
     * For cold, tool names that do not exist: the same code path, and the real names stay uncached.
     */
    const warm = async (scenario: Scenario, server: Running) => {
      if (!opts.warmup) return;
      const request = scenario.id === 'cold' ? warmUpCold : requestFor(scenario.id, tool, tools);
      try {
        const before = server.metrics ? await scrapeMetrics(server.base) : null;
        const load = await loadgen.run({ url: server.base, connections: Math.min(10, Math.max(...opts.connections)), durationS: opts.warmup, timeoutS: REQUEST_TIMEOUT_S, ...request });
        await quiesce(server, before, load.sent, stableWindowMs(load));
      } catch (error) {
        notes.push(`warm-up of ${scenario.id} failed: ${(error as Error).message.split('\n')[0]}`);
      }
    };

    /** First time a scenario meets a server kind: one request, checked (status, no GraphQL errors, data). */
    const probe = async (scenario: Scenario, database: DbKind | null, server: Running) => {
      const key = `${scenario.id}/${database}`;
      if (probed.has(key) || scenario.id === 'cold') return;
      probed.add(key);
      const request = requestFor(scenario.id, tool, tools);
      const answer = await send(server.base, request).catch((error: unknown) => ({ status: 0, body: (error as Error).message, contentType: '' }));
      const problem = probeProblem(answer, scenario.id);
      if (problem) notes.push(`${database ?? 'baseline'} ${scenario.id}: ${problem}`);
      if (scenario.id === 'nocache-tool' && answer.body !== captured!.body) notes.push(`${database} nocache-tool: response bytes differ from the cached response`);
    };

    const startTracked = async (target: DbTarget, cache: boolean, round: number) => {
      const service = await startService(target, cache, pin);
      startTimes.push({ label: service.label, round, ms: service.startMs });
      return service;
    };

    for (let round = 1; round <= opts.rounds; round++) {
      progress(`round ${round} of ${opts.rounds}`);
      for (const target of targets) {
        // Cold: a freshly started cached server per connection count; the last one stays for the cached cells.
        let cachedServer: Running | undefined;
        try {
          if (selected('cold').length) {
            for (const connections of opts.connections) {
              if (cachedServer) await cachedServer.stop();
              cachedServer = await startTracked(target, true, round);
              await warm(selected('cold')[0]!, cachedServer);
              await measure(round, selected('cold')[0]!, target.kind, cachedServer, connections);
            }
          }
          if (selected('cached').length) {
            cachedServer ??= await startTracked(target, true, round);
            // Fill the response cache with every tool's answer, so cached cells run with a full cache.
            const fillStart = performance.now();
            const beforeFill = await scrapeMetrics(cachedServer.base);
            const fill = await loadgen.run({
              url: cachedServer.base, connections: Math.min(10, Math.max(...opts.connections)), amount: tools.length + 50, timeoutS: REQUEST_TIMEOUT_S,
              ...requestFor('cold', tool, tools),
            });
            const afterFill = (await quiesce(cachedServer, beforeFill, fill.sent, stableWindowMs(fill)))!;
            const rssAfterFill = rssMb(cachedServer.child.pid);
            const entries = Object.fromEntries(Object.entries(afterFill.caches).map(([label, c]) => [label, c.entries]));
            fills.push({
              round, database: target.kind, ms: Math.round(performance.now() - fillStart), requests: fill.requests, non2xx: fill.non2xx, errors: fill.errors,
              graphqlErrors: fill.graphqlErrors, cacheEntries: entries, metrics: metricsDelta(beforeFill, afterFill), rssMb: rssAfterFill,
            });
            progress(`[r${round} ${target.kind}] cache filled: ${fill.requests} requests, entries ${JSON.stringify(entries)}, RSS ${fmt(rssAfterFill, 0)} MB`);
            let fullRss = rssAfterFill;
            for (const scenario of selected('cached')) {
              await probe(scenario, target.kind, cachedServer);
              await warm(scenario, cachedServer);
              for (const connections of opts.connections) {
                const run = await measure(round, scenario, target.kind, cachedServer, connections);
                if (run.rssMb !== null) fullRss = Math.max(fullRss ?? 0, run.rssMb);
              }
            }
            (fullCacheRssByRound[target.kind] ??= []).push(fullRss);
          }
        } finally {
          await cachedServer?.stop();
        }
        if (selected('nocache').length) {
          const service = await startTracked(target, false, round);
          try {
            for (const scenario of selected('nocache')) {
              await probe(scenario, target.kind, service);
              await warm(scenario, service);
              for (const connections of opts.connections) await measure(round, scenario, target.kind, service, connections);
            }
          } finally {
            await service.stop();
          }
        }
      }
      for (const kind of ['node', 'yoga'] as const) {
        const server = baselines[kind];
        if (!server) continue;
        for (const scenario of selected(kind)) {
          await probe(scenario, null, server);
          await warm(scenario, server);
          for (const connections of opts.connections) await measure(round, scenario, null, server, connections);
        }
      }
    }

    // ---- medians, goals, output
    const medians: CellMedian[] = [];
    for (const scenario of scenarios) {
      for (const database of scenario.server === 'node' || scenario.server === 'yoga' ? [null] : kinds) {
        for (const connections of opts.connections) {
          const cell = runs.filter((r) => r.scenario === scenario.id && r.database === database && r.connections === connections);
          if (!cell.length) continue;
          const ok = cell.filter((r) => !r.failure);
          const sum = (pick: (r: CellRun) => number) => cell.reduce((acc, r) => acc + pick(r), 0);
          medians.push({
            scenario: scenario.id, database, connections, rounds: ok.length,
            reqPerSec: median(ok.map((r) => r.reqPerSec)),
            p50Ms: median(ok.map((r) => r.p50Ms)),
            p99Ms: median(ok.map((r) => r.p99Ms)),
            non2xx: sum((r) => r.non2xx), errors: sum((r) => r.errors), timeouts: sum((r) => r.timeouts), graphqlErrors: sum((r) => r.graphqlErrors),
            failures: cell.length - ok.length,
            sqlPerRequest: median(ok.map((r) => r.sqlPerRequest)),
            cacheHitRate: median(ok.map((r) => r.cacheHitRate)),
            rssMb: median(ok.map((r) => r.rssMb)),
            serverCpu: median(ok.map((r) => r.serverCpu)),
            loadgenCpu: median(ok.map((r) => r.loadgenCpu)),
            otherCpu: median(ok.map((r) => r.otherCpu)),
          });
        }
      }
    }
    const fullCacheRss = Object.fromEntries(kinds.map((k) => [k, median(fullCacheRssByRound[k] ?? [])]));
    const goals = computeGoals(medians, kinds, level, opts.count, fullCacheRss);
    for (const m of medians) {
      if (m.failures) notes.push(`${m.database ?? 'baseline'} ${m.scenario} c=${m.connections}: ${m.failures} of ${m.failures + m.rounds} run(s) failed (see JSON)`);
      if (m.loadgenCpu !== null && m.loadgenCpu >= 0.9) notes.push(`${m.database ?? 'baseline'} ${m.scenario} c=${m.connections}: the load generator used ${pct(m.loadgenCpu)} of its core, so this req/s may be its limit rather than the server's`);
    // On PostgreSQL, "other" is mostly the database server answering the service's queries.
    if (m.otherCpu !== null && m.otherCpu >= 0.3 && m.database !== 'postgres') {
      notes.push(`${m.database ?? 'baseline'} ${m.scenario} c=${m.connections}: ${pct(m.otherCpu)} of a core went to other work on the machine during the cell (noisy figure)`);
    }
    if (m.reqPerSec === 0) notes.push(`${m.database ?? 'baseline'} ${m.scenario} c=${m.connections}: no response within ${opts.duration} s (requests slower than the cell)`);
    if (m.non2xx || m.errors || m.graphqlErrors) notes.push(`${m.database ?? 'baseline'} ${m.scenario} c=${m.connections}: ${m.non2xx} non-2xx, ${m.errors} errors (${m.timeouts} timeouts), ${m.graphqlErrors} GraphQL errors over all rounds`);
    }
    for (const failure of runs.filter((r) => r.failure)) notes.push(`r${failure.round} ${failure.database ?? 'baseline'} ${failure.scenario} c=${failure.connections}: ${failure.failure!.split('\n')[0]}`);
    if (kinds.includes('pglite')) notes.push('PGlite runs inside the service process, so its RSS includes the whole database.');

    console.log('');
    console.log(textTable(COLUMNS, medians));
    console.log('');
    console.log(`goals (medians at ${level} connections; RSS: the largest reading on the full-cache server, median over rounds):`);
    for (const line of goalLines(goals, level, false)) console.log(line);
    if (notes.length) {
      console.log('');
      for (const note of notes) console.log(`note: ${note}`);
    }

    const result = {
      ...runEnvironment(started),
      pinning: pin,
      settings: {
        durationS: opts.duration, rounds: opts.rounds, connections: opts.connections, warmupS: opts.warmup, count: opts.count, seed: opts.seed, nodeFlags: serviceNodeFlags,
        requestTimeoutS: REQUEST_TIMEOUT_S, serviceEnv: { NODE_ENV: 'production', LOG_LEVEL: 'warn', SEED_ON_EMPTY: 'false' },
        scenarios: scenarios.map((s) => ({ id: s.id, title: s.title })),
      },
      databases: Object.fromEntries(targets.map((t) => [t.kind, { ...t.describe, import: imports[t.kind] }])),
      corpus: { count: generated.count, seed: generated.seed, capabilities: generated.capabilities, patterns: generated.patterns, bytes: generated.bytes },
      toolByName: { ...tool, query: toolByName(tool), bareYogaQuery: bareToolQuery(tool) },
      capturedResponse: { bytes: Buffer.byteLength(captured!.body), contentType: captured!.contentType },
      byteEquality: byteChecks,
      sqlStatementsForOneMiss: sqlPerMiss,
      serverStarts: startTimes,
      cacheFills: fills,
      goalLevel: level,
      fullCacheRssMb: { median: fullCacheRss, byRound: fullCacheRssByRound },
      medians,
      goals,
      notes,
      runs,
    };
    mkdirSync(RESULTS_DIR, { recursive: true });
    const stamp = started.toISOString().replace(/[:.]/g, '-');
    const jsonPath = path.join(RESULTS_DIR, `bench-${stamp}.json`);
    writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
    const markdown = [
      '# HTTP benchmark',
      '',
      environmentLine(result),
      '',
      `- settings: ${opts.rounds} interleaved round(s), ${opts.duration} s per cell, connections ${opts.connections.join(', ')}, warm-up ${opts.warmup} s, request timeout ${REQUEST_TIMEOUT_S} s, service node flags: ${serviceNodeFlags.length ? serviceNodeFlags.join(' ') : 'none'}`,
      `- pinning: ${pin.reason}`,
      ...targets.map((t) => `- ${t.kind}: ${Object.entries(t.describe).map(([k, v]) => `${k} ${String(v)}`).join(', ')}; import ${((imports[t.kind]?.ms ?? 0) / 1000).toFixed(1)} s`),
      `- corpus: ${generated.files} generated tools, ${generated.capabilities} capabilities, ${generated.patterns} patterns (seed ${generated.seed})`,
      `- tool by name: \`${tool.name}\` (${tool.platform}); response ${result.capturedResponse.bytes} bytes; SQL statements for one miss: ${Object.entries(sqlPerMiss).map(([k, v]) => `${k} ${v}`).join(', ')}`,
      `- response bytes vs the service's cached answer: ${byteLine.join('; ')}`,
      '',
      'The service runs as its own process (node dist/src/server.js as npm start runs it, NODE_ENV=production, LOG_LEVEL=warn), the autocannon load generator as another, on separate cores when pinned. ' +
        'req/s, p50 and p99 (over 2xx responses, float ms) are medians over the rounds; non-2xx, err/timeouts and gql errors (2xx answers with GraphQL `errors`) are summed over the rounds. ' +
        'SQL/req and hit rate come from /metrics deltas around each cell, per request the server answered (SQL/req less the statements the service sends on its own schedule, at the rate measured over an idle 2 s just before the cell) (hit rate: answers from the HTTP front-door or response cache); RSS is the server process\'s VmRSS after the cell; srv CPU and gen CPU are the CPU time of the server and of the load generator ÷ the cell\'s wall time (100% = one core busy: a load generator near 100% means req/s is its limit, not the server\'s); other CPU is the rest of the machine\'s busy time (kernel networking, and anything else running: a high figure means a noisy cell). ' +
        `Each scenario first gets ${opts.warmup} s of unrecorded load on its server, and the bench waits for the server to finish in-flight requests after every run. ` +
        'cold runs on a freshly started cached server (warmed up on tool names that do not exist), each request asking for the next of the generated tools; cached cells run after the cache was filled with every tool. ' +
        'Baselines (node:http, bare yoga) answer with the same bytes and have no database.',
      '',
      markdownTable(COLUMNS, medians),
      '',
      '## Goals',
      '',
      ...goalLines(goals, level, true),
      '',
      `RSS with a full cache: the largest VmRSS read on the cached server after filling its cache with all ${opts.count} tools and after each cached cell, median over rounds.`,
      ...(notes.length ? ['', '## Notes', '', ...notes.map((n) => `- ${n}`)] : []),
      '',
      `JSON: \`${path.relative(projectRoot, jsonPath)}\``,
      '',
    ].join('\n');
    writeFileSync(path.join(RESULTS_DIR, 'bench-latest.md'), markdown);
    console.log('');
    console.log(`wrote ${path.relative(projectRoot, jsonPath)} and ${path.relative(projectRoot, path.join(RESULTS_DIR, 'bench-latest.md'))}`);
    if (runs.some((r) => r.failure)) process.exitCode = 1;
  } finally {
    await loadgen.close().catch(() => {});
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

main().catch((error) => {
  killAllChildren();
  console.error(`bench failed: ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 1;
});
