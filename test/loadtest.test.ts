// npm run loadtest, end to end against a real service process (PGlite, or PostgreSQL with
// DATABASE_URL): tiny runs that prove the runner, its reports and its refusals work. No figure is
// asserted: only that what was measured is reported, and that the exit code follows the thresholds.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { createSchema, createYoga } from 'graphql-yoga';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENARIOS, type Scenario } from '../loadtest/scenarios/index.js';
import { gitCommit } from '../scripts/bench/cli.js';
import { latencyChart, niceStep } from '../scripts/loadtest/chart.js';
import { secondOf, type Measurements } from '../scripts/loadtest/measure.js';
import { compareWithPrevious, markdownReport, summarise, textReport, type LoadtestResult } from '../scripts/loadtest/report.js';
import { assertLoopbackTarget, isLoopbackHost, parseDuration } from '../scripts/loadtest/target.js';
import { startServerProcess, type ServerProcess } from './support/process.js';
import { processDatabase } from './support/service.js';
import { build } from 'hdr-histogram-js';
import { runCommand, type CommandResult } from './support/commands.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const ADMIN_KEY = 'loadtest-admin-key-Kq3Zr8Vx2Lm7Tn4Wp9Yb6Hc1Df5Gj0Sa';

let workDir: string;
let server: ServerProcess;
let dropDatabase = async () => {};

function loadtest(args: string[]): Promise<CommandResult> {
  return runCommand([path.join(root, 'node_modules', '.bin', 'tsx'), 'scripts/loadtest.ts', ...args], { HOME: process.env.HOME });
}

const resultsOf = (dir: string, scenario: string, ext: string) =>
  readdirSync(dir)
    .filter((f) => f.startsWith(`loadtest-${scenario}-`) && f.endsWith(ext))
    .sort();

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'tool-catalog-loadtest-'));
  const database = await processDatabase(workDir);
  dropDatabase = database.drop;
  server = await startServerProcess({ ...database.env, ADMIN_API_KEY: ADMIN_KEY, CATALOG_WATCH: 'false' }, 180_000);
}, 240_000);
afterAll(async () => {
  await server?.stop();
  await dropDatabase();
  rmSync(workDir, { recursive: true, force: true });
});

/**
 * Every point of every polyline of a chart, and whether it lies within the axes (the horizontal
 * axis line's x range, the vertical axis line's y range).
 */
function pointsOutsideAxes(svg: string): string[] {
  const axes = [...svg.matchAll(/<line x1="([\d.]+)" x2="([\d.]+)" y1="([\d.]+)" y2="([\d.]+)" stroke="#333"\/>/g)].map((m) => m.slice(1).map(Number));
  const xAxis = axes.find(([x1, x2, y1, y2]) => y1 === y2 && x2! - x1! > 100)!;
  const yAxis = axes.find(([x1, x2, y1, y2]) => x1 === x2 && y2! - y1! > 100)!;
  expect(xAxis, 'the x axis').toBeDefined();
  expect(yAxis, 'the y axis').toBeDefined();
  const outside: string[] = [];
  for (const [, name, points] of svg.matchAll(/<polyline data-series="([^"]+)"[^>]* points="([^"]*)"/g)) {
    for (const point of points!.split(' ')) {
      const [x, y] = point.split(',').map(Number);
      if (!(x! >= xAxis[0]! && x! <= xAxis[1]! && y! >= yAxis[2]! && y! <= yAxis[3]!)) outside.push(`${name} ${point}`);
    }
  }
  return outside;
}

