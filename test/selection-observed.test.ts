import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../src/auth/keys.js';
import { startTestService, type TestService } from './support/service.js';

/**
 * Selection learns (issue 15, item 3): with `useObserved`, a pattern with at least `minRuns` runs in
 * the last 7 days is ranked and checked on its observed median time and mean cost instead of its
 * estimate expressions; both are shown, `why` says so, and the call still costs no SQL.
 */
const ADMIN_KEY = 'selection-observed-admin-key-0123456789';
let service: TestService;
let editor: Record<string, string>;
let reporter: Record<string, string>;

const SELECT = `query ($request: SelectToolsInput!) { selectTools(request: $request) {
  candidates { rank score pattern why tool { name } features { time cost }
    estimate { timeMs cost source expression { timeMs cost } observed { runs timeMs cost } } }
  excluded { tool { name } pattern reason detail limit value }
} }`;
const REPORT = `mutation ($runs: [ExecutionInput!]!) { reportExecutions(executions: $runs) { accepted rejected items { outcome reason message } } }`;

const tool = (name: string, timeEstimateMs: string, costEstimate: string) => ({
  name,
  platform: 'linux',
  version: '1.0',
  category: 'system',
  description: `Probe ${name}`,
  capabilities: [{ name: 'learn_probe', description: 'Probes', patterns: [{ name: 'probe', timeEstimateMs, costEstimate }] }],
});

/** The time feature of the rule (README, "Selecting tools"). */
const timeFeature = (ms: number) => {
  const t = Math.min(60_000, Math.max(50, ms));
  return 1 - (Math.log(t) - Math.log(50)) / (Math.log(60_000) - Math.log(50));
};

async function select(request: Record<string, unknown>) {
  const response = await service.graphql(SELECT, { request: { capability: 'learn_probe', preference: 'FAST', ...request } });
  expect(response.errors).toBeUndefined();
  return response.data.selectTools;
}

async function report(name: string, count: number, durationMs: (i: number) => number, cost: number | null) {
  const runs = Array.from({ length: count }, (_, i) => ({
    executionId: `${name}-${i}`,
    name,
    platform: 'linux',
    version: '1.0',
    capability: 'learn_probe',
    pattern: 'probe',
    startedAt: new Date(Date.now() - 60_000).toISOString(),
    durationMs: durationMs(i),
    success: true,
    ...(cost === null ? {} : { cost }),
  }));
  const response = await service.graphql(REPORT, { runs }, reporter);
  expect(response.errors).toBeUndefined();
  expect(response.data.reportExecutions).toMatchObject({ accepted: count, rejected: 0 });
  // The service refreshes the view within a second of a report; the test does it at once.
  await service.app.telemetry.observedPerformance.refresh();
}

beforeAll(async () => {
  service = await startTestService({ adminApiKey: ADMIN_KEY, seed: false });
  editor = { authorization: `Bearer ${await createApiKey(service.db.prisma, 'editor', 'editor')}` };
  reporter = { authorization: `Bearer ${await createApiKey(service.db.prisma, 'pipeline', 'reporter')}` };
  for (const input of [tool('quick-on-paper', '100', '1'), tool('slow-on-paper', '20000', '5'), tool('needs-hosts', '10 * hosts', '2 * hosts')]) {
    const response = await service.graphql(`mutation ($input: ToolInput!) { createTool(input: $input) { __typename } }`, { input }, editor);
    expect(response.data.createTool.__typename).toBe('Tool');
  }
});
afterAll(() => service.close());

