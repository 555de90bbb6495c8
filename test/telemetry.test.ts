import { createServer, type Server } from 'node:http';
import { DEFAULT_LIMITS } from '../src/config.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../src/auth/keys.js';
import { createTool } from '../src/catalog/toolCommands.js';
import { windowStart } from '../src/telemetry/windows.js';
import { ObservedPerformanceView } from '../src/telemetry/observedPerformance.js';
import { RollupReader } from '../src/telemetry/rollupReader.js';
import { random } from '../scripts/bench/seededRandom.js';
import { startTestService, type TestService } from './support/service.js';

// Runs reported through both paths (the mutation and POST /executions on a real loopback listener),
// read back through the API and compared with exact figures computed by the database from raw rows.
const ADMIN_KEY = 'bootstrap-admin-key-for-telemetry';
let service: TestService;
let server: Server;
let base: string;
let reporter: Record<string, string>;
let reader: Record<string, string>;
let editor: Record<string, string>;
let toolId: string;
let patternIds: Record<string, string>;

const ORIGIN = { actor: 'test', trigger: 'test' } as const;
const TOOL = { name: 'telemetry-probe', platform: 'linux', version: '1.0' };

beforeAll(async () => {
  service = await startTestService({ adminApiKey: ADMIN_KEY, seed: false });
  reporter = { authorization: `Bearer ${await createApiKey(service.db.prisma, 'pipeline', 'reporter')}` };
  reader = { authorization: `Bearer ${await createApiKey(service.db.prisma, 'dashboard', 'reader')}` };
  editor = { authorization: `Bearer ${await createApiKey(service.db.prisma, 'ci-bot', 'editor')}` };
  toolId = await createTool(
    service.db.prisma,
    {
      ...TOOL,
      category: 'system',
      capabilities: [
        {
          name: 'probe',
          patterns: [
            { name: 'scaled', timeEstimateMs: '100 + 2 * N', costEstimate: 'ceil(N/10)', optionalInputs: [{ name: 'N', type: 'integer', default: 50 }] },
            { name: 'steady', timeEstimateMs: '100' },
            { name: 'slow', timeEstimateMs: '100' },
            { name: 'unestimated' },
          ],
        },
      ],
    },
    ORIGIN,
  );
  const patterns = await service.db.prisma.pattern.findMany({ where: { capability: { toolId } } });
  patternIds = Object.fromEntries(patterns.map((p) => [p.name, p.id]));
  // Idle keep-alive sockets stay open through the longer tests: fetch reuses pooled sockets, and one
  // the server closed after its default 5 s at the moment it was reused fails with ECONNRESET.
  server = createServer({ keepAliveTimeout: 120_000 }, service.app.handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await service.close();
});


/** Log-normal durations: a long right tail, as real tools have. */
function logNormal(next: () => number, median: number, sigma: number) {
  const u = Math.max(next(), 1e-12);
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
  return median * Math.exp(sigma * z);
}

type Run = Record<string, unknown>;
const run = (executionId: string, fields: Run = {}): Run => ({
  executionId,
  ...TOOL,
  capability: 'probe',
  pattern: 'steady',
  startedAt: new Date().toISOString(),
  durationMs: 100,
  success: true,
  ...fields,
});

const REPORT = `mutation ($runs: [ExecutionInput!]!) { reportExecutions(executions: $runs) {
  accepted duplicates rejected items { index executionId outcome reason message } } }`;
const report = (runs: Run[], headers = reporter) => service.graphql(REPORT, { runs }, headers);

const ndjson = (runs: Array<Run | string>, headers: Record<string, string> = reporter) =>
  fetch(`${base}/executions`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson', ...headers },
    body: runs.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n',
  });

const STATS = `query ($id: ID!, $window: StatsWindow!) { toolById(id: $id) {
  executionStats(window: $window) { runs successes successRate durationMs { p50 p95 p99 mean } cost { mean total } estimateError { runs medianRatio } drift drifting lastRunAt }
  capabilities { patterns { name executionStats(window: $window) { runs successes successRate durationMs { p50 p95 p99 mean } cost { mean total } estimateError { runs medianRatio estimatedMedianMs } drift drifting lastRunAt } } }
} }`;

