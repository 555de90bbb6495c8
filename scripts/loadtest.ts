// Load test runner: one of the shared scenarios (loadtest/scenarios: legacy, pipeline, writes) run
// with autocannon, against a service it starts itself (embedded PGlite, or a fresh database on the
// DATABASE_URL server) or against --target, which must be a loopback address.
//
//   npm run loadtest -- --scenario legacy --rate 200 --duration 30
//   npm run loadtest -- --scenario writes --target http://127.0.0.1:4000 --api-key <editor key>
//
// Prints per-operation throughput, p50/p95/p99, errors and check failures; writes
// bench/results/loadtest-<scenario>-<time>.{json,md,svg}; exit code 1 when a threshold is crossed,
// 2 when the run could not be made (bad arguments, a non-loopback target, an operation the service
// does not offer, a failed setup).
import { Command, InvalidArgumentError, Option } from 'commander';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SCENARIOS, SCENARIO_NAMES } from '../loadtest/scenarios/index.js';
import { integer, progress, projectRoot, runEnvironment, startLine } from './bench/cli.js';
import { createBenchDatabase, redact, serverVersion, type BenchDatabase } from './bench/postgres.js';
import { killAllChildren } from './bench/processes.js';
import { startServiceProcess, type ServiceProcess } from './bench/service.js';
import { runScenario, SetupError, UnavailableOperationError } from './loadtest/measure.js';
import { chartOf, compareWithPrevious, markdownReport, summarise, textReport, type LoadtestResult } from './loadtest/report.js';
import { RefusedTarget, assertLoopbackTarget, parseDuration } from './loadtest/target.js';

const program = new Command('loadtest')
  .description('Run a shared load scenario against a local service and report it.')
  .addOption(new Option('--scenario <name>', 'which mix').choices(SCENARIO_NAMES).default('legacy'))
  .option('--rate <n>', 'requests per second over all connections (0: as fast as they go)', integer('--rate', 0), 50)
  .option('--duration <time>', 'how long: seconds, or 30s, 2m', (v: string) => {
    const s = parseDuration(v);
    if (s === null) throw new InvalidArgumentError('--duration: a number of seconds, or e.g. 30s, 2m.');
    return s;
  }, 30)
  .option('--warmup <s>', 'seconds of unrecorded load first', integer('--warmup', 0), 3)
  .option('--connections <n>', 'concurrent connections', integer('--connections'), 10)
  .option('--target <url>', 'a running service on a loopback address (default: start one)')
  .option('--api-key <key>', 'key for operations that need a role, with --target (or LOADTEST_API_KEY)')
  .option('--results-dir <dir>', 'where the JSON, Markdown and SVG go', path.join(projectRoot, 'bench', 'results'))
  .option('--no-latency-gate', 'report crossed latency budgets without failing the run (shared CI machines); errors and checks still fail it')
  .option('--timeout <s>', 'seconds a single request may take', integer('--timeout'), 10)
  .showHelpAfterError();

interface Options {
  scenario: string;
  rate: number;
  duration: number;
  connections: number;
  warmup: number;
  target?: string;
  apiKey?: string;
  resultsDir: string;
  timeout: number;
  latencyGate: boolean;
}

async function main(): Promise<number> {
  program.parse();
  const options = program.opts<Options>();
  const scenario = SCENARIOS[options.scenario]!;
  const started = new Date();
  process.stderr.write(`${startLine(`loadtest ${scenario.name}`, started)}\n`);

  let service: ServiceProcess | undefined;
  let benchDb: BenchDatabase | undefined;
  let dataDir: string | undefined;
  let baseUrl: string;
  let database: string;
  let apiKey = options.apiKey ?? process.env.LOADTEST_API_KEY;
  try {
    if (options.target) {
      baseUrl = assertLoopbackTarget(options.target);
      const ready = await fetch(`${baseUrl}/ready`, { signal: AbortSignal.timeout(options.timeout * 1000) })
        .then((r) => r.json() as Promise<{ database?: string }>)
        .catch(() => ({}) as { database?: string });
      database = `${ready.database ?? 'unknown'} (as the target's /ready reports it)`;
    } else {
      apiKey = randomBytes(24).toString('hex');
      const env: Record<string, string> = {
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        CATALOG_WATCH: 'false',
        ADMIN_API_KEY: apiKey,
      };
      if (process.env.DATABASE_URL) {
        benchDb = await createBenchDatabase(process.env.DATABASE_URL);
        env.DATABASE_URL = benchDb.url;
        database = `PostgreSQL ${(await serverVersion(process.env.DATABASE_URL)) ?? '?'} (${redact(process.env.DATABASE_URL)}, fresh database ${benchDb.name})`;
      } else {
        dataDir = mkdtempSync(path.join(os.tmpdir(), 'tool-catalog-loadtest-'));
        env.DATA_DIR = path.join(dataDir, 'data');
        database = 'PGlite (embedded, fresh data directory)';
      }
      progress(`starting the service on ${database}`);
      service = await startServiceProcess({ label: 'service', env, readyTimeoutMs: 120_000 });
      baseUrl = service.base;
    }
    progress(`${scenario.name}: ${options.rate || 'unlimited'} req/s, ${options.connections} connection(s), ${options.duration} s against ${baseUrl}`);
    const measurements = await runScenario({
      scenario,
      baseUrl,
      rate: options.rate,
      connections: options.connections,
      durationS: options.duration,
      warmupS: options.warmup,
      apiKey,
      runId: `${started.getTime().toString(36)}${randomBytes(2).toString('hex')}`,
      timeoutS: options.timeout,
    });
    const summary = summarise(scenario, measurements, {
      environment: runEnvironment(started),
      database,
      target: baseUrl,
      selfStarted: !options.target,
      latencyGate: options.latencyGate,
      options: { rate: options.rate, connections: options.connections, durationS: options.duration, warmupS: options.warmup },
    });
    const stem = `loadtest-${scenario.name}-${started.toISOString().replace(/[:.]/g, '-')}`;
    mkdirSync(options.resultsDir, { recursive: true });
    const result: LoadtestResult = { ...summary, previous: compareWithPrevious(options.resultsDir, summary, `${stem}.json`) };
    writeFileSync(path.join(options.resultsDir, `${stem}.json`), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(path.join(options.resultsDir, `${stem}.svg`), chartOf(result));
    writeFileSync(path.join(options.resultsDir, `${stem}.md`), markdownReport(result, `${stem}.svg`));
    console.log(textReport(result));
    progress(`wrote ${path.join(options.resultsDir, stem)}.{json,md,svg}`);
    return result.breaches.length ? 1 : 0;
  } catch (error) {
    if (error instanceof UnavailableOperationError || error instanceof SetupError || error instanceof RefusedTarget) {
      console.error(`loadtest: ${error.message}`);
      return 2;
    }
    throw error;
  } finally {
    await service?.stop();
    await benchDb?.drop().catch((error: Error) => progress(`could not drop ${benchDb!.name}: ${error.message}`));
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`loadtest: ${(error as Error).stack ?? String(error)}`);
    killAllChildren();
    process.exitCode = 2;
  },
);
