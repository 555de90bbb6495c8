import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../src/auth/keys.js';
import { assign } from '../src/experiments/assignment.js';
import { selectTools } from '../src/selection/selectTools.js';
import { startTestService, type TestService } from './support/service.js';

/**
 * Experiments in the decision and their outcomes, end to end (issue 16, items 3 and 4): a running
 * experiment puts a unit's arm tool first in `selectTools(request: {unitId})` when it passes the
 * request, leaves the unit out (and says why) when it does not, changes nothing without a unitId,
 * and counts runs reported through `reportExecutions` per arm, mismatches and outsiders apart.
 */
const ADMIN_KEY = 'experiment-selection-admin-key-0123456789';
const KEY = 'search-speed';
const COVERAGE = 0.8;
let service: TestService;
let editor: Record<string, string>;
let reporter: Record<string, string>;

const SELECT = `query ($request: SelectToolsInput!) { selectTools(request: $request) {
  candidates { rank score why tool { name version } pattern experiment { key arm } }
  excluded { tool { name } reason }
  experiment { key arm bucket outcome reason }
} }`;
const REPORT = `mutation ($runs: [ExecutionInput!]!) { reportExecutions(executions: $runs) { accepted rejected items { outcome reason message } } }`;
const RESULTS = `query ($key: String!) { experiment(key: $key) { status mismatchedRuns outsideRuns arms { key units runs mismatchedRuns mean } } }`;

const tool = (name: string, timeEstimateMs: string) => ({
  name,
  platform: 'linux',
  version: '1.0',
  category: 'text-processing',
  description: `Search tool ${name}`,
  capabilities: [{ name: 'text_search', description: 'Searches text', patterns: [{ name: 'scan', timeEstimateMs, costEstimate: '1' }] }],
});

const armOf = (unitId: string) => {
  const { armIndex, bucket } = assign({ seed: KEY, coverage: COVERAGE, weights: [0.5, 0.5] }, unitId);
  return { arm: armIndex === null ? null : (['grep', 'rg'] as const)[armIndex]!, bucket };
};
const ARM_TOOL = { grep: 'xgrep', rg: 'xrg' } as const;
const UNITS = Array.from({ length: 60 }, (_, i) => `job-${i}`);

async function graphql(query: string, variables: Record<string, unknown>, headers: Record<string, string> = {}) {
  const response = await service.graphql(query, variables, headers);
  expect(response.errors).toBeUndefined();
  return response.data;
}
const select = async (request: Record<string, unknown>) => (await graphql(SELECT, { request: { capability: 'text_search', ...request } })).selectTools;
const names = (selection: any) => selection.candidates.map((c: any) => c.tool.name);

beforeAll(async () => {
  service = await startTestService({ adminApiKey: ADMIN_KEY, seed: false });
  editor = { authorization: `Bearer ${await createApiKey(service.db.prisma, 'experimenter', 'editor')}` };
  reporter = { authorization: `Bearer ${await createApiKey(service.db.prisma, 'pipeline', 'reporter')}` };
  // By the rule xgrep (100 ms) comes before xrg (500 ms), and xsed (2000 ms) last.
  for (const input of [tool('xgrep', '100'), tool('xrg', '500'), tool('xsed', '2000')]) {
    expect((await graphql(`mutation ($input: ToolInput!) { createTool(input: $input) { __typename } }`, { input }, editor)).createTool.__typename).toBe('Tool');
  }
});
afterAll(() => service.close());

