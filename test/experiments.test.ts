import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../src/auth/keys.js';
import { assign, bucketOf } from '../src/experiments/assignment.js';
import { welchTTest } from '../src/experiments/statistics.js';
import { parse } from 'yaml';
import { exportCatalog } from '../src/catalog/exporter.js';
import { importCatalog } from '../src/catalog/importer.js';
import { applyMigrations } from '../src/db/migrations.js';
import { openTestDatabase, startTestService, type TestService } from './support/service.js';

/**
 * Experiments through the API, on the database under test: definition checks, the lifecycle with
 * its audit rows and events, assignment from memory, results from runs in the ToolExecution table,
 * the SRM alarm, metrics, and conclusion with deprecation of the losers.
 */
const ADMIN_KEY = 'bootstrap-admin-key-for-experiment-tests';
let service: TestService;
let editor: Record<string, string>;
let reader: Record<string, string>;

const EXPERIMENT = `key status capability platform metric coverage seed winner recommendedWinner
  arms { key control weight bucketRange tool { name platform version } pattern }`;
const OUTCOME = `__typename ... on Experiment { ${EXPERIMENT} } ... on Error { message } ... on ValidationError { fieldErrors { path message } }`;
const M = {
  create: `mutation ($input: CreateExperimentInput!) { result: createExperiment(input: $input) { ${OUTCOME} } }`,
  start: `mutation ($key: String!) { result: startExperiment(key: $key) { ${OUTCOME} } }`,
  stop: `mutation ($key: String!) { result: stopExperiment(key: $key) { ${OUTCOME} } }`,
  conclude: `mutation ($key: String!, $winner: String!, $deprecateLosers: Boolean) {
    result: concludeExperiment(key: $key, winner: $winner, deprecateLosers: $deprecateLosers) { ${OUTCOME} } }`,
};
const RESULTS = `query ($key: String!) { experiment(key: $key) { key status pValue significant winner recommendedWinner recommendation
  mismatchedRuns outsideRuns lift { relative ci95 } srm { chiSquare pValue alarm }
  arms { key units runs successRate mean variance ci95 mismatchedRuns versusControl { pValue statistic degreesOfFreedom lift { relative ci95 } } } } }`;

async function run(mutation: string, variables: Record<string, unknown>, headers = editor) {
  const response = await service.graphql(mutation, variables, headers);
  expect(response.errors).toBeUndefined();
  return response.data.result;
}

const tool = (name: string, patterns = ['scan']) => ({
  name,
  platform: 'linux',
  version: '1.0',
  category: 'text-processing',
  description: `Search tool ${name}`,
  capabilities: [{ name: 'text_search', description: 'Searches text', patterns: patterns.map((p) => ({ name: p, timeEstimateMs: '100 + N', costEstimate: '1' })) }],
});

const definition = (key: string, extra: Record<string, unknown> = {}) => ({
  key,
  capability: 'Text_Search',
  metric: 'DURATION',
  minimumSampleSize: 100,
  arms: [
    { key: 'grep', tool: { name: 'xgrep', platform: 'Linux' }, weight: 0.5 },
    { key: 'rg', tool: { name: 'xrg', platform: 'linux', version: '1.0' }, pattern: 'scan', weight: 0.5 },
  ],
  ...extra,
});

async function createTool(input: Record<string, unknown>) {
  const response = await service.graphql(`mutation ($input: ToolInput!) { createTool(input: $input) { __typename } }`, { input }, editor);
  expect(response.data.createTool.__typename).toBe('Tool');
}

beforeAll(async () => {
  service = await startTestService({ adminApiKey: ADMIN_KEY });
  editor = { authorization: `Bearer ${await createApiKey(service.db.prisma, 'experimenter', 'editor')}` };
  reader = { authorization: `Bearer ${await createApiKey(service.db.prisma, 'pipeline', 'reader')}` };
  await createTool(tool('xgrep'));
  await createTool(tool('xrg'));
  await createTool({ ...tool('xag'), enabled: false });
  await createTool({ ...tool('xsed'), capabilities: [{ name: 'text_edit', patterns: [{ name: 'edit' }] }] });
});
afterAll(() => service.close());

async function rows() {
  const prisma = service.db.prisma;
  return { experiments: await prisma.experiment.count(), arms: await prisma.experimentArm.count(), audit: await prisma.auditLog.count(), events: await prisma.catalogEvent.count() };
}

