import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../src/auth/keys.js';
import { CatalogClock } from '../src/cache/catalogClock.js';
import { assign } from '../src/experiments/assignment.js';
import { decisionAttributor } from '../src/experiments/decisionIds.js';
import { ExperimentCatalog } from '../src/experiments/experimentCatalog.js';
import { startTestService, type TestService } from './support/service.js';

/**
 * Runs reported with only a `decisionId` (issue 16, item 4: "a unitId (or decisionId)"): the
 * decision id a selection gives when it assigns a unit carries the experiment, arm and unit, signed
 * with the experiment's secret. A run reported with it alone counts for that arm; an altered or
 * forged id is stored but never attributed, and the answer says why.
 */
const ADMIN_KEY = 'experiment-decision-ids-admin-key-012345';
const KEY = 'dns-split';
let service: TestService;
let editor: Record<string, string>;
let reporter: Record<string, string>;

const SELECT = `query ($request: SelectToolsInput!) { selectTools(request: $request) {
  decisionId candidates { tool { name } } experiment { arm outcome }
} }`;
const REPORT = `mutation ($runs: [ExecutionInput!]!) { reportExecutions(executions: $runs) { accepted rejected items { index outcome reason message } } }`;
const RESULTS = `query ($key: String!) { experiment(key: $key) { mismatchedRuns outsideRuns arms { key units runs mismatchedRuns successRate } } }`;
const ARM_TOOL = { a: 'xdig', b: 'xhost' } as const;
const armOf = (unitId: string) => (['a', 'b'] as const)[assign({ seed: KEY, coverage: 1, weights: [0.5, 0.5] }, unitId).armIndex!]!;
const UNITS = Array.from({ length: 16 }, (_, i) => `tenant-${i}`);

async function graphql(query: string, variables: Record<string, unknown>, headers: Record<string, string> = {}) {
  const response = await service.graphql(query, variables, headers);
  expect(response.errors).toBeUndefined();
  return response.data;
}
const select = async (request: Record<string, unknown>) => (await graphql(SELECT, { request: { capability: 'dns_query', ...request } })).selectTools;
const startedAt = () => new Date().toISOString();
let runCount = 0;
const run = (name: string, extra: Record<string, unknown>) => ({
  executionId: `decision-run-${runCount++}`, name, platform: 'linux', version: '1.0', capability: 'dns_query', pattern: 'lookup',
  startedAt: startedAt(), durationMs: 20, success: true, ...extra,
});

beforeAll(async () => {
  service = await startTestService({ adminApiKey: ADMIN_KEY, seed: false });
  editor = { authorization: `Bearer ${await createApiKey(service.db.prisma, 'experimenter', 'editor')}` };
  reporter = { authorization: `Bearer ${await createApiKey(service.db.prisma, 'pipeline', 'reporter')}` };
  for (const [name, time] of [['xdig', '100'], ['xhost', '500']]) {
    const input = {
      name, platform: 'linux', version: '1.0', category: 'network', description: `DNS tool ${name}`,
      capabilities: [{ name: 'dns_query', description: 'Resolves names', patterns: [{ name: 'lookup', timeEstimateMs: time, costEstimate: '1' }] }],
    };
    expect((await graphql(`mutation ($input: ToolInput!) { createTool(input: $input) { __typename } }`, { input }, editor)).createTool.__typename).toBe('Tool');
  }
  const created = await graphql(
    `mutation ($input: CreateExperimentInput!) { createExperiment(input: $input) { __typename } }`,
    {
      input: {
        key: KEY, capability: 'dns_query', metric: 'SUCCESS_RATE', minimumSampleSize: 10,
        arms: [{ key: 'a', tool: { name: 'xdig', platform: 'linux' }, weight: 0.5 }, { key: 'b', tool: { name: 'xhost', platform: 'linux' }, weight: 0.5 }],
      },
    },
    editor,
  );
  expect(created.createExperiment.__typename).toBe('Experiment');
  expect((await graphql(`mutation { startExperiment(key: "${KEY}") { __typename } }`, {}, editor)).startExperiment.__typename).toBe('Experiment');
});
afterAll(() => service.close());

describe('decision ids of selections', () => {
  it('are given when the experiment assigns the unit, the same for the same unit, and only then', async () => {
    const first = await select({ unitId: 'tenant-1' });
    expect(first.experiment.outcome).toBe('ASSIGNED');
    expect(first.decisionId).toMatch(/^xd1\.[0-9a-f-]{36}\.[01]\.[A-Za-z0-9_-]{22}\.tenant-1$/);
    expect((await select({ unitId: 'tenant-1', variables: { N: 7 } })).decisionId).toBe(first.decisionId);
    expect((await select({ unitId: 'tenant-2' })).decisionId).not.toBe(first.decisionId);
    expect((await select({})).decisionId).toBeNull();
    // A unit left out of the experiment for this decision gets no assignment to report.
    const bUnit = UNITS.find((u) => armOf(u) === 'b')!;
    const excluded = await select({ unitId: bUnit, maxTimeMs: 300 });
    expect(excluded.experiment.outcome).toBe('EXCLUDED');
    expect(excluded.decisionId).toBeNull();
  });
});