describe('npm run loadtest', () => {
  it('runs the legacy mix against a target, reports every operation and compares with the previous run', async () => {
    const dir = path.join(workDir, 'legacy');
    const args = ['--scenario', 'legacy', '--target', server.url, '--rate', '40', '--duration', '2', '--warmup', '1', '--connections', '4', '--results-dir', dir];
    const first = await loadtest(args);
    const [json] = resultsOf(dir, 'legacy', '.json');
    expect(json, first.stderr).toBeDefined();
    const result = JSON.parse(readFileSync(path.join(dir, json!), 'utf8')) as LoadtestResult;
    // The exit code follows the thresholds, whatever this busy machine measured.
    expect(first.code).toBe(result.breaches.length ? 1 : 0);
    expect(result.operations.map((o) => o.name)).toEqual(SCENARIOS.legacy!.mix.map((o) => o.name));
    expect(result.totals.responses).toBeGreaterThan(0);
    expect(result.totals.errors).toBe(0);
    expect(result.totals.checkFailures).toBe(0);
    for (const op of result.operations.filter((o) => o.responses > 0)) {
      expect(op.p50).toBeGreaterThan(0);
      expect(op.p50!).toBeLessThanOrEqual(op.p95!);
      expect(op.p95!).toBeLessThanOrEqual(op.p99!);
      expect(op.checks).toBeGreaterThanOrEqual(op.responses * 3);
    }
    expect(result.database).toMatch(/pglite|postgres/i);
    expect(first.stdout).toMatch(/^ListTools +\d+/m);

    const markdown = readFileSync(path.join(dir, json!.replace(/\.json$/, '.md')), 'utf8');
    for (const heading of ['**Machine:**', '**Commit:**', '**Database:**', '## Mix', '## Thresholds', '## Results', '## Latency over time']) expect(markdown).toContain(heading);
    expect(markdown).toContain('| ListTools | 35 | 35 % |');
    expect(markdown).toContain('No previous run of this scenario to compare with.');
    const svg = readFileSync(path.join(dir, json!.replace(/\.json$/, '.svg')), 'utf8');
    expect(svg).toMatch(/^<svg /);
    const drawn = [...svg.matchAll(/data-series="([^"]+)"/g)].map((m) => m[1]);
    expect(drawn.length).toBeGreaterThan(0);
    expect(SCENARIOS.legacy!.mix.map((o) => o.name)).toEqual(expect.arrayContaining(drawn));
    // Answers that came after the last full second are charted in it, not past the axis.
    expect(pointsOutsideAxes(svg)).toEqual([]);
    for (const series of result.timeline) expect(series.points.every(([second]) => second < 2), series.operation).toBe(true);

    // Latency reported but not enforced: with no errors and no failed checks the run passes.
    const second = await loadtest([...args, '--no-latency-gate']);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    const markdowns = resultsOf(dir, 'legacy', '.md');
    expect(markdowns).toHaveLength(2);
    const latest = readFileSync(path.join(dir, markdowns[1]!), 'utf8');
    expect(latest).toContain(`compares with the previous run of this scenario made the same way, \`${json}\``);
    expect(latest).toMatch(/\| Δ req\/s \| Δ p95 \|/);
  }, 240_000);

  it('runs the writes mix: editors publish, the subscriber sees it, the tools it made are deleted afterwards', async () => {
    const dir = path.join(workDir, 'writes');
    const run = await loadtest(['--scenario', 'writes', '--target', server.url, '--api-key', ADMIN_KEY, '--rate', '20', '--duration', '2', '--warmup', '0', '--connections', '3', '--results-dir', dir]);
    const [json] = resultsOf(dir, 'writes', '.json');
    expect(json, run.stderr).toBeDefined();
    const result = JSON.parse(readFileSync(path.join(dir, json!), 'utf8')) as LoadtestResult;
    expect(run.code).toBe(result.breaches.length ? 1 : 0);
    const updates = result.operations.find((o) => o.name === 'UpdateTool')!;
    expect(updates.responses).toBeGreaterThan(0);
    expect(updates.checkFailures).toBe(0);
    expect(result.subscribers).toHaveLength(1);
    expect(result.subscribers[0]).toMatchObject({ openAtEnd: true });
    expect(result.subscribers[0]!.events).toBeGreaterThan(0);
    expect(result.teardownProblems).toEqual([]);

    const left = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ tools(search: "loadtest-", first: 50) { totalCount } }' }),
    }).then((r) => r.json() as Promise<{ data: { tools: { totalCount: number } } }>);
    expect(left.data.tools.totalCount).toBe(0);
  }, 240_000);

  it('names an operation the service does not offer instead of measuring errors', async () => {
    // A GraphQL service of an older build, without selectTools.
    const older = createHttpServer(
      createYoga({
        schema: createSchema({
          typeDefs: /* GraphQL */ `
            input ToolFilter { enabled: Boolean }
            type Pattern { name: String! }
            type Capability { name: String!, patterns: [Pattern!]! }
            type Tool { name: String!, platform: String!, version: String!, capabilities: [Capability!]! }
            type ToolEdge { node: Tool! }
            type ToolConnection { edges: [ToolEdge!]! }
            type Query { tools(first: Int, filter: ToolFilter): ToolConnection! }
          `,
          resolvers: {
            Query: {
              tools: () => ({ edges: [{ node: { name: 'grep', platform: 'linux', version: '1.0', capabilities: [{ name: 'text_search', patterns: [{ name: 'basic' }] }] } }] }),
            },
          },
        }),
        logging: false,
      }),
    );
    await new Promise<void>((resolve) => older.listen(0, '127.0.0.1', resolve));
    const olderUrl = `http://127.0.0.1:${(older.address() as AddressInfo).port}`;
    try {
      const run = await loadtest(['--scenario', 'pipeline', '--target', olderUrl, '--api-key', ADMIN_KEY, '--duration', '1', '--results-dir', path.join(workDir, 'pipeline')]);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/loadtest: operation SelectTools is not available on http:\/\/127\.0\.0\.1:\d+ \(it comes from issue 13 \(selectTools\)\): Unknown type "SelectToolsInput"/);
      expect(run.stderr).not.toMatch(/at .*\.ts:\d+/); // a message, not a stack
    } finally {
      await new Promise((resolve) => older.close(resolve));
    }

    const keyless = await loadtest(['--scenario', 'writes', '--target', server.url, '--duration', '1', '--results-dir', path.join(workDir, 'keyless')]);
    expect(keyless.code).toBe(2);
    expect(keyless.stderr).toMatch(/loadtest: setup of scenario writes failed: could not create a tool to write: HTTP \d+ .*UNAUTHENTICATED/);
  }, 240_000);

  it('refuses a target that is not on this machine, before sending anything', async () => {
    for (const target of ['http://10.1.2.3:4000', 'http://example.com', 'http://127.0.0.1@example.com/']) {
      const run = await loadtest(['--scenario', 'legacy', '--target', target, '--duration', '1', '--results-dir', path.join(workDir, 'refused')]);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/refusing to load|user information is not allowed/);
    }
  }, 240_000);

  it('says a target cannot be reached, with exit code 2, instead of crashing', async () => {
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const run = await loadtest(['--scenario', 'legacy', '--target', `http://127.0.0.1:${closed}`, '--duration', '1', '--results-dir', path.join(workDir, 'closed')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`loadtest: cannot reach http://127\\.0\\.0\\.1:${closed}/graphql: .*ECONNREFUSED`));
  });
});