describe('reporting runs', () => {
  it('is what a reporter key may do, and changing the catalog is not', async () => {
    const created = await service.graphql(`mutation { createApiKey(name: "pipeline-2", role: REPORTER) { ... on CreatedApiKey { role } } }`, {}, { authorization: `Bearer ${ADMIN_KEY}` });
    expect(created.data?.createApiKey).toEqual({ role: 'REPORTER' });
    const tools = await service.db.prisma.tool.count();
    const change = await service.graphql(`mutation { createTool(input: { name: "sneaky", platform: "linux", version: "1", category: "system" }) { __typename } }`, {}, reporter);
    expect(change.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const importing = await service.graphql(`mutation { importCatalog(documents: [{ name: "a.yaml", content: "tool_name: a\\nversion: '1'\\nplatform: linux\\ncategory: system\\n" }]) { __typename } }`, {}, reporter);
    expect(importing.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await service.db.prisma.tool.count()).toBe(tools);

    expect((await report([run('role-1')])).data?.reportExecutions.accepted).toBe(1);
    expect((await report([run('role-2')], reader)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await report([run('role-3')], {})).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // Editors and admins may report too (reader < reporter < editor < admin).
    expect((await report([run('role-4')], editor)).data?.reportExecutions.accepted).toBe(1);
    expect(await service.db.prisma.toolExecution.count({ where: { executionId: { startsWith: 'role-' } } })).toBe(2);
  });

  it('checks each run on its own, stores the valid ones with their estimates, and a retry changes nothing', async () => {
    const future = new Date(Date.now() + 10 * 60_000).toISOString();
    const old = new Date(Date.now() - 31 * 86_400_000).toISOString();
    const runs = [
      run('check-scaled', { pattern: 'scaled', durationMs: 150, cost: 3, variables: { N: 10 }, errorType: 'PARTIAL', errorMessage: 'é'.repeat(3000), environment: 'staging', decisionId: 'd-1', unitId: 'u-1' }),
      run('check-default', { pattern: 'scaled', durationMs: 260 }),
      run('check-unknown-tool', { name: 'no-such-tool' }),
      run('check-unknown-version', { version: '9.9' }),
      run('check-unknown-pattern', { pattern: 'nope' }),
      run('check-negative', { durationMs: -1 }),
      run('check-future', { startedAt: future }),
      run('check-old', { startedAt: old }),
      run('check-default', { durationMs: 999 }),
      { ...run('check-missing'), executionId: '' },
      run('check-by-id', { name: undefined, platform: undefined, version: undefined, toolId, pattern: 'unestimated' }),
    ];
    const first = await report(runs);
    expect(first.errors).toBeUndefined();
    const outcome = first.data!.reportExecutions;
    expect(outcome.items.map((i: { outcome: string; reason: string | null }) => i.reason ?? i.outcome)).toEqual([
      'ACCEPTED',
      'ACCEPTED',
      'UNKNOWN_TOOL',
      'UNKNOWN_TOOL',
      'UNKNOWN_PATTERN',
      'NEGATIVE_DURATION',
      'STARTED_IN_FUTURE',
      'STARTED_TOO_LONG_AGO',
      'DUPLICATE',
      'INVALID_INPUT',
      'ACCEPTED',
    ]);
    expect(outcome).toMatchObject({ accepted: 3, duplicates: 1, rejected: 7 });
    expect(outcome.items[9].message).toMatch(/^executionId:/);

    const scaled = await service.db.prisma.toolExecution.findUniqueOrThrow({ where: { executionId: 'check-scaled' } });
    // 100 + 2 * N with the run's N = 10; cost ceil(10/10).
    expect(scaled).toMatchObject({ estimatedTimeMs: 120, estimatedCost: 1, timeVarianceMs: 30, costVariance: 2, errorType: 'PARTIAL', environment: 'staging', decisionId: 'd-1', unitId: 'u-1', reportedBy: 'pipeline', patternId: patternIds.scaled });
    expect(scaled.variables).toEqual({ N: 10 });
    // Time-ordered ids (version 7 layout): the first 48 bits are the milliseconds it was stored at.
    expect(scaled.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const storedAtMs = Number.parseInt(scaled.id.replace(/-/g, '').slice(0, 12), 16);
    expect(Math.abs(storedAtMs - scaled.reportedAt.getTime())).toBeLessThan(60_000);
    expect(Buffer.byteLength(scaled.errorMessage!)).toBe(2048);
    expect(scaled.errorMessage).toBe('é'.repeat(1024));
    // Without variables, the input's declared default (N = 50) beats the global one (N = 100).
    const byDefault = await service.db.prisma.toolExecution.findUniqueOrThrow({ where: { executionId: 'check-default' } });
    expect(byDefault).toMatchObject({ durationMs: 260, estimatedTimeMs: 200, timeVarianceMs: 60, estimatedCost: 5, costVariance: null });
    const unestimated = await service.db.prisma.toolExecution.findUniqueOrThrow({ where: { executionId: 'check-by-id' } });
    expect(unestimated).toMatchObject({ estimatedTimeMs: null, estimatedCost: null, timeVarianceMs: null });

    const rowsBefore = await service.db.prisma.toolExecution.findMany({ orderBy: { executionId: 'asc' } });
    const rollupRuns = await service.db.prisma.executionRollup.aggregate({ _sum: { runs: true } });
    const retry = (await report(runs)).data!.reportExecutions;
    expect(retry).toMatchObject({ accepted: 0, duplicates: 4, rejected: 7 });
    expect(await service.db.prisma.toolExecution.findMany({ orderBy: { executionId: 'asc' } })).toEqual(rowsBefore);
    expect(await service.db.prisma.executionRollup.aggregate({ _sum: { runs: true } })).toEqual(rollupRuns);
  });

  it('is not a catalog change: no catalog event, no audit entry, the catalog generation and cached reads stay', async () => {
    const cached = () => fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ tool(name: "telemetry-probe") { name version } }' }) }).then((r) => r.text());
    await cached();
    const generation = service.app.clock.generation;
    const events = await service.db.prisma.catalogEvent.count();
    const audit = await service.db.prisma.auditLog.count();
    const telemetryGeneration = service.app.telemetry.clock.generation;
    expect((await report([run('not-a-change-1')])).data?.reportExecutions.accepted).toBe(1);
    expect((await (await ndjson([run('not-a-change-2')])).json()).accepted).toBe(1);
    expect(service.app.clock.generation).toBe(generation);
    expect(service.app.telemetry.clock.generation).toBe(telemetryGeneration + 2);
    expect(await service.db.prisma.catalogEvent.count()).toBe(events);
    expect(await service.db.prisma.auditLog.count()).toBe(audit);
    // The cached catalog answer is still served from memory.
    const { statements } = await service.recordStatements(cached);
    expect(statements).toEqual([]);
  });

  it('refuses more than 1,000 runs in one call, writing nothing', async () => {
    const runs = Array.from({ length: 1001 }, (_, i) => run(`too-many-${i}`));
    const result = await report(runs);
    expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await service.db.prisma.toolExecution.count({ where: { executionId: { startsWith: 'too-many-' } } })).toBe(0);
  });
});

describe('POST /executions', () => {
  it('takes one run per line and answers counts and the rejected lines', async () => {
    const response = await ndjson([run('nd-1'), '{not json', '', run('nd-2', { durationMs: -5 }), run('nd-1'), run('nd-3', { pattern: 'nope' }), run('nd-4', { success: 'yes' })]);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      lines: 7,
      accepted: 1,
      duplicates: 1,
      rejected: 4,
      rejectedLines: [
        { line: 2, executionId: null, reason: 'INVALID_INPUT', message: expect.stringMatching(/^not JSON/) },
        { line: 4, executionId: 'nd-2', reason: 'NEGATIVE_DURATION', message: expect.any(String) },
        { line: 6, executionId: 'nd-3', reason: 'UNKNOWN_PATTERN', message: expect.any(String) },
        { line: 7, executionId: 'nd-4', reason: 'INVALID_INPUT', message: expect.stringMatching(/^success:/) },
      ],
    });
  });

  it('answers 413 to a body over REQUEST_BODY_LIMIT_BYTES, declared or streamed, and stores nothing', async () => {
    const line = `${JSON.stringify(run('nd-huge'))}\n`;
    const lines = Math.ceil((DEFAULT_LIMITS.bodyBytes + 1) / line.length);
    // Streamed without a Content-Length: counted as it arrives, the rest read and dropped.
    const chunk = new TextEncoder().encode(line.repeat(1000));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= lines) return controller.close();
        controller.enqueue(chunk);
        sent += 1000;
      },
    });
    const streamed = await fetch(`${base}/executions`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson', ...reporter }, body: stream, duplex: 'half' } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(await streamed.json()).toEqual({ error: `the body is larger than ${DEFAULT_LIMITS.bodyBytes} bytes` });
    const declared = await fetch(`${base}/executions`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson', ...reporter }, body: line.repeat(lines) });
    expect(declared.status).toBe(413);
    expect(await service.db.prisma.toolExecution.count({ where: { executionId: 'nd-huge' } })).toBe(0);
  });

  it('needs a reporter key, and only POST', async () => {
    expect((await ndjson([run('nd-anon')], {})).status).toBe(401);
    expect((await ndjson([run('nd-bad')], { authorization: 'Bearer tc_nope' })).status).toBe(401);
    expect((await ndjson([run('nd-reader')], reader)).status).toBe(403);
    expect((await fetch(`${base}/executions`, { headers: reporter })).status).toBe(405);
    expect(await service.db.prisma.toolExecution.count({ where: { executionId: { in: ['nd-anon', 'nd-bad', 'nd-reader'] } } })).toBe(0);
  });
});