describe('runs reported with only a decisionId', () => {
  it('count for the arm the decision assigned; altered and forged ids are stored but not attributed', async () => {
    const decisions = new Map<string, string>();
    for (const unitId of UNITS) decisions.set(unitId, (await select({ unitId })).decisionId);
    const expected = { a: { units: new Set<string>(), runs: 0, successes: 0 }, b: { units: new Set<string>(), runs: 0, successes: 0 } };
    const runs: Array<Record<string, unknown>> = [];
    for (const [i, unitId] of UNITS.entries()) {
      const arm = armOf(unitId);
      for (let r = 0; r < 2; r++) {
        const success = (i + r) % 3 !== 0;
        runs.push(run(ARM_TOOL[arm], { decisionId: decisions.get(unitId), success }));
        expected[arm].units.add(unitId);
        expected[arm].runs++;
        if (success) expected[arm].successes++;
      }
    }
    const aUnits = UNITS.filter((u) => armOf(u) === 'a');
    const bUnits = UNITS.filter((u) => armOf(u) === 'b');
    // A unit of arm b that ran arm a's tool: a mismatch of arm b, never an observation.
    runs.push(run('xdig', { decisionId: decisions.get(bUnits[0]!) }));
    const tampered = [
      // Another unit of the same arm put in place of the signed one.
      decisions.get(aUnits[0]!)!.replace(/\.[^.]+$/, `.${aUnits[1]}`),
      // The arm digit changed.
      decisions.get(aUnits[0]!)!.replace(/^(xd1\.[0-9a-f-]{36}\.)\d/, (_, head) => `${head}1`),
      // A made-up signature.
      decisions.get(aUnits[0]!)!.replace(/\.[A-Za-z0-9_-]{22}\./, '.AAAAAAAAAAAAAAAAAAAAAA.'),
      // An experiment that does not exist.
      decisions.get(aUnits[0]!)!.replace(/^xd1\.[0-9a-f]/, 'xd1.f').replace(/^xd1\.[0-9a-f-]{36}/, 'xd1.00000000-0000-4000-8000-000000000000'),
      'xd1.not-a-decision',
    ];
    const firstTampered = runs.length;
    for (const decisionId of tampered) runs.push(run('xdig', { decisionId, success: false }));
    // The pipeline's own decision ids are fine and tie the run to nothing.
    runs.push(run('xdig', { decisionId: 'sel-42', success: false }));

    const reported = (await graphql(REPORT, { runs }, reporter)).reportExecutions;
    expect(reported).toMatchObject({ accepted: runs.length, rejected: 0 });
    const messages = reported.items.slice(firstTampered).map((item: any) => item.message);
    expect(messages.slice(0, 4)).toEqual([
      expect.stringMatching(/decisionId: not attributed to an experiment arm: its signature does not match/),
      expect.stringMatching(/its signature does not match/),
      expect.stringMatching(/its signature does not match/),
      expect.stringMatching(/it names no experiment/),
    ]);
    expect(messages[4]).toMatch(/not in the form selection gives/);
    expect(messages[5]).toBeNull();
    expect(reported.items.slice(0, firstTampered).every((item: any) => item.message === null)).toBe(true);

    const stored = await service.db.prisma.toolExecution.findMany({ where: { decisionId: { in: [...tampered, 'sel-42'] } }, select: { unitId: true } });
    expect(stored).toHaveLength(tampered.length + 1);
    expect(stored.every((row) => row.unitId === null)).toBe(true);

    const { experiment } = await graphql(RESULTS, { key: KEY });
    expect(experiment.arms).toEqual([
      { key: 'a', units: expected.a.units.size, runs: expected.a.runs, mismatchedRuns: 0, successRate: expect.closeTo(expected.a.successes / expected.a.runs, 12) },
      { key: 'b', units: expected.b.units.size, runs: expected.b.runs, mismatchedRuns: 1, successRate: expect.closeTo(expected.b.successes / expected.b.runs, 12) },
    ]);
    expect(experiment.mismatchedRuns).toBe(1);
    expect(experiment.outsideRuns).toBe(0);
  });

  it('leave an explicit unitId as reported', async () => {
    const [aUnit, otherA] = UNITS.filter((u) => armOf(u) === 'a');
    const decisionId = (await select({ unitId: aUnit })).decisionId;
    const reported = (await graphql(REPORT, { runs: [run('xdig', { decisionId, unitId: otherA })] }, reporter)).reportExecutions;
    expect(reported.accepted).toBe(1);
    const row = await service.db.prisma.toolExecution.findFirstOrThrow({ where: { executionId: `decision-run-${runCount - 1}` }, select: { unitId: true } });
    expect(row.unitId).toBe(otherA);
  });

  it('are checked alike by another instance, or after a restart: the secret is the experiment’s, in the database', async () => {
    const unitId = UNITS.find((u) => armOf(u) === 'b')!;
    const decisionId = (await select({ unitId })).decisionId;
    const elsewhere = decisionAttributor(new ExperimentCatalog(service.db.prisma, new CatalogClock()));
    expect(await elsewhere([decisionId, 'sel-42'])).toEqual(new Map([[decisionId, { unitId }]]));
    // Each experiment signs with its own secret, which the API never shows.
    const secret = (await service.db.prisma.experiment.findUniqueOrThrow({ where: { key: KEY } })).decisionKey;
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    const everything = JSON.stringify(await service.graphql(`{ experiments { edges { node { key seed description arms { key tool { name } } } } } }`, {}));
    expect(everything).not.toContain(secret);
  });
});