describe('definition', () => {
  it('refuses bad definitions with the field at fault, writing nothing', async () => {
    const before = await rows();
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [definition('w', { arms: [{ key: 'a', tool: { name: 'xgrep', platform: 'linux' }, weight: 0.5 }, { key: 'b', tool: { name: 'xrg', platform: 'linux' }, weight: 0.6 }] }), 'arms', /sum to 1\.1/],
      [definition('one', { arms: [{ key: 'a', tool: { name: 'xgrep', platform: 'linux' }, weight: 1 }] }), 'arms', /two or more/],
      [definition('missing', { arms: [{ key: 'a', tool: { name: 'xgrep', platform: 'linux' }, weight: 0.5 }, { key: 'b', tool: { name: 'nope', platform: 'linux' }, weight: 0.5 }] }), 'arms.1.tool', /no tool nope/],
      [definition('version', { arms: [{ key: 'a', tool: { name: 'xgrep', platform: 'linux', version: '9.9' }, weight: 0.5 }, { key: 'b', tool: { name: 'xrg', platform: 'linux' }, weight: 0.5 }] }), 'arms.0.tool.version', /no version "9.9"/],
      [definition('disabled', { arms: [{ key: 'a', tool: { name: 'xgrep', platform: 'linux' }, weight: 0.5 }, { key: 'b', tool: { name: 'xag', platform: 'linux' }, weight: 0.5 }] }), 'arms.1.tool', /disabled/],
      [definition('capability', { arms: [{ key: 'a', tool: { name: 'xgrep', platform: 'linux' }, weight: 0.5 }, { key: 'b', tool: { name: 'xsed', platform: 'linux' }, weight: 0.5 }] }), 'arms.1.tool', /does not offer the capability "text_search"/],
      [definition('pattern', { arms: [{ key: 'a', tool: { name: 'xgrep', platform: 'linux' }, pattern: 'nope', weight: 0.5 }, { key: 'b', tool: { name: 'xrg', platform: 'linux' }, weight: 0.5 }] }), 'arms.0.pattern', /no pattern "nope"/],
      [definition('platforms', { arms: [{ key: 'a', tool: { name: 'xgrep', platform: 'linux' }, weight: 0.5 }, { key: 'b', tool: { name: 'xrg', platform: 'windows' }, weight: 0.5 }] }), 'arms', /one platform/],
      [definition('dup', { arms: [{ key: 'a', tool: { name: 'xgrep', platform: 'linux' }, weight: 0.5 }, { key: 'a', tool: { name: 'xrg', platform: 'linux' }, weight: 0.5 }] }), 'arms.1.key', /repeats/],
      [definition('coverage', { coverage: 1.5 }), 'coverage', /1/],
      [definition('alpha', { alpha: 0.9 }), 'alpha', /0.5/],
    ];
    for (const [input, path, message] of cases) {
      const result = await run(M.create, { input });
      expect(result.__typename, JSON.stringify(input)).toBe('ValidationError');
      expect(result.fieldErrors, JSON.stringify(input)).toEqual(expect.arrayContaining([{ path, message: expect.stringMatching(message) }]));
    }
    expect(await rows()).toEqual(before);
  });

  it('checks the arms again at start: a tool switched off, or a new version without the capability, since the draft', async () => {
    await createTool(tool('xack'));
    await createTool(tool('xpt'));
    const arms = (second: string) => [
      { key: 'a', tool: { name: 'xgrep', platform: 'linux' }, weight: 0.5 },
      { key: 'b', tool: { name: second, platform: 'linux' }, weight: 0.5 },
    ];
    expect(await run(M.create, { input: definition('recheck-disabled', { arms: arms('xack') }) })).toMatchObject({ __typename: 'Experiment', status: 'DRAFT' });
    expect(await run(M.create, { input: definition('recheck-capability', { arms: arms('xpt') }) })).toMatchObject({ __typename: 'Experiment', status: 'DRAFT' });
    const revision = async (name: string) => (await service.db.prisma.tool.findFirstOrThrow({ where: { name, isLatest: true }, select: { revision: true } })).revision;
    const switched = await service.graphql(
      `mutation ($r: Int!) { setToolEnabled(name: "xack", platform: "linux", revision: $r, enabled: false) { __typename } }`,
      { r: await revision('xack') },
      editor,
    );
    expect(switched.data.setToolEnabled.__typename).toBe('Tool');
    const versioned = await service.graphql(
      `mutation ($r: Int!, $changes: ToolPatchInput!) { updateTool(name: "xpt", platform: "linux", revision: $r, changes: $changes) { __typename ... on Tool { version } } }`,
      { r: await revision('xpt'), changes: { capabilities: [{ name: 'text_edit', patterns: [{ name: 'edit' }] }] } },
      editor,
    );
    expect(versioned.data.updateTool).toEqual({ __typename: 'Tool', version: '1.1' });

    const before = await rows();
    expect(await run(M.start, { key: 'recheck-disabled' })).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: 'arms.1.tool', message: expect.stringMatching(/xack \(linux\) is disabled/) }],
    });
    expect(await run(M.start, { key: 'recheck-capability' })).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: 'arms.1.tool', message: expect.stringMatching(/xpt \(linux\) does not offer the capability "text_search"/) }],
    });
    // Nothing written: still drafts, no event, no audit row.
    expect(await rows()).toEqual(before);
    for (const key of ['recheck-disabled', 'recheck-capability']) {
      expect(await service.db.prisma.experiment.findUnique({ where: { key } })).toMatchObject({ status: 'DRAFT', startedAt: null });
      expect(await service.db.prisma.auditLog.count({ where: { entityType: 'Experiment', entityName: key, action: { not: 'experiment.create' } } })).toBe(0);
    }
    expect(await service.db.prisma.catalogEvent.count({ where: { type: 'EXPERIMENT_STARTED' } })).toBe(0);
  });

  it('needs an editor key', async () => {
    const response = await service.graphql(M.create, { input: definition('reader-try') }, reader);
    expect(response.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('lifecycle, assignment and results', () => {
  const KEY = 'rg-vs-grep';

  it('creates a DRAFT (audited, normalised), and refuses the same key twice', async () => {
    const created = await run(M.create, { input: definition(KEY) });
    expect(created).toMatchObject({
      __typename: 'Experiment', key: KEY, status: 'DRAFT', capability: 'text_search', platform: 'linux', coverage: 1, seed: KEY,
      arms: [
        { key: 'grep', control: true, weight: 0.5, bucketRange: [0, 0.5], tool: { name: 'xgrep', platform: 'linux', version: null }, pattern: null },
        { key: 'rg', control: false, weight: 0.5, bucketRange: [0.5, 1], tool: { name: 'xrg', platform: 'linux', version: '1.0' }, pattern: 'scan' },
      ],
    });
    const audit = await service.db.prisma.auditLog.findFirst({ where: { entityType: 'Experiment', entityName: KEY } });
    expect(audit).toMatchObject({ action: 'experiment.create', actor: 'experimenter' });
    expect(await run(M.create, { input: definition(KEY) })).toMatchObject({ __typename: 'ConflictError', message: expect.stringMatching(/already exists/) });
  });

  it('starts (an event), and only one experiment runs per capability and platform', async () => {
    expect(await run(M.start, { key: KEY })).toMatchObject({ __typename: 'Experiment', status: 'RUNNING' });
    const started = await service.db.prisma.catalogEvent.findFirst({ where: { type: 'EXPERIMENT_STARTED' } });
    expect(started?.payload).toMatchObject({ experimentKey: KEY, actor: 'experimenter' });
    expect(await run(M.start, { key: KEY })).toMatchObject({ __typename: 'ConflictError', message: expect.stringMatching(/is RUNNING/) });

    await run(M.create, { input: definition('second', { metric: 'SUCCESS_RATE' }) });
    expect(await run(M.start, { key: 'second' })).toMatchObject({ __typename: 'ConflictError', message: expect.stringMatching(/"rg-vs-grep" is already running for text_search on linux/) });
    expect(await service.db.prisma.experiment.findUnique({ where: { key: 'second' } })).toMatchObject({ status: 'DRAFT' });
    // The constraint holds whatever the application does.
    await expect(service.db.prisma.experiment.update({ where: { key: 'second' }, data: { status: 'RUNNING' } })).rejects.toThrow();
  });

  it('a tool in a running experiment cannot be deleted', async () => {
    const response = await service.graphql(`mutation { deleteTool(name: "xrg", platform: "linux", revision: 1) { __typename ... on Error { message } } }`, {}, editor);
    expect(response.data.deleteTool).toMatchObject({ __typename: 'ConflictError', message: expect.stringMatching(/running experiment "rg-vs-grep"/) });
  });

  it('assignment is GrowthBook hash v2 over the key, from memory: no SQL per request', async () => {
    const query = `query ($key: String!, $unit: String!) { assignment(experimentKey: $key, unitId: $unit) { experimentKey unitId bucket inExperiment active arm { key tool { name } } } }`;
    await service.graphql(query, { key: KEY, unit: 'warm-up' });
    // The earlier mutations started a rebuild of the in-memory catalog in the background; its
    // statements are not assignment's, so let it finish before counting.
    await service.app.memory.refresh();
    for (const unit of ['job-1', 'job-2', 'host-17', 'tenant-a']) {
      const { result, statements } = await service.recordStatements(() => service.graphql(query, { key: KEY, unit }));
      const bucket = bucketOf(KEY, unit);
      expect(result.data.assignment).toEqual({
        experimentKey: KEY, unitId: unit, bucket, inExperiment: true, active: true,
        arm: { key: bucket < 0.5 ? 'grep' : 'rg', tool: { name: bucket < 0.5 ? 'xgrep' : 'xrg' } },
      });
      expect(statements).toEqual([]);
    }
    expect((await service.graphql(query, { key: 'nope', unit: 'x' })).data.assignment).toBeNull();
  });

  /** Runs reported as the pipeline reports them (reportExecutions), each with the unit it was for. */
  let reported = 0;
  async function report(runs: Array<{ unit: string; tool: string; durationMs: number; success?: boolean; pattern?: string }>) {
    // Every call comes after the experiment started and before it is stopped: a run stamped now
    // falls inside its window (a stamp in the future could fall after the stop and be left out).
    const startedAt = new Date().toISOString();
    for (let i = 0; i < runs.length; i += 500) {
      const executions = runs.slice(i, i + 500).map((r) => ({
        executionId: `experiments-test-${reported++}`,
        name: r.tool,
        platform: 'linux',
        version: '1.0',
        capability: 'text_search',
        pattern: r.pattern ?? 'scan',
        startedAt,
        durationMs: r.durationMs,
        success: r.success ?? true,
        cost: 1,
        unitId: r.unit,
      }));
      const response = await service.graphql(`mutation ($runs: [ExecutionInput!]!) { reportExecutions(executions: $runs) { accepted rejected } }`, { runs: executions }, editor);
      expect(response.errors).toBeUndefined();
      expect(response.data.reportExecutions).toEqual({ accepted: executions.length, rejected: 0 });
    }
  }

  // Deterministic synthetic durations with a known effect: rg is 10 % faster.
  let state = 42;
  const uniform = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  const normal = (mean: number, sd: number) => Math.round(mean + sd * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()));
  const observed: Record<string, number[]> = { grep: [], rg: [] };

  it('results: runs of each unit with its arm’s tool are observations; others are mismatches', async () => {
    const runs: Array<{ unit: string; tool: string; durationMs: number }> = [];
    const units: Record<string, Set<string>> = { grep: new Set(), rg: new Set() };
    for (let u = 0; u < 300; u++) {
      const unit = `unit-${u}`;
      const arm = bucketOf(KEY, unit) < 0.5 ? 'grep' : 'rg';
      units[arm]!.add(unit);
      for (let r = 0; r < 2; r++) {
        const durationMs = normal(arm === 'grep' ? 1_000 : 900, 120);
        observed[arm]!.push(durationMs);
        runs.push({ unit, tool: arm === 'grep' ? 'xgrep' : 'xrg', durationMs });
      }
    }
    // A unit of the rg arm that ran grep anyway: a mismatch, not an observation of either arm.
    const stray = [...units.rg!][0]!;
    runs.push({ unit: stray, tool: 'xgrep', durationMs: 5 }, { unit: stray, tool: 'xgrep', durationMs: 7 });
    await report(runs);

    const { data } = await service.graphql(RESULTS, { key: KEY });
    const result = data.experiment;
    const moments = (values: number[]) => {
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      return { n: values.length, mean, variance: values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1) };
    };
    const grep = moments(observed.grep!);
    const rg = moments(observed.rg!);
    expect(result.arms[0]).toMatchObject({ key: 'grep', units: units.grep!.size, runs: grep.n, mismatchedRuns: 0, versusControl: null });
    expect(result.arms[1]).toMatchObject({ key: 'rg', units: units.rg!.size, runs: rg.n, mismatchedRuns: 2 });
    expect(result.mismatchedRuns).toBe(2);
    expect(result.arms[0].mean).toBeCloseTo(grep.mean, 9);
    expect(result.arms[1].variance).toBeCloseTo(rg.variance, 6);
    const reference = welchTTest(grep, rg)!;
    expect(result.pValue).toBeCloseTo(reference.pValue, 12);
    expect(result.arms[1].versusControl.degreesOfFreedom).toBeCloseTo(reference.df, 9);
    expect(result.lift.relative).toBeCloseTo(rg.mean / grep.mean - 1, 12);
    expect(result.srm.alarm).toBe(false);
    expect(result).toMatchObject({ significant: true, recommendedWinner: 'rg', winner: 'rg' });
    expect(result.recommendation).toMatch(/Conclude with rg/);
  });

  it('results are never served from the response cache: new runs show at once', async () => {
    const before = (await service.graphql(RESULTS, { key: KEY })).data.experiment.arms[0].runs;
    await report([{ unit: [...Array(300).keys()].map((u) => `unit-${u}`).find((u) => bucketOf(KEY, u) < 0.5)!, tool: 'xgrep', durationMs: 1_000 }]);
    observed.grep!.push(1_000);
    expect((await service.graphql(RESULTS, { key: KEY })).data.experiment.arms[0].runs).toBe(before + 1);
  });

  it('read alongside other roots (inside a read transaction) it answers the same', async () => {
    const alone = (await service.graphql(RESULTS, { key: KEY })).data.experiment;
    const both = await service.graphql(`query ($key: String!) { experiment(key: $key) { pValue arms { runs } } tools(first: 1) { totalCount } }`, { key: KEY });
    expect(both.errors).toBeUndefined();
    expect(both.data.experiment).toEqual({ pValue: alone.pValue, arms: alone.arms.map((a: { runs: number }) => ({ runs: a.runs })) });
  });

  it('metrics: running experiments and SRM alarms', async () => {
    const metrics = await (await service.app.yoga.fetch('http://catalog.test/metrics')).text();
    expect(metrics).toMatch(/^tool_catalog_experiments_running\{[^}]*\} 1$/m);
    expect(metrics).toMatch(/^tool_catalog_experiment_srm_alarms\{[^}]*\} 0$/m);
  });

  it('a skewed split raises the SRM alarm, and no winner is recommended while it does', async () => {
    // 200 more units, but only those of the grep arm report: the split is now far from 50/50.
    const runs = [];
    for (let u = 300; u < 500; u++) {
      const unit = `unit-${u}`;
      if (bucketOf(KEY, unit) < 0.5) runs.push({ unit, tool: 'xgrep', durationMs: normal(1_000, 120) });
    }
    await report(runs);
    const { data } = await service.graphql(RESULTS, { key: KEY });
    expect(data.experiment.srm.alarm).toBe(true);
    expect(data.experiment.srm.pValue).toBeLessThan(0.001);
    expect(data.experiment).toMatchObject({ recommendedWinner: null, winner: null });
    expect(data.experiment.recommendation).toMatch(/Sample ratio mismatch/);
    // The gauge recomputes SRM once a minute or when the catalog changes; stand in for the minute.
    service.app.clock.advance();
    const metrics = await (await service.app.yoga.fetch('http://catalog.test/metrics')).text();
    expect(metrics).toMatch(/^tool_catalog_experiment_srm_alarms\{[^}]*\} 1$/m);
  });

  it('coverage: units outside it are not in the experiment (a draft assigns but is not active)', async () => {
    await run(M.create, { input: definition('half', { coverage: 0.5, capability: 'text_search', metric: 'SUCCESS_RATE' }) });
    const query = `query ($unit: String!) { assignment(experimentKey: "half", unitId: $unit) { bucket inExperiment active arm { key } } }`;
    for (let u = 0; u < 40; u++) {
      const unit = `c-${u}`;
      const expected = assign({ seed: 'half', coverage: 0.5, weights: [0.5, 0.5] }, unit);
      const { data } = await service.graphql(query, { unit });
      expect(data.assignment).toEqual({ bucket: expected.bucket, inExperiment: expected.armIndex !== null, active: false, arm: expected.armIndex === null ? null : { key: ['grep', 'rg'][expected.armIndex] } });
    }
  });

  it('lists experiments by status, newest first, in pages', async () => {
    const list = async (variables: Record<string, unknown>) =>
      (await service.graphql(`query ($status: ExperimentStatus, $first: Int, $after: String) { experiments(status: $status, first: $first, after: $after) {
        edges { node { key status } } pageInfo { hasNextPage endCursor } } }`, variables)).data.experiments;
    expect((await list({ status: 'RUNNING' })).edges.map((e: { node: { key: string } }) => e.node.key)).toEqual([KEY]);
    const drafts = await list({ status: 'DRAFT', first: 1 });
    expect(drafts.edges).toHaveLength(1);
    expect(drafts.pageInfo.hasNextPage).toBe(true);
    const next = await list({ status: 'DRAFT', first: 1, after: drafts.pageInfo.endCursor });
    expect(next.edges[0].node.key).not.toBe(drafts.edges[0].node.key);
    expect((await service.graphql(`{ experiments(first: 500) { edges { node { key } } } }`)).errors?.[0]?.message).toMatch(/at most 200/);
  });

  it('stops (an event); a stopped experiment keeps its results', async () => {
    expect(await run(M.stop, { key: KEY })).toMatchObject({ __typename: 'Experiment', status: 'STOPPED' });
    expect(await service.db.prisma.catalogEvent.count({ where: { type: 'EXPERIMENT_STOPPED' } })).toBe(1);
    expect(await run(M.stop, { key: KEY })).toMatchObject({ __typename: 'ConflictError' });
    const { data } = await service.graphql(RESULTS, { key: KEY });
    expect(data.experiment.arms[1].runs).toBe(observed.rg!.length);
  });

  it('conclude refuses an unknown winner and writes nothing', async () => {
    const before = await rows();
    expect(await run(M.conclude, { key: KEY, winner: 'ag' })).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ path: 'winner' }] });
    expect(await rows()).toEqual(before);
  });

  it('conclude with deprecateLosers deprecates each loser with the winner as successor, in one transaction', async () => {
    const before = await rows();
    const concluded = await run(M.conclude, { key: KEY, winner: 'rg', deprecateLosers: true });
    expect(concluded).toMatchObject({ __typename: 'Experiment', status: 'CONCLUDED', winner: 'rg' });
    const loser = await service.db.prisma.tool.findFirst({ where: { name: 'xgrep', isLatest: true } });
    expect(loser).toMatchObject({ status: 'DEPRECATED', successor: 'xrg@linux', revision: 2, updatedBy: 'experimenter' });
    expect(await service.db.prisma.tool.findFirst({ where: { name: 'xrg', isLatest: true } })).toMatchObject({ status: 'ACTIVE' });
    const events = await service.db.prisma.catalogEvent.findMany({ where: { revision: { gt: (await service.db.prisma.catalogEvent.findFirst({ where: { type: 'EXPERIMENT_STOPPED' } }))!.revision } }, orderBy: { revision: 'asc' } });
    expect(events.map((e) => e.type)).toEqual(['TOOL_DEPRECATED', 'EXPERIMENT_CONCLUDED']);
    const audits = await service.db.prisma.auditLog.findMany({ orderBy: { id: 'desc' }, take: 2 });
    expect(audits.map((a) => a.action).sort()).toEqual(['experiment.conclude', 'tool.deprecate']);
    expect(audits.find((a) => a.action === 'experiment.conclude')!.diff).toMatchObject({ after: { status: 'CONCLUDED', winner: 'rg', deprecated: ['xgrep@linux'], successor: 'xrg@linux' } });
    expect(await rows()).toEqual({ ...before, audit: before.audit + 2, events: before.events + 2 });
  });

  it('a failed deprecation rolls the whole conclusion back', async () => {
    // `second` compares xgrep (deprecated now, still enabled) with xrg; make xrg's successor check fail by deleting the winner.
    await run(M.create, { input: definition('third') });
    await run(M.start, { key: 'third' });
    await service.db.prisma.tool.updateMany({ where: { name: 'xrg' }, data: { deletedAt: new Date() } });
    const before = await rows();
    const result = await run(M.conclude, { key: 'third', winner: 'rg', deprecateLosers: true });
    expect(result).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ path: 'successor' }] });
    expect(await rows()).toEqual(before);
    expect(await service.db.prisma.experiment.findUnique({ where: { key: 'third' } })).toMatchObject({ status: 'RUNNING', winner: null });
    await service.db.prisma.tool.updateMany({ where: { name: 'xrg' }, data: { deletedAt: null } });
  });

  it('an arm on the winner’s own version cannot be deprecated in its favour', async () => {
    // Both arms are xrg 1.0 (one pinned, one following the latest): deprecating the loser would deprecate the winner.
    await createTool({ ...tool('xrg2'), version: '1.0' });
    const versions = definition('versions', {
      capability: 'text_search',
      arms: [{ key: 'old', tool: { name: 'xrg', platform: 'linux', version: '1.0' }, weight: 0.5 }, { key: 'new', tool: { name: 'xrg', platform: 'linux' }, weight: 0.5 }],
    });
    await run(M.create, { input: versions });
    await run(M.stop, { key: 'third' });
    await run(M.start, { key: 'versions' });
    expect(await run(M.conclude, { key: 'versions', winner: 'new', deprecateLosers: true })).toMatchObject({
      __typename: 'ValidationError', fieldErrors: [{ path: 'deprecateLosers', message: expect.stringMatching(/arm old is xrg 1\.0, the winner's own version/) }],
    });
    expect(await run(M.conclude, { key: 'versions', winner: 'new' })).toMatchObject({ __typename: 'Experiment', status: 'CONCLUDED', winner: 'new' });
  });

  it('the successor a conclusion named survives a new version of the loser, and export → import', async () => {
    const latest = await service.db.prisma.tool.findFirstOrThrow({ where: { name: 'xgrep', isLatest: true } });
    const updated = await service.graphql(
      `mutation ($r: Int!) { updateTool(name: "xgrep", platform: "linux", revision: $r, changes: { description: "after the experiment" }) { __typename ... on Tool { version successorName successor { name platform } } } }`,
      { r: latest.revision },
      editor,
    );
    expect(updated.data.updateTool).toMatchObject({ __typename: 'Tool', version: '1.1', successorName: 'xrg@linux', successor: { name: 'xrg', platform: 'linux' } });
    const files = await exportCatalog(service.db.prisma);
    const file = files.find((f) => f.path === 'linux/xgrep.yaml')!;
    expect(parse(file.content)).toMatchObject({ successor: 'xrg@linux', status: 'deprecated' });
    const other = await openTestDatabase();
    try {
      await applyMigrations(other.db.migrationAdapter());
      const report = await importCatalog(other.db.prisma, { documents: files.map((f) => ({ name: f.path, content: f.content })) }, { actor: 'test' });
      expect(report.counts.rejected).toBe(0);
      expect(await other.db.prisma.tool.findFirstOrThrow({ where: { name: 'xgrep', isLatest: true } })).toMatchObject({ status: 'DEPRECATED', successor: 'xrg@linux' });
    } finally {
      await other.drop();
    }
  });
});

describe('concurrency', () => {
  it('of ten experiments started at once for one capability and platform, exactly one runs', async () => {
    await createTool({ ...tool('bgrep'), platform: 'bsd' });
    await createTool({ ...tool('brg'), platform: 'bsd' });
    const keys = Array.from({ length: 10 }, (_, i) => `race-${i}`);
    for (const key of keys) {
      await run(M.create, {
        input: definition(key, { arms: [{ key: 'a', tool: { name: 'bgrep', platform: 'bsd' }, weight: 0.5 }, { key: 'b', tool: { name: 'brg', platform: 'bsd' }, weight: 0.5 }] }),
      });
    }
    const results = await Promise.all(keys.map((key) => run(M.start, { key })));
    expect(results.filter((r) => r.__typename === 'Experiment')).toHaveLength(1);
    expect(results.filter((r) => r.__typename === 'ConflictError')).toHaveLength(9);
    expect(await service.db.prisma.experiment.count({ where: { platform: 'bsd', status: 'RUNNING' } })).toBe(1);
    expect(await service.db.prisma.catalogEvent.count({ where: { type: 'EXPERIMENT_STARTED', platform: 'bsd' } })).toBe(1);
  });
});
