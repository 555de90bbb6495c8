// Benchmark of answers during a database outage: prints figures, never asserts on time.
//
// What selectTools and GET /profiles do while PostgreSQL cannot be reached. The service runs as its
// own process (NODE_ENV=production, response cache off) against a fresh `tc_bench_<random>` database
// on the server DATABASE_URL names, loaded with --count generated tools plus the legacy corpus, but it
// reaches PostgreSQL only through a TCP relay on loopback that this script owns. Cutting the relay
// (every open connection reset, new ones refused) is, to the service, PostgreSQL stopped — without
// touching a server other people use. Frozen (`--mode frozen`): connections stay open and nothing
// answers, as with a SIGSTOPped server.
//
// Phases, each --duration seconds per operation at --connections: `up` (relay open), `down` (relay
// cut, after the service has noticed: a probe answers stale), then `back` (relay open again, after
// a probe answers fresh). Operations: selectTools (new variables every request), GET /profiles of the
// whole catalog (gzip accepted), and the same with the ETag the client holds (`If-None-Match`: a 304
// is its answer). Per phase and operation: req/s, p50/p99/max, 304s and other non-2xx, socket
// errors, GraphQL errors, and how many probed answers said stale. Goal (issue 13): with the database
// stopped, 100 % of requests answered, p99 < 50 ms.
//
//   DATABASE_URL=postgresql://… npm run bench:outage [-- --duration 10 --connections 10 --count 5000 --mode stopped]
import { Command, Option } from 'commander';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { generateCatalog } from './generate-catalog.js';
import { importCatalogInto } from './bench/catalogImport.js';
import { environmentLine, gitCommit, integer, progress, projectRoot, runEnvironment, startLine } from './bench/cli.js';
import { runLoad, type LoadResult, type LoadSpec } from './bench/loadgen.js';
import { selectBodies } from './bench/selectBodies.js';
import { createBenchDatabase, redact } from './bench/postgres.js';
import { killAllChildren } from './bench/processes.js';
import { startServiceProcess, type ServiceProcess } from './bench/service.js';
import { markdownTable, textTable, type Column } from './bench/tables.js';

const RESULTS_DIR = path.join(projectRoot, 'bench', 'results');
const READY_TIMEOUT_MS = 120_000;
/** Longest wait for the service to notice the outage (or the recovery) before the phase is measured anyway. */
const NOTICE_LIMIT_MS = 30_000;
const GOAL_P99_MS = 50;
/** Selection bodies per phase: each phase's requests have variables no other phase's had. */
const PHASE_BODIES = 200_000;

type Mode = 'stopped' | 'frozen';
type Phase = 'up' | 'down' | 'back';
/** `profiles-conditional`: GET /profiles with the ETag the client already holds, as a pipeline polls. */
type OperationId = 'selectTools' | 'profiles' | 'profiles-conditional';

/**
 * A loopback TCP relay to PostgreSQL that can be cut (connections reset, new ones refused), frozen
 * (connections kept, bytes held back) and opened again on the same port.
 */
class DatabaseRelay {
  #server: net.Server | undefined;
  readonly #sockets = new Set<net.Socket>();
  #frozen = false;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async open(): Promise<void> {
    this.#frozen = false;
    for (const socket of this.#sockets) socket.resume();
    if (this.#server) return;
    const server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.targetHost);
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.#server = server;
  }

  /** As if PostgreSQL had stopped: open connections reset, new ones refused. */
  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const socket of this.#sockets) socket.resetAndDestroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** As if PostgreSQL were SIGSTOPped: connections stay open, nothing flows either way. */
  freeze(): void {
    this.#frozen = true;
    for (const socket of this.#sockets) socket.pause();
  }

  get frozen(): boolean {
    return this.#frozen;
  }

  async close(): Promise<void> {
    await this.cut();
  }
}

/** One request outside the load, to see what the service says: is the answer stale? */
async function probe(base: string, operation: OperationId): Promise<{ ok: boolean; stale: boolean | null; detail: string; etag?: string }> {
  try {
    if (operation !== 'selectTools') {
      const response = await fetch(`${base}/profiles`, { signal: AbortSignal.timeout(5_000) });
      await response.arrayBuffer();
      const header = response.headers.get('x-catalog-stale');
      return { ok: response.status === 200, stale: header === null ? null : header === 'true', detail: `HTTP ${response.status}`, etag: response.headers.get('etag') ?? undefined };
    }
    const response = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: selectBodies(1, 99 * PHASE_BODIES)[0],
      signal: AbortSignal.timeout(5_000),
    });
    const body = (await response.json()) as { data?: { selectTools?: { stale: boolean } }; errors?: unknown };
    const stale = body.data?.selectTools?.stale ?? null;
    return { ok: response.status === 200 && !body.errors && stale !== null, stale, detail: `HTTP ${response.status}${body.errors ? ` ${JSON.stringify(body.errors).slice(0, 200)}` : ''}` };
  } catch (error) {
    return { ok: false, stale: null, detail: (error as Error).message };
  }
}