describe('selectTools with useObserved', () => {
  it('ranks on the estimates while a pattern has no runs, and shows no observed figures without useObserved', async () => {
    const plain = await select({});
    expect(plain.candidates.map((c: any) => c.tool.name)).toEqual(['quick-on-paper', 'slow-on-paper']);
    expect(plain.candidates[0].estimate).toEqual({ timeMs: 100, cost: 1, source: 'ESTIMATE', expression: { timeMs: 100, cost: 1 }, observed: null });
    expect(plain.excluded).toMatchObject([{ tool: { name: 'needs-hosts' }, reason: 'MISSING_VARIABLE' }]);
    // Asked for before any run exists: this answer must not be replayed after runs arrive.
    const learning = await select({ useObserved: true });
    expect(learning.candidates.map((c: any) => c.estimate.source)).toEqual(['ESTIMATE', 'ESTIMATE']);
    expect(learning.candidates[0].estimate.observed).toBeNull();
  });

  it('uses the observed median time and mean cost from minRuns runs on, and says so', async () => {
    // 30 runs around 30 s costing 8: the pattern that looked quick is slow and dear in practice.
    await report('quick-on-paper', 30, (i) => 29_000 + 100 * (i % 21), 8);
    const observedMedian = 30_000;

    const learnt = await select({ useObserved: true });
    const names = learnt.candidates.map((c: any) => c.tool.name);
    expect(names).toEqual(['slow-on-paper', 'quick-on-paper']);
    const quick = learnt.candidates[1];
    expect(quick.estimate.source).toBe('OBSERVED');
    expect(quick.estimate.observed.runs).toBe(30);
    expect(Math.abs(quick.estimate.observed.timeMs - observedMedian) / observedMedian).toBeLessThan(0.02);
    expect(quick.estimate.observed.cost).toBe(8);
    expect(quick.estimate.timeMs).toBe(quick.estimate.observed.timeMs);
    expect(quick.estimate.cost).toBe(8);
    expect(quick.estimate.expression).toEqual({ timeMs: 100, cost: 1 });
    // The features are computed on the observed figures.
    expect(quick.features.time).toBeCloseTo(timeFeature(quick.estimate.timeMs), 12);
    expect(quick.features.cost).toBeCloseTo(1 - 8 / 10, 12);
    expect(quick.why).toMatch(/observed at [\d.]+ ms \(median of 30 runs in the last 7 days; estimate 100 ms\) and cost 8 \(mean of those runs; estimate 1\)/);
    // The slow one has no runs: still on its estimates.
    expect(learnt.candidates[0].estimate).toMatchObject({ source: 'ESTIMATE', timeMs: 20_000, observed: null });

    // The limits apply to the figures used.
    const limited = await select({ useObserved: true, maxTimeMs: 25_000 });
    expect(limited.candidates.map((c: any) => c.tool.name)).toEqual(['slow-on-paper']);
    const over = limited.excluded.find((e: any) => e.tool.name === 'quick-on-paper');
    expect(over).toMatchObject({ reason: 'OVER_TIME_LIMIT', limit: 25_000, value: quick.estimate.timeMs });

    // Without useObserved nothing changes.
    expect((await select({})).candidates.map((c: any) => c.tool.name)).toEqual(['quick-on-paper', 'slow-on-paper']);
  });

  it('stays on the estimates below minRuns, showing how many runs there are', async () => {
    const selection = await select({ useObserved: true, minRuns: 31 });
    expect(selection.candidates.map((c: any) => c.tool.name)).toEqual(['quick-on-paper', 'slow-on-paper']);
    const quick = selection.candidates[0];
    expect(quick.estimate).toMatchObject({ source: 'ESTIMATE', timeMs: 100, cost: 1, observed: { runs: 30, cost: 8 } });
    expect(quick.why).toMatch(/only 30 observed runs in the last 7 days, fewer than minRuns 31/);
    const bad = await service.graphql(SELECT, { request: { capability: 'learn_probe', useObserved: true, minRuns: 0 } });
    expect(bad.errors?.[0]?.message).toMatch(/minRuns/);
  });

  it('lets runs stand in for expressions that cannot be evaluated, when they report a cost', async () => {
    await report('needs-hosts', 30, () => 400, 0.5);
    const selection = await select({ useObserved: true });
    const hosts = selection.candidates.find((c: any) => c.tool.name === 'needs-hosts');
    expect(hosts.estimate).toMatchObject({ source: 'OBSERVED', cost: 0.5, expression: null, observed: { runs: 30, cost: 0.5 } });
    expect(selection.excluded).toEqual([]);
    // Without a reported cost the expression must still give one: excluded as before.
    await report('slow-on-paper', 30, () => 300, null);
    const slow = (await select({ useObserved: true })).candidates.find((c: any) => c.tool.name === 'slow-on-paper');
    expect(slow.estimate).toMatchObject({ source: 'OBSERVED', cost: 5, expression: { timeMs: 20_000, cost: 5 }, observed: { runs: 30, cost: null } });
    expect(slow.why).toMatch(/cost 5 \(estimated: no run reported a cost\)/);
  });

  it('costs no SQL per call', async () => {
    await select({ useObserved: true, variables: { N: 1 } });
    for (const N of [2, 3, 4]) {
      const { result, statements } = await service.recordStatements(() => select({ useObserved: true, variables: { N } }));
      expect(statements).toEqual([]);
      expect(result.candidates.some((c: any) => c.estimate.source === 'OBSERVED')).toBe(true);
    }
  });
});

describe('observed figures asked for by a selection', () => {
  it('are brought up to date first: runs reported before the view was ever built are used at once', async () => {
    // A service of its own: here the view has never been built, and nothing refreshes it but the selection.
    const own = await startTestService({ adminApiKey: ADMIN_KEY, seed: false });
    try {
      const editorKey = { authorization: `Bearer ${await createApiKey(own.db.prisma, 'editor', 'editor')}` };
      const reporterKey = { authorization: `Bearer ${await createApiKey(own.db.prisma, 'pipeline', 'reporter')}` };
      const created = await own.graphql(`mutation ($input: ToolInput!) { createTool(input: $input) { __typename } }`, { input: tool('fresh-probe', '100', '1') }, editorKey);
      expect(created.data.createTool.__typename).toBe('Tool');
      const runs = Array.from({ length: 30 }, (_, i) => ({
        executionId: `fresh-${i}`, name: 'fresh-probe', platform: 'linux', version: '1.0', capability: 'learn_probe', pattern: 'probe',
        startedAt: new Date(Date.now() - 60_000).toISOString(), durationMs: 900, success: true, cost: 3,
      }));
      expect((await own.graphql(REPORT, { runs }, reporterKey)).data.reportExecutions).toMatchObject({ accepted: 30 });
      const response = await own.graphql(SELECT, { request: { capability: 'learn_probe', useObserved: true } });
      expect(response.errors).toBeUndefined();
      const { estimate } = response.data.selectTools.candidates[0];
      expect(estimate).toMatchObject({ source: 'OBSERVED', cost: 3, observed: { runs: 30 } });
      expect(Math.abs(estimate.timeMs - 900) / 900).toBeLessThanOrEqual(0.01);
    } finally {
      await own.close();
    }
  });
});
