import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../src/auth/keys.js';
import { startTestService, type TestService } from './support/service.js';

/**
 * Changing an experiment's coverage (issue 16, item 2: "lowering or raising coverage never moves a
 * unit from one arm to another"): through the API, on a running experiment, units only join or
 * leave; the change is audited and a catalog event; bad values and concluded experiments are refused
 * with nothing written.
 */
const ADMIN_KEY = 'experiment-coverage-admin-key-0123456789';
const KEY = 'ping-ramp';
let service: TestService;
let editor: Record<string, string>;
let reader: Record<string, string>;

const COVERAGE = `mutation ($key: String!, $coverage: Float!) { result: setExperimentCoverage(key: $key, coverage: $coverage, reason: "ramp") {
  __typename ... on Experiment { coverage status arms { key bucketRange } } ... on Error { message } ... on ValidationError { fieldErrors { path message } } } }`;
const ASSIGNMENT = `query ($unit: String!) { assignment(experimentKey: "${KEY}", unitId: $unit) { bucket arm { key } } }`;
const UNITS = Array.from({ length: 150 }, (_, i) => `probe-${i}`);

async function graphql(query: string, variables: Record<string, unknown>, headers: Record<string, string> = editor) {
  const response = await service.graphql(query, variables, headers);
  expect(response.errors).toBeUndefined();
  return response.data;
}
async function arms(): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  for (const unit of UNITS) out.set(unit, (await graphql(ASSIGNMENT, { unit }, reader)).assignment.arm?.key ?? null);
  return out;
}
const rows = async () => ({
  audit: await service.db.prisma.auditLog.count({ where: { action: 'experiment.coverage' } }),
  events: await service.db.prisma.catalogEvent.count({ where: { type: 'EXPERIMENT_COVERAGE_CHANGED' } }),
  coverage: (await service.db.prisma.experiment.findUniqueOrThrow({ where: { key: KEY } })).coverage,
});

beforeAll(async () => {
  service = await startTestService({ adminApiKey: ADMIN_KEY, seed: false });
  editor = { authorization: `Bearer ${await createApiKey(service.db.prisma, 'experimenter', 'editor')}` };
  reader = { authorization: `Bearer ${await createApiKey(service.db.prisma, 'pipeline', 'reader')}` };
  for (const name of ['xping', 'xfping']) {
    const input = {
      name, platform: 'linux', version: '1.0', category: 'network', description: `Probe ${name}`,
      capabilities: [{ name: 'reachability', description: 'Checks a host', patterns: [{ name: 'once', timeEstimateMs: '50', costEstimate: '0' }] }],
    };
    expect((await graphql(`mutation ($input: ToolInput!) { createTool(input: $input) { __typename } }`, { input })).createTool.__typename).toBe('Tool');
  }
  const created = await graphql(`mutation ($input: CreateExperimentInput!) { createExperiment(input: $input) { __typename } }`, {
    input: {
      key: KEY, capability: 'reachability', metric: 'SUCCESS_RATE', coverage: 0.3,
      arms: [{ key: 'ping', tool: { name: 'xping', platform: 'linux' }, weight: 0.4 }, { key: 'fping', tool: { name: 'xfping', platform: 'linux' }, weight: 0.6 }],
    },
  });
  expect(created.createExperiment.__typename).toBe('Experiment');
  expect((await graphql(`mutation { startExperiment(key: "${KEY}") { __typename } }`, {})).startExperiment.__typename).toBe('Experiment');
});
afterAll(() => service.close());

describe('setExperimentCoverage', () => {
  it('raises and lowers coverage on a running experiment without moving any unit to another arm', async () => {
    const at30 = await arms();
    const raised = (await graphql(COVERAGE, { key: KEY, coverage: 0.9 })).result;
    expect(raised).toMatchObject({ __typename: 'Experiment', coverage: 0.9, status: 'RUNNING', arms: [{ key: 'ping', bucketRange: [0, expect.closeTo(0.36, 12)] }, { key: 'fping', bucketRange: [0.4, expect.closeTo(0.94, 12)] }] });
    const at90 = await arms();
    const lowered = (await graphql(COVERAGE, { key: KEY, coverage: 0.1 })).result;
    expect(lowered).toMatchObject({ __typename: 'Experiment', coverage: 0.1 });
    const at10 = await arms();
    let joined = 0;
    let left = 0;
    for (const unit of UNITS) {
      const [a, b, c] = [at30.get(unit)!, at90.get(unit)!, at10.get(unit)!];
      // Raising keeps every unit that was in; lowering keeps a subset; nobody changes arm.
      if (a !== null) expect(b).toBe(a);
      if (c !== null) expect(b).toBe(c);
      if (a === null && b !== null) joined++;
      if (b !== null && c === null) left++;
    }
    expect(joined).toBeGreaterThan(0);
    expect(left).toBeGreaterThan(0);
    // Selection follows at once (the experiments are reloaded when the catalog generation moves).
    const inside = UNITS.find((u) => at10.get(u) !== null)!;
    const outside = UNITS.find((u) => at90.get(u) !== null && at10.get(u) === null)!;
    const select = async (unitId: string) =>
      (await graphql(`query ($r: SelectToolsInput!) { selectTools(request: $r) { experiment { arm outcome } } }`, { r: { capability: 'reachability', unitId } }, reader)).selectTools.experiment;
    expect(await select(inside)).toEqual({ arm: at10.get(inside), outcome: 'ASSIGNED' });
    expect(await select(outside)).toEqual({ arm: null, outcome: 'NOT_IN_EXPERIMENT' });
  });

  it('audits each change and makes it a catalog event', async () => {
    const { audit, events } = await rows();
    expect({ audit, events }).toEqual({ audit: 2, events: 2 });
    const last = await service.db.prisma.auditLog.findFirstOrThrow({ where: { action: 'experiment.coverage' }, orderBy: { id: 'desc' } });
    expect(last).toMatchObject({ entityType: 'Experiment', entityName: KEY, diff: { before: { coverage: 0.9 }, after: { coverage: 0.1 } } });
  });

  it('refuses a coverage outside 0–1, a reader, an unknown experiment and a concluded one, writing nothing', async () => {
    const before = await rows();
    for (const coverage of [-0.1, 1.5]) {
      expect((await graphql(COVERAGE, { key: KEY, coverage })).result).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ path: 'coverage' }] });
    }
    const denied = await service.graphql(COVERAGE, { key: KEY, coverage: 0.5 }, reader);
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await graphql(COVERAGE, { key: 'nope', coverage: 0.5 })).result).toMatchObject({ __typename: 'NotFoundError' });
    expect(await rows()).toEqual(before);
    await graphql(`mutation { concludeExperiment(key: "${KEY}", winner: "ping") { __typename } }`, {});
    expect((await graphql(COVERAGE, { key: KEY, coverage: 0.5 })).result).toMatchObject({ __typename: 'ConflictError', message: expect.stringMatching(/CONCLUDED/) });
    expect(await rows()).toEqual(before);
  });
});