async function waitForStale(base: string, wanted: boolean): Promise<number | null> {
  const started = performance.now();
  while (performance.now() - started < NOTICE_LIMIT_MS) {
    const [select, profiles] = await Promise.all([probe(base, 'selectTools'), probe(base, 'profiles')]);
    if (select.ok && profiles.ok && select.stale === wanted && profiles.stale === wanted) return Math.round(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return null;
}

interface Row {
  phase: Phase;
  operation: OperationId;
  result: LoadResult;
  staleProbes: string;
}

async function main() {
  const opts = new Command()
    .name('bench:outage')
    .description('selectTools and /profiles while PostgreSQL cannot be reached (needs DATABASE_URL)')
    .option('--duration <s>', 'seconds per operation and phase', integer('--duration'), 10)
    .option('--connections <n>', 'concurrent connections', integer('--connections'), 10)
    .option('--count <n>', 'generated tools', integer('--count'), 5000)
    .option('--seed <n>', 'seed of the generated catalog', integer('--seed', 0), 42)
    .option('--legacy <dir>', 'also import this legacy corpus', path.join(projectRoot, '..', 'shared', 'legacy-catalog'))
    .option('--no-legacy', 'import only the generated catalog')
    .addOption(new Option('--mode <mode>', 'stopped: connections reset and refused; frozen: connections open, nothing answers').choices(['stopped', 'frozen']).default('stopped'))
    .parse()
    .opts<{ duration: number; connections: number; count: number; seed: number; legacy: string | false; mode: Mode }>();

  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    console.error('bench:outage: DATABASE_URL must name a PostgreSQL server (PGlite is embedded: it cannot be cut off)');
    process.exit(2);
  }
  const started = new Date();
  console.log(startLine('bench:outage', started));
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'tc-bench-outage-'));
  const database = await createBenchDatabase(serverUrl);
  const target = new URL(database.url);
  const relay = new DatabaseRelay(target.hostname, Number(target.port || 5432));
  let service: ServiceProcess | undefined;
  const cleanup = async () => {
    await service?.stop().catch(() => {});
    killAllChildren();
    await relay.close().catch(() => {});
    await database.drop().catch((error: unknown) => console.error(`cleanup: ${(error as Error).message}`));
    rmSync(workDir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  try {
    const catalogDir = path.join(workDir, 'catalog');
    const generated = generateCatalog({ outDir: catalogDir, count: opts.count, seed: opts.seed });
    progress(`generated ${generated.files} tools; importing into ${database.name}…`);
    const env = { DATABASE_URL: database.url };
    const imported = await importCatalogInto('postgres', env, catalogDir);
    progress(`imported in ${(imported.ms / 1000).toFixed(1)} s`);
    if (opts.legacy && existsSync(opts.legacy)) await importCatalogInto('postgres', env, opts.legacy, ['--partial']);

    await relay.open();
    const viaRelay = new URL(database.url);
    viaRelay.hostname = '127.0.0.1';
    viaRelay.port = String(relay.port);
    service = await startServiceProcess({
      label: 'service (cache off, database through the relay)',
      readyTimeoutMs: READY_TIMEOUT_MS,
      env: { NODE_ENV: 'production', LOG_LEVEL: 'error', SEED_ON_EMPTY: 'false', CACHE_ENABLED: 'false', DATABASE_URL: viaRelay.toString() },
    });
    const base = service.base;
    progress(`service ready in ${service.startMs} ms at ${base}`);

    const specFor = async (operation: OperationId, phaseIndex: number): Promise<LoadSpec> => {
      const common = { url: base, connections: opts.connections, durationS: opts.duration, timeoutS: 10 };
      // As Node's fetch asks (the pipeline's client): the whole catalog gzipped is a tenth of its JSON.
      const profilesHeaders = { accept: 'application/json', 'accept-encoding': 'gzip, deflate' };
      if (operation === 'profiles') return { ...common, method: 'GET', path: '/profiles', headers: profilesHeaders, checkGraphQLErrors: false };
      if (operation === 'profiles-conditional') {
        // The ETag of the revision now, as a client that fetched the profiles before holds it.
        const { etag } = await probe(base, 'profiles');
        if (!etag) throw new Error('GET /profiles gave no ETag');
        return { ...common, method: 'GET', path: '/profiles', headers: { ...profilesHeaders, 'if-none-match': etag }, checkGraphQLErrors: false, alsoAnswers: [304] };
      }
      const bodies = selectBodies(PHASE_BODIES, phaseIndex * PHASE_BODIES);
      return { ...common, method: 'POST', path: '/graphql', headers: { 'content-type': 'application/json', accept: 'application/json' }, bodies, body: bodies[0], offset: 0, checkGraphQLErrors: true };
    };

    const rows: Row[] = [];
    const notices: string[] = [];
    const phases: Phase[] = ['up', 'down', 'back'];
    for (const [phaseIndex, phase] of phases.entries()) {
      if (phase === 'down') {
        if (opts.mode === 'stopped') await relay.cut();
        else relay.freeze();
        const ms = await waitForStale(base, true);
        notices.push(ms === null ? `database ${opts.mode}: answers did not say stale within ${NOTICE_LIMIT_MS / 1000} s` : `database ${opts.mode}: answers said stale after ${ms} ms`);
        progress(notices.at(-1)!);
      } else if (phase === 'back') {
        await relay.open();
        const ms = await waitForStale(base, false);
        notices.push(ms === null ? `database back: answers still stale after ${NOTICE_LIMIT_MS / 1000} s` : `database back: answers fresh after ${ms} ms`);
        progress(notices.at(-1)!);
      } else {
        await waitForStale(base, false);
      }
      for (const operation of ['selectTools', 'profiles', 'profiles-conditional'] as const) {
        progress(`${phase}: ${operation} for ${opts.duration} s at ${opts.connections} connections…`);
        const result = await runLoad(await specFor(operation, phaseIndex));
        const probes = await Promise.all(Array.from({ length: 5 }, () => probe(base, operation)));
        rows.push({ phase, operation, result, staleProbes: `${probes.filter((p) => p.stale === true).length}/${probes.length}` });
      }
    }

    // A 304 is the answer a conditional GET asks for, not a failure.
    const notModified = (r: Row) => (r.operation === 'profiles-conditional' ? (r.result.statusCodes['304'] ?? 0) : 0);
    const columns: Array<Column<Row>> = [
      { title: 'phase', value: (r) => r.phase },
      { title: 'operation', value: (r) => r.operation },
      { title: 'requests', value: (r) => String(r.result.requests), right: true },
      { title: 'req/s', value: (r) => r.result.reqPerSec.toFixed(0), right: true },
      { title: 'p50 ms', value: (r) => r.result.latency?.p50.toFixed(2) ?? '—', right: true },
      { title: 'p99 ms', value: (r) => r.result.latency?.p99.toFixed(2) ?? '—', right: true },
      { title: 'max ms', value: (r) => r.result.latency?.max.toFixed(1) ?? '—', right: true },
      { title: '304', value: (r) => String(notModified(r)), right: true },
      { title: 'other non-2xx', value: (r) => String(r.result.non2xx - notModified(r)), right: true },
      { title: 'err/timeouts', value: (r) => `${r.result.errors}/${r.result.timeouts}`, right: true },
      { title: 'gql errors', value: (r) => String(r.result.graphqlErrors), right: true },
      { title: 'stale probes', value: (r) => r.staleProbes, right: true },
    ];
    const down = rows.filter((r) => r.phase === 'down');
    const goals = down.map((r) => {
      const failed = r.result.non2xx - notModified(r) + r.result.errors + r.result.timeouts + r.result.graphqlErrors;
      const answered = r.result.requests > 0 ? ((r.result.requests - failed) / r.result.requests) * 100 : 0;
      const p99 = r.result.latency?.p99 ?? Infinity;
      const met = answered === 100 && p99 < GOAL_P99_MS && r.staleProbes.startsWith('5/');
      const what = r.operation === 'profiles-conditional' ? 'profiles with If-None-Match (a client holding the current ETag; 304 counts as answered)' : r.operation;
      return `${what} with the database ${opts.mode}: ${answered.toFixed(2)} % answered, p99 ${p99.toFixed(2)} ms, stale probes ${r.staleProbes} (goal 100 %, < ${GOAL_P99_MS} ms, stale) — ${met ? 'met' : 'NOT met'}`;
    });
    const environment = runEnvironment(started);
    console.log('');
    console.log(textTable(columns, rows));
    console.log('');
    for (const line of [...notices, ...goals]) console.log(line);

    mkdirSync(RESULTS_DIR, { recursive: true });
    const markdown = [
      '# Outage benchmark',
      '',
      environmentLine(environment),
      '',
      `- database: ${redact(serverUrl)} (fresh database ${database.name}), reached through a loopback relay; outage mode: ${opts.mode}`,
      `- corpus: ${generated.files} generated tools (seed ${opts.seed})${opts.legacy && existsSync(opts.legacy) ? ' plus the legacy corpus' : ''}; response cache off; profiles asked for with \`Accept-Encoding: gzip, deflate\` (as Node's fetch asks)`,
      `- ${opts.duration} s per operation and phase at ${opts.connections} connections; commit ${gitCommit() ?? 'unknown'}`,
      '- profiles-conditional: GET /profiles with `If-None-Match` set to the ETag of the revision when the phase began, as a client polling the profiles it holds',
      '',
      markdownTable(columns, rows),
      '',
      ...[...notices, ...goals].map((line) => `- ${line}`),
      '',
    ].join('\n');
    writeFileSync(path.join(RESULTS_DIR, 'outage-latest.md'), markdown);
    writeFileSync(path.join(RESULTS_DIR, 'outage-latest.json'), JSON.stringify({ environment, mode: opts.mode, rows, notices, goals }, null, 2));
    console.log(`\nwrote bench/results/outage-latest.md and .json`);
  } finally {
    await cleanup();
  }
}

main().catch((error: unknown) => {
  console.error(`bench:outage: ${(error as Error).message}`);
  killAllChildren();
  process.exit(1);
});