describe('selectTools with a unitId', () => {
  it('is the rule alone while no experiment runs, unitId or not', async () => {
    expect(names(await select({}))).toEqual(['xgrep', 'xrg', 'xsed']);
    const withUnit = await select({ unitId: 'job-1' });
    expect(names(withUnit)).toEqual(['xgrep', 'xrg', 'xsed']);
    expect(withUnit.experiment).toBeNull();
  });

  it('puts the unit’s arm tool first once the experiment runs, and says why', async () => {
    const created = await graphql(
      `mutation ($input: CreateExperimentInput!) { createExperiment(input: $input) { __typename ... on Error { message } } }`,
      {
        input: {
          key: KEY,
          capability: 'text_search',
          metric: 'DURATION',
          coverage: COVERAGE,
          minimumSampleSize: 10,
          arms: [
            { key: 'grep', tool: { name: 'xgrep', platform: 'linux' }, weight: 0.5 },
            { key: 'rg', tool: { name: 'xrg', platform: 'linux', version: '1.0' }, pattern: 'scan', weight: 0.5 },
          ],
        },
      },
      editor,
    );
    expect(created.createExperiment.__typename).toBe('Experiment');
    expect((await graphql(`mutation { startExperiment(key: "${KEY}") { __typename } }`, {}, editor)).startExperiment.__typename).toBe('Experiment');

    const seen = { grep: 0, rg: 0, outside: 0 };
    for (const unitId of UNITS) {
      const { arm, bucket } = armOf(unitId);
      const selection = await select({ unitId, platform: 'linux' });
      if (arm === null) {
        seen.outside++;
        expect(names(selection)).toEqual(['xgrep', 'xrg', 'xsed']);
        expect(selection.candidates.every((c: any) => c.experiment === null)).toBe(true);
        expect(selection.experiment).toMatchObject({ key: KEY, arm: null, bucket, outcome: 'NOT_IN_EXPERIMENT' });
        expect(selection.experiment.reason).toMatch(/outside the 80 % of units/);
        continue;
      }
      seen[arm]++;
      expect(selection.experiment).toMatchObject({ key: KEY, arm, bucket, outcome: 'ASSIGNED' });
      const [first, ...rest] = selection.candidates;
      expect(first).toMatchObject({ rank: 1, tool: { name: ARM_TOOL[arm], version: '1.0' }, pattern: 'scan', experiment: { key: KEY, arm } });
      expect(first.why).toMatch(new RegExp(`^First because unit "${unitId}" is in arm ${arm} of experiment ${KEY} \\(bucket ${bucket}\\); by score alone: Ranked ${arm === 'grep' ? 1 : 2} with score`));
      // The others keep the rule's order behind it.
      expect(rest.map((c: any) => c.tool.name)).toEqual(['xgrep', 'xrg', 'xsed'].filter((n) => n !== ARM_TOOL[arm]));
      expect(rest.map((c: any) => c.rank)).toEqual([2, 3]);
      expect(rest.every((c: any) => c.experiment === null)).toBe(true);
    }
    // 60 units, 80 % coverage: all three kinds occur.
    expect(Math.min(seen.grep, seen.rg, seen.outside)).toBeGreaterThan(0);
    // Without a unitId, nothing changes.
    const plain = await select({ platform: 'linux' });
    expect(names(plain)).toEqual(['xgrep', 'xrg', 'xsed']);
    expect(plain.experiment).toBeNull();
  });

  it('leaves the unit out of the experiment for a decision its arm’s tool does not pass', async () => {
    const unitId = UNITS.find((u) => armOf(u).arm === 'rg')!;
    const selection = await select({ unitId, maxTimeMs: 300 });
    expect(names(selection)).toEqual(['xgrep']);
    expect(selection.candidates[0].experiment).toBeNull();
    expect(selection.experiment).toMatchObject({ key: KEY, arm: 'rg', outcome: 'EXCLUDED' });
    expect(selection.experiment.reason).toMatch(/arm rg's tool xrg \(linux\) pattern scan does not pass this request: OVER_TIME_LIMIT/);
    // A unit of the other arm is unaffected by that limit.
    const grepUnit = UNITS.find((u) => armOf(u).arm === 'grep')!;
    expect((await select({ unitId: grepUnit, maxTimeMs: 300 })).experiment).toMatchObject({ arm: 'grep', outcome: 'ASSIGNED' });
  });

  it('costs no SQL per call', async () => {
    await select({ unitId: 'job-0', variables: { N: 1 } });
    for (const [index, unitId] of UNITS.slice(0, 5).entries()) {
      const { result, statements } = await service.recordStatements(() => select({ unitId, variables: { N: index + 2 } }));
      expect(statements).toEqual([]);
      expect(result.experiment.key).toBe(KEY);
    }
  });
});

describe('the experiment step of the rule, on the in-memory catalog', () => {
  it('leaves out a unit whose arm pins a version the experiments could not load, and passes other outcomes through', async () => {
    const { snapshot } = await service.app.memory.read();
    const arm = { experimentKey: 'versions', armKey: 'old', bucket: 0.25, tool: { name: 'xrg', platform: 'linux', version: '0.9' }, pattern: null };
    const pinned = selectTools(snapshot, { capability: 'text_search', unitId: 'job-1' }, { stale: false, experiment: { status: 'ASSIGNED', arm } });
    expect(pinned.candidates.map((c) => c.tool.name)).toEqual(['xgrep', 'xrg', 'xsed']);
    expect(pinned.experiment).toEqual({ key: 'versions', arm: 'old', bucket: 0.25, outcome: 'EXCLUDED', reason: expect.stringMatching(/pins xrg version 0\.9, which the catalog does not hold/) });
    // The latest version, named or not, and any pattern of the tool when the arm names none.
    for (const version of ['1.0', null]) {
      const chosen = selectTools(snapshot, { capability: 'text_search', unitId: 'job-1' }, { stale: false, experiment: { status: 'ASSIGNED', arm: { ...arm, tool: { ...arm.tool, version } } } });
      expect(chosen.candidates.map((c) => c.tool.name)).toEqual(['xrg', 'xgrep', 'xsed']);
      expect(chosen.experiment?.outcome).toBe('ASSIGNED');
    }
    const unknown = selectTools(snapshot, { capability: 'text_search', unitId: 'job-1' }, { stale: false, experiment: { status: 'ASSIGNED', arm: { ...arm, tool: { name: 'nope', platform: 'linux', version: null } } } });
    expect(unknown.experiment?.reason).toMatch(/offers no pattern of text_search/);
    const ambiguous = selectTools(snapshot, { capability: 'text_search', unitId: 'job-1' }, { stale: false, experiment: { status: 'AMBIGUOUS_PLATFORM', reason: 'several platforms' } });
    expect(ambiguous.experiment).toEqual({ key: null, arm: null, bucket: null, outcome: 'AMBIGUOUS_PLATFORM', reason: 'several platforms' });
    expect(ambiguous.candidates.map((c) => c.tool.name)).toEqual(['xgrep', 'xrg', 'xsed']);
  });
});

describe('outcomes of runs reported for units', () => {
  it('are the arm’s observations when the tool is the arm’s; other tools are mismatches; uncovered units are apart', async () => {
    const runs: Array<Record<string, unknown>> = [];
    const expected = { grep: { units: new Set<string>(), runs: 0, sum: 0 }, rg: { units: new Set<string>(), runs: 0, sum: 0 } };
    let outside = 0;
    const startedAt = new Date(Date.now() + 1_000).toISOString();
    const run = (unitId: string | null, name: string, durationMs: number) =>
      runs.push({ executionId: `run-${runs.length}`, name, platform: 'linux', version: '1.0', capability: 'text_search', pattern: 'scan', startedAt, durationMs, success: true, cost: 1, ...(unitId ? { unitId } : {}) });
    for (const [i, unitId] of UNITS.entries()) {
      const { arm } = armOf(unitId);
      if (arm === null) {
        run(unitId, 'xgrep', 100);
        outside++;
        continue;
      }
      for (let r = 0; r < 2; r++) {
        const durationMs = (arm === 'grep' ? 1_000 : 800) + 10 * i + r;
        run(unitId, ARM_TOOL[arm], durationMs);
        expected[arm].units.add(unitId);
        expected[arm].runs++;
        expected[arm].sum += durationMs;
      }
    }
    // Units of the rg arm that ran another tool: mismatches of the rg arm, never observations.
    const strays = UNITS.filter((u) => armOf(u).arm === 'rg').slice(0, 2);
    for (const unitId of strays) run(unitId, 'xgrep', 5);
    run(strays[0]!, 'xsed', 5);
    // A run without a unit is not the experiment's.
    run(null, 'xrg', 1);

    const reported = await graphql(REPORT, { runs }, reporter);
    expect(reported.reportExecutions).toMatchObject({ accepted: runs.length, rejected: 0 });

    const { experiment } = await graphql(RESULTS, { key: KEY });
    expect(experiment.status).toBe('RUNNING');
    expect(experiment.arms).toEqual([
      { key: 'grep', units: expected.grep.units.size, runs: expected.grep.runs, mismatchedRuns: 0, mean: expect.closeTo(expected.grep.sum / expected.grep.runs, 9) },
      { key: 'rg', units: expected.rg.units.size, runs: expected.rg.runs, mismatchedRuns: 3, mean: expect.closeTo(expected.rg.sum / expected.rg.runs, 9) },
    ]);
    expect(experiment.mismatchedRuns).toBe(3);
    expect(experiment.outsideRuns).toBe(outside);
  });
});