describe('concurrent retries', () => {
  it('store each run once whatever the path and however many times it is sent at once', async () => {
    const runs = Array.from({ length: 2000 }, (_, i) => run(`retry-${i}`, { pattern: 'steady', durationMs: 90 + (i % 20) }));
    const batches = [0, 1, 2, 3].map((b) => runs.slice(b * 500, b * 500 + 500));
    const attempts = batches.flatMap((batch) => [
      report(batch).then((r) => r.data!.reportExecutions as { accepted: number; duplicates: number }),
      ndjson(batch).then((r) => r.json() as Promise<{ accepted: number; duplicates: number }>),
      report(batch).then((r) => r.data!.reportExecutions as { accepted: number; duplicates: number }),
    ]);
    const results = await Promise.all(attempts);
    expect(results.reduce((sum, r) => sum + r.accepted, 0)).toBe(2000);
    expect(results.reduce((sum, r) => sum + r.duplicates, 0)).toBe(4000);
    expect(await service.db.prisma.toolExecution.count({ where: { executionId: { startsWith: 'retry-' } } })).toBe(2000);
    const [dupes] = await service.db.prisma.$queryRaw<Array<{ n: bigint }>>`SELECT count(*) AS n FROM (SELECT "executionId" FROM "ToolExecution" GROUP BY 1 HAVING count(*) > 1) d`;
    expect(Number(dupes!.n)).toBe(0);
    // The roll-ups counted each run once too.
    const raw = await service.db.prisma.toolExecution.count({ where: { toolId } });
    expect((await service.db.prisma.executionRollup.aggregate({ where: { toolId }, _sum: { runs: true } }))._sum.runs).toBe(raw);
  });
});