const fakeContext = {
  environment: { startedAt: '', finishedAt: '', commit: null, node: '', platform: '', cpu: { model: null, count: 1 }, memoryGb: 1 },
  database: 'test',
  target: 'http://127.0.0.1:1',
  selfStarted: false,
  options: { rate: 0, connections: 1, durationS: 10, warmupS: 0 },
};

/** A latency histogram (microseconds) as the runner keeps one, holding `count` answers of `micros`. */
function histogramOf(micros: number, count: number) {
  const histogram = build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
  for (let i = 0; i < count; i++) histogram.recordValue(micros);
  return histogram;
}

/** Ten seconds in which every operation answered `responses` times in 2 ms. */
function fakeMeasurements(scenario: Scenario, responses: number): Measurements {
  const histogram = histogramOf(2000, responses);
  return {
    startedAt: new Date(),
    durationS: 10,
    transportErrors: 0,
    timeouts: 0,
    subscribers: [],
    teardownProblems: [],
    operations: scenario.mix.map((op) => ({ name: op.name, responses, errors: 0, checks: responses, checkFailures: 0, failedChecks: {}, statuses: { 200: responses }, histogram, perSecond: [] })),
  };
}

describe('loadtest pieces', () => {
  it('accepts only loopback hosts', () => {
    for (const host of ['127.0.0.1', '127.8.9.10', 'localhost', '[::1]', '::1']) expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['10.0.0.1', '128.0.0.1', 'example.com', '[::2]', '0.0.0.0', 'localhost.example.com']) expect(isLoopbackHost(host)).toBe(false);
    expect(assertLoopbackTarget('http://127.0.0.1:4000/graphql')).toBe('http://127.0.0.1:4000');
    expect(() => assertLoopbackTarget('ftp://127.0.0.1')).toThrow(/http/);
  });

  it('reads durations', () => {
    expect(parseDuration('30')).toBe(30);
    expect(parseDuration('2m')).toBe(120);
    expect(parseDuration('1h')).toBe(3600);
    expect(parseDuration('0')).toBeNull();
    expect(parseDuration('soon')).toBeNull();
  });

  it('charts every point within the axes, the trailing partial second folded into the last full one', () => {
    // An answer 2.03 s into a 2 s run belongs to its last second; never to a third one.
    expect(secondOf(0, 2)).toBe(0);
    expect(secondOf(1999, 2)).toBe(1);
    expect(secondOf(2030, 2)).toBe(1);
    expect(secondOf(9000, 2)).toBe(1);
    expect(secondOf(2030, 2.5)).toBe(2);
    const inside = latencyChart('t', [{ name: 'A', points: [[0, 3], [1, 12.5]] }, { name: 'B', points: [[1, 0.4]] }], 2);
    expect(pointsOutsideAxes(inside)).toEqual([]);
    // A series written before the fold (second 2 of a 2 s run) widens the axis rather than leave it.
    const older = latencyChart('t', [{ name: 'A', points: [[0, 3], [1, 4], [2, 9]] }], 2);
    expect(pointsOutsideAxes(older)).toEqual([]);
    expect(older).toMatch(/text-anchor="middle">3<\/text>/);
  });

  it('marks the commit +dirty when tracked files were changed, not for untracked ones', () => {
    const repo = mkdtempSync(path.join(tmpdir(), 'tool-catalog-gitcommit-'));
    try {
      const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd: repo, encoding: 'utf8' }).trim();
      git('init', '-q');
      writeFileSync(path.join(repo, 'a.txt'), 'one\n');
      git('add', 'a.txt');
      git('commit', '-qm', 'one');
      const head = git('rev-parse', '--short', 'HEAD');
      expect(gitCommit(repo)).toBe(head);
      writeFileSync(path.join(repo, 'result.json'), '{}\n');
      expect(gitCommit(repo)).toBe(head);
      writeFileSync(path.join(repo, 'a.txt'), 'two\n');
      expect(gitCommit(repo)).toBe(`${head}+dirty`);
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  });

  it('picks chart steps of 1, 2 or 5 × 10^k', () => {
    expect(niceStep(47)).toBe(10);
    expect(niceStep(0.9)).toBe(0.2);
    expect(niceStep(300)).toBe(100);
  });

  it('compares only with an earlier run made the same way (rate, connections, database kind), and says why not otherwise', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tool-catalog-loadtest-compare-'));
    try {
      const scenario = SCENARIOS.legacy!;
      const run = (startedAt: string, database: string, options: LoadtestResult['options'], reqPerSec: number): LoadtestResult => ({
        ...summarise(scenario, fakeMeasurements(scenario, reqPerSec * 10), { ...fakeContext, database, options, environment: { ...fakeContext.environment, startedAt } }),
        previous: null,
      });
      const write = (file: string, result: LoadtestResult) => writeFileSync(path.join(dir, file), JSON.stringify(result));
      const current = run('2030-01-01T00:03:00.000Z', 'PGlite (embedded, fresh data directory)', { rate: 50, connections: 10, durationS: 10, warmupS: 3 }, 50);
      const own = 'loadtest-legacy-2030-01-01T00-03-00-000Z.json';

      // Only a run as fast as it goes on PostgreSQL: named, with how it differs, and no Δ at all.
      write('loadtest-legacy-2030-01-01T00-02-00-000Z.json', run('2030-01-01T00:02:00.000Z', 'PostgreSQL 15.8 (postgresql://catalog@127.0.0.1:5432/postgres, fresh database x)', { rate: 0, connections: 10, durationS: 10, warmupS: 3 }, 15000));
      const unlike = compareWithPrevious(dir, current, own)!;
      expect(unlike).toMatchObject({ file: 'loadtest-legacy-2030-01-01T00-02-00-000Z.json', operations: null });
      expect(unlike.differences).toEqual(['unlimited rate (--rate 0) there, 50 req/s here', 'PostgreSQL there, PGlite here']);
      const unlikeReport = { ...current, previous: unlike };
      const markdown = markdownReport(unlikeReport, 'chart.svg');
      expect(markdown).toContain(
        'No previous run of this scenario was made the same way (rate, connections, database), so nothing is compared; the latest, `loadtest-legacy-2030-01-01T00-02-00-000Z.json` (2030-01-01T00:02:00.000Z), differs: unlimited rate (--rate 0) there, 50 req/s here; PostgreSQL there, PGlite here.',
      );
      expect(markdown).not.toContain('Δ');
      expect(textReport(unlikeReport)).not.toContain('Δ');
      expect(textReport(unlikeReport)).toContain('differs: unlimited rate (--rate 0) there, 50 req/s here');

      // An older run made the same way is the one compared with, past the newer one that differs.
      write('loadtest-legacy-2030-01-01T00-01-00-000Z.json', run('2030-01-01T00:01:00.000Z', 'pglite (as the target\'s /ready reports it)', { rate: 50, connections: 10, durationS: 5, warmupS: 0 }, 40));
      write('loadtest-legacy-2030-01-01T00-00-00-000Z.json', run('2030-01-01T00:00:00.000Z', 'PGlite (embedded, fresh data directory)', { rate: 50, connections: 4, durationS: 10, warmupS: 3 }, 10));
      const like = compareWithPrevious(dir, current, own)!;
      expect(like).toMatchObject({ file: 'loadtest-legacy-2030-01-01T00-01-00-000Z.json', differences: [] });
      expect(like.operations!.every((o) => o.reqPerSec === 25)).toBe(true);
      const likeMarkdown = markdownReport({ ...current, previous: like }, 'chart.svg');
      expect(likeMarkdown).toContain('Δ compares with the previous run of this scenario made the same way, `loadtest-legacy-2030-01-01T00-01-00-000Z.json`');
      expect(likeMarkdown).toMatch(/\| Δ req\/s \| Δ p95 \|/);
      expect(likeMarkdown).toContain('| +25 % |');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('crosses a threshold when an operation is slower than its budget, has errors or fails checks', () => {
    const scenario = SCENARIOS.legacy!;
    const histogram = histogramOf;
    const measurements = (slowMs: number, errors: number, checkFailures: number): Measurements => ({
      startedAt: new Date(),
      durationS: 10,
      transportErrors: 0,
      timeouts: 0,
      subscribers: [],
      teardownProblems: [],
      operations: scenario.mix.map((op, i) => ({
        name: op.name,
        responses: 100,
        errors: i === 0 ? errors : 0,
        checks: 300,
        checkFailures: i === 0 ? checkFailures : 0,
        failedChecks: {},
        statuses: { 200: 100 },
        histogram: histogram(i === 1 ? slowMs * 1000 : 2000, 100),
        perSecond: [],
      })),
    });
    const context = fakeContext;
    expect(summarise(scenario, measurements(2, 0, 0), context).breaches).toEqual([]);
    // 100 ms: over the 50 ms p95 budget, under the 200 ms p99 budget.
    expect(summarise(scenario, measurements(100, 0, 0), context).breaches).toEqual([expect.stringMatching(/^SearchTools p95 100(\.\d+)? ms > 50 ms$/)]);
    const ungated = summarise(scenario, measurements(100, 0, 0), { ...context, latencyGate: false });
    expect(ungated.breaches).toEqual([]);
    expect(ungated.unenforced).toEqual([expect.stringMatching(/^SearchTools p95/)]);
    expect(summarise(scenario, measurements(2, 10, 0), { ...context, latencyGate: false }).breaches).toEqual([expect.stringMatching(/^error rate/)]);
    expect(summarise(scenario, measurements(2, 10, 0), context).breaches).toEqual([expect.stringMatching(/^error rate 1\.67 % > 1 %/)]);
    expect(summarise(scenario, measurements(2, 0, 100), context).breaches).toEqual([expect.stringMatching(/^check failure rate/)]);
  });
});