describe('observed performance', () => {
  // Known distributions over the last few hours, reported in batches of 500.
  const next = random(42);
  const now = Date.now();
  const generated = Array.from({ length: 6000 }, (_, i) => {
    const pattern = i % 3 === 0 ? 'slow' : 'scaled';
    const N = 1 + Math.floor(next() * 200);
    const durationMs = pattern === 'slow' ? logNormal(next, 300, 0.4) : logNormal(next, 100 + 2 * N, 0.25);
    return run(`dist-${i}`, {
      pattern,
      variables: { N },
      durationMs: Math.round(durationMs * 1000) / 1000,
      success: next() < (pattern === 'slow' ? 0.7 : 0.98),
      cost: Math.round(next() * 1000) / 100,
      startedAt: new Date(now - Math.floor(next() * 5 * 3_600_000)).toISOString(),
    });
  });

  /** Exact figures from the raw rows, by PostgreSQL itself. */
  async function exact(patternId: string | null, from: Date) {
    const [row] = await service.db.prisma.$queryRaw<Array<{ runs: bigint; successes: bigint; q: number[]; mean: number; costTotal: number; costMean: number; lastRunAt: Date }>>`
      SELECT count(*) AS runs, count(*) FILTER (WHERE success) AS successes,
             percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY "durationMs") AS q, avg("durationMs") AS mean, sum(cost) AS "costTotal",
             avg(cost) AS "costMean", max("startedAt") AS "lastRunAt"
      FROM "ToolExecution" WHERE "toolId" = ${toolId}::uuid AND "startedAt" >= ${from} AND (${patternId}::uuid IS NULL OR "patternId" = ${patternId}::uuid)`;
    return {
      runs: Number(row!.runs),
      successes: Number(row!.successes),
      p50: row!.q[0]!,
      p95: row!.q[1]!,
      p99: row!.q[2]!,
      mean: row!.mean,
      costTotal: row!.costTotal,
      costMean: row!.costMean,
      lastRunAt: row!.lastRunAt,
    };
  }

  const within = (actual: number, expected: number, relative: number) => expect(Math.abs(actual - expected) / Math.abs(expected)).toBeLessThanOrEqual(relative);

  type Stats = {
    runs: number;
    successes: number;
    successRate: number;
    durationMs: { p50: number; p95: number; p99: number; mean: number };
    cost: { mean: number; total: number };
    lastRunAt: string;
  };
  function compare(stats: Stats, truth: Awaited<ReturnType<typeof exact>>) {
    expect(stats.runs).toBe(truth.runs);
    expect(stats.successes).toBe(truth.successes);
    expect(stats.successRate).toBeCloseTo(truth.successes / truth.runs, 12);
    expect(new Date(stats.lastRunAt)).toEqual(truth.lastRunAt);
    within(stats.cost.mean, truth.costMean, 1e-9);
    within(stats.durationMs.p50, truth.p50, 0.02);
    within(stats.durationMs.p95, truth.p95, 0.02);
    within(stats.durationMs.p99, truth.p99, 0.02);
    within(stats.durationMs.mean, truth.mean, 1e-9);
    within(stats.cost.total, truth.costTotal, 1e-9);
  }

  let before: unknown;
  /** Every number to 12 significant digits. */
  const rounded = (value: unknown): unknown =>
    JSON.parse(JSON.stringify(value), (_key, v: unknown) => (typeof v === 'number' ? Number(v.toPrecision(12)) : v));

  it('gives counts exactly and percentiles within 2 % of PostgreSQL percentile_cont over the raw rows', async () => {
    for (let b = 0; b < generated.length; b += 500) {
      const batch = generated.slice(b, b + 500);
      const result = b % 1000 === 0 ? (await report(batch)).data!.reportExecutions : await (await ndjson(batch)).json();
      expect(result.accepted).toBe(batch.length);
    }
    const from = windowStart('LAST_24H')!;
    const response = await service.graphql(STATS, { id: toolId, window: 'LAST_24H' });
    expect(response.errors).toBeUndefined();
    const tool = response.data!.toolById;
    compare(tool.executionStats, await exact(null, from));
    const byName = Object.fromEntries(tool.capabilities[0].patterns.map((p: { name: string; executionStats: Stats }) => [p.name, p.executionStats]));
    for (const name of ['scaled', 'slow']) compare(byName[name], await exact(patternIds[name]!, from));
    // The estimate of `scaled` follows each run's N, so observed ÷ estimated stays near 1; `slow` is 3 × its estimate.
    expect(byName.scaled.estimateError.medianRatio).toBeGreaterThan(0.9);
    expect(byName.scaled.estimateError.medianRatio).toBeLessThan(1.1);
    within(byName.slow.estimateError.medianRatio, 3, 0.05);
    expect(byName.slow.drifting).toBe(true);
    within(byName.slow.estimateError.estimatedMedianMs, 100, 0.01);
    expect(byName.scaled.drifting).toBe(false);
    before = response.data;
  });

  it('answers the same after compaction and after the raw rows are pruned', async () => {
    await service.app.telemetry.maintenance.compact();
    expect(await service.db.prisma.executionRollup.count({ where: { compacted: false } })).toBe(0);
    const compacted = await service.graphql(STATS, { id: toolId, window: 'LAST_24H' });
    // Sums may differ in the last bits (added in another order); counts and percentiles may not.
    expect(rounded(compacted.data)).toEqual(rounded(before));
    // Prune as if 31 days had passed: every raw run goes, the roll-ups stay.
    const pruned = await service.app.telemetry.maintenance.prune(Date.now() + 31 * 86_400_000);
    expect(pruned.runs).toBeGreaterThan(6000);
    expect(await service.db.prisma.toolExecution.count()).toBe(0);
    expect(rounded((await service.graphql(STATS, { id: toolId, window: 'LAST_24H' })).data)).toEqual(rounded(before));
    // Roll-ups go once past their own retention.
    expect(await service.db.prisma.executionRollupDaily.count()).toBeGreaterThan(0);
    await service.app.telemetry.maintenance.prune(Date.now() + 401 * 86_400_000);
    expect(await service.db.prisma.executionRollup.count()).toBe(0);
    expect(await service.db.prisma.executionRollupDaily.count()).toBe(0);
    const empty = await service.graphql(STATS, { id: toolId, window: 'ALL' });
    expect(empty.data!.toolById.executionStats).toMatchObject({ runs: 0, durationMs: null, drift: null, drifting: false });
  });

  it('lists drifting patterns worst first and failing tools, with their minimum runs', async () => {
    await report(generated.slice(0, 500));
    const drifting = await service.graphql(`{ driftingPatterns(window: LAST_24H, first: 5) { edges { node { tool { name version } capability pattern runs estimatedRuns observedMedianMs estimatedMedianMs medianRatio drift } } pageInfo { hasNextPage } } }`);
    expect(drifting.errors).toBeUndefined();
    const nodes = drifting.data!.driftingPatterns.edges.map((e: { node: unknown }) => e.node);
    expect(nodes).toHaveLength(1);
    expect(nodes[0]).toMatchObject({ tool: { name: 'telemetry-probe', version: '1.0' }, capability: 'probe', pattern: 'slow' });
    within(nodes[0].estimatedMedianMs, 100, 0.01);
    within(nodes[0].observedMedianMs, 300, 0.1);
    expect(nodes[0].drift).toBeCloseTo(nodes[0].medianRatio - 1, 10);
    const slowRuns = nodes[0].estimatedRuns as number;
    // Fewer runs than DRIFT_MIN_RUNS (30) is not enough to call it drift.
    expect(slowRuns).toBeGreaterThanOrEqual(30);

    // Two more patterns drift: `late` (2.5 × its estimate) only from its 30th run on, `early` (0.4 ×) from the start.
    await createTool(
      service.db.prisma,
      { name: 'drift-probe', platform: 'linux', version: '1.0', category: 'system', capabilities: [{ name: 'lag', patterns: [{ name: 'late', timeEstimateMs: '100' }, { name: 'early', timeEstimateMs: '100' }] }] },
      ORIGIN,
    );
    const driftRun = (id: string, pattern: string, durationMs: number) => ({ ...run(id, { pattern, durationMs }), name: 'drift-probe', capability: 'lag' });
    const names = async () =>
      (await service.graphql(`{ driftingPatterns(window: LAST_24H) { edges { node { tool { name } pattern drift } } } }`)).data!.driftingPatterns.edges.map(
        (e: { node: { tool: { name: string }; pattern: string } }) => `${e.node.tool.name}/${e.node.pattern}`,
      );
    expect((await report([...Array.from({ length: 29 }, (_, i) => driftRun(`late-${i}`, 'late', 250)), ...Array.from({ length: 40 }, (_, i) => driftRun(`early-${i}`, 'early', 40))])).data!.reportExecutions.accepted).toBe(69);
    expect(await names()).toEqual(['telemetry-probe/slow', 'drift-probe/early']);
    expect((await report([driftRun('late-29', 'late', 250)])).data!.reportExecutions.accepted).toBe(1);
    expect(await names()).toEqual(['telemetry-probe/slow', 'drift-probe/late', 'drift-probe/early']);
    const page = await service.graphql(`{ driftingPatterns(window: LAST_24H, first: 1) { edges { cursor node { pattern } } pageInfo { hasNextPage endCursor } } }`);
    expect(page.data!.driftingPatterns.pageInfo.hasNextPage).toBe(true);
    const rest = await service.graphql(`query ($after: String) { driftingPatterns(window: LAST_24H, first: 5, after: $after) { edges { node { pattern } } } }`, { after: page.data!.driftingPatterns.pageInfo.endCursor });
    expect(rest.data!.driftingPatterns.edges.map((e: { node: { pattern: string } }) => e.node.pattern)).toEqual(['late', 'early']);

    const failing = await service.graphql(`{ failingTools(window: LAST_24H, minRuns: 10, maxSuccessRate: 0.95) { tool { name } runs successes successRate } }`);
    expect(failing.data!.failingTools).toHaveLength(1);
    expect(failing.data!.failingTools[0].tool.name).toBe('telemetry-probe');
    const none = await service.graphql(`{ failingTools(window: LAST_24H, minRuns: 100000, maxSuccessRate: 0.95) { runs } }`);
    expect(none.data!.failingTools).toEqual([]);
    const bad = await service.graphql(`{ failingTools(maxSuccessRate: 2) { runs } }`);
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('is read fresh after every report, even with the response cache on', async () => {
    const read = async () =>
      (await (await fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: STATS, variables: { id: toolId, window: 'ALL' } }) })).json()).data.toolById
        .executionStats.runs as number;
    let runs = await read();
    for (let i = 0; i < 5; i++) {
      await report([run(`fresh-${i}`)]);
      const after = await read();
      expect(after).toBe(runs + 1);
      runs = after;
    }
  });

  it('gives selection a per-pattern view of the last 7 days, rebuilt when asked while unused and following reports while used', async () => {
    // A view of its own, so that no selection elsewhere in this file has marked it used.
    const view = new ObservedPerformanceView(service.db.prisma, service.app.telemetry.clock, new RollupReader(), { minRefreshMs: 100 });
    view.start();
    try {
      await report([
        run('view-1', { pattern: 'unestimated', durationMs: 40, cost: 2 }),
        run('view-2', { pattern: 'unestimated', durationMs: 60, cost: 4 }),
        run('view-3', { pattern: 'unestimated', durationMs: 80, cost: 6 }),
      ]);
      const target = service.app.telemetry.clock.generation;
      // Unused, it does not merge roll-ups on every report.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(view.generation).toBeLessThan(target);
      // Asked for, it is brought up to date before it answers.
      await view.current();
      expect(view.generation).toBeGreaterThanOrEqual(target);
      const seen = view.get(toolId, 'probe', 'unestimated')!;
      expect(seen.runs).toBe(3);
      expect(seen.meanCost).toBe(4);
      within(seen.p50TimeMs, 60, 0.01);
      expect(view.get(toolId, 'probe', 'no-such-pattern')).toBeUndefined();

      // In use now: it follows the next report by itself.
      await report([run('view-4', { pattern: 'unestimated', durationMs: 100, cost: 8 })]);
      const next = service.app.telemetry.clock.generation;
      const deadline = Date.now() + 10_000;
      while (view.generation < next && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(view.generation).toBeGreaterThanOrEqual(next);
      expect(view.get(toolId, 'probe', 'unestimated')!.runs).toBe(4);
    } finally {
      view.stop();
    }
  });

  it('counts reports by outcome and path, times ingestion and exposes the roll-up lag', async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? NaN);
    expect(value(/^tool_catalog_executions_reported_total\{outcome="accepted",path="graphql"[^}]*\} (\d+)/m)).toBeGreaterThan(0);
    expect(value(/^tool_catalog_executions_reported_total\{outcome="accepted",path="ndjson"[^}]*\} (\d+)/m)).toBeGreaterThan(0);
    expect(value(/^tool_catalog_executions_reported_total\{outcome="duplicate",path="ndjson"[^}]*\} (\d+)/m)).toBeGreaterThan(0);
    expect(value(/^tool_catalog_executions_reported_total\{outcome="rejected",path="graphql"[^}]*\} (\d+)/m)).toBeGreaterThanOrEqual(7);
    expect(value(/^tool_catalog_execution_ingest_duration_seconds_count\{[^}]*path="ndjson"[^}]*\} (\d+)/m)).toBeGreaterThan(0);
    expect(value(/^tool_catalog_telemetry_rollup_lag_seconds\{[^}]*\} ([\d.e+-]+)/m)).toBeGreaterThanOrEqual(0);
  });

  it('measures the roll-up lag from the first partial written, until a compaction folds it', async () => {
    const maintenance = service.app.telemetry.maintenance;
    await maintenance.compact();
    expect(maintenance.lagSeconds(Date.now() + 10_000)).toBe(0);
    await report([run('lag-1')]);
    // No compaction ran: the lag grows with time (a compactor that keeps failing shows up).
    expect(maintenance.lagSeconds(Date.now() + 10_000)).toBeGreaterThanOrEqual(10);
    const gauge = async () => Number(/^tool_catalog_telemetry_rollup_lag_seconds\{[^}]*\} ([\d.e+-]+)/m.exec(await (await fetch(`${base}/metrics`)).text())?.[1]);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(await gauge()).toBeGreaterThanOrEqual(1);
    await maintenance.compact();
    expect(maintenance.lagSeconds(Date.now() + 10_000)).toBe(0);
    expect(await gauge()).toBe(0);
  });
});
