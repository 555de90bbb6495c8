import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { exportCatalog } from '../src/catalog/exporter.js';
import { importCatalog } from '../src/catalog/importer.js';
import { applyMigrations } from '../src/db/migrations.js';
import { createApiKey } from '../src/auth/keys.js';
import { assign } from '../src/experiments/assignment.js';
import { pinnedKey } from '../src/experiments/experimentCatalog.js';
import { selectTools } from '../src/selection/selectTools.js';
import { openTestDatabase, startTestService, type TestService } from './support/service.js';

/**
 * An experiment between two versions of one tool (issue 16, item 3 with a pinned arm): the in-memory
 * catalog holds only latest versions, so the experiments load the pinned versions' rows themselves.
 * A unit of the arm pinned to the older version gets that exact version first, ranked on its own
 * patterns' estimates; a unit of the other arm gets the latest. Still no SQL per decision.
 */
const ADMIN_KEY = 'experiment-versions-admin-key-0123456789';
const KEY = 'xver-upgrade';
let service: TestService;
let editor: Record<string, string>;

const SELECT = `query ($request: SelectToolsInput!) { selectTools(request: $request) {
  candidates { rank why tool { id name version } pattern estimate { timeMs cost } experiment { key arm } }
  excluded { tool { name version } reason detail }
  experiment { key arm bucket outcome reason }
} }`;

async function graphql(query: string, variables: Record<string, unknown>, headers: Record<string, string> = {}) {
  const response = await service.graphql(query, variables, headers);
  expect(response.errors).toBeUndefined();
  return response.data;
}
const select = async (request: Record<string, unknown>) => (await graphql(SELECT, { request: { capability: 'disk_scan', platform: 'linux', ...request } })).selectTools;
const capability = (timeEstimateMs: string, costEstimate: string) => [
  { name: 'disk_scan', description: 'Scans a disk', patterns: [{ name: 'full', timeEstimateMs, costEstimate }] },
];
const armOf = (unitId: string) => (['old', 'new'] as const)[assign({ seed: KEY, coverage: 1, weights: [0.5, 0.5] }, unitId).armIndex!]!;
const UNITS = Array.from({ length: 24 }, (_, i) => `host-${i}`);
let ids: { v1: string; v2: string };

beforeAll(async () => {
  service = await startTestService({ adminApiKey: ADMIN_KEY, seed: false });
  editor = { authorization: `Bearer ${await createApiKey(service.db.prisma, 'experimenter', 'editor')}` };
  const base = { platform: 'linux', category: 'filesystem', description: 'Disk scanner' };
  for (const input of [
    { ...base, name: 'xscan', version: '1.0', capabilities: capability('3000', '2') },
    { ...base, name: 'xdu', version: '1.0', capabilities: capability('1000', '1') },
  ]) {
    expect((await graphql(`mutation ($input: ToolInput!) { createTool(input: $input) { __typename } }`, { input }, editor)).createTool.__typename).toBe('Tool');
  }
  // Version 2.0 of xscan is much faster by its estimates; 1.0 stays queryable but is no longer the latest.
  const { tool } = await graphql(`{ tool(name: "xscan", platform: "linux") { revision } }`, {});
  const updated = await graphql(
    `mutation ($changes: ToolPatchInput!, $revision: Int!) { updateTool(name: "xscan", platform: "linux", revision: $revision, version: "2.0", changes: $changes) { __typename ... on Tool { version } } }`,
    { revision: tool.revision, changes: { capabilities: capability('200', '0.5') } },
    editor,
  );
  expect(updated.updateTool).toEqual({ __typename: 'Tool', version: '2.0' });
  const rows = await service.db.prisma.tool.findMany({ where: { name: 'xscan' }, select: { id: true, version: true } });
  ids = { v1: rows.find((r) => r.version === '1.0')!.id, v2: rows.find((r) => r.version === '2.0')!.id };

  const created = await graphql(
    `mutation ($input: CreateExperimentInput!) { createExperiment(input: $input) { __typename ... on Error { message } } }`,
    {
      input: {
        key: KEY,
        capability: 'disk_scan',
        metric: 'DURATION',
        arms: [
          { key: 'old', tool: { name: 'xscan', platform: 'linux', version: '1.0' }, weight: 0.5 },
          { key: 'new', tool: { name: 'xscan', platform: 'linux', version: '2.0' }, weight: 0.5 },
        ],
      },
    },
    editor,
  );
  expect(created.createExperiment.__typename).toBe('Experiment');
  expect((await graphql(`mutation { startExperiment(key: "${KEY}") { __typename } }`, {}, editor)).startExperiment.__typename).toBe('Experiment');
});
afterAll(() => service.close());

describe('an arm pinned to an older version', () => {
  it('puts that exact version first for its units, ranked on its own estimates; the other arm gets the latest', async () => {
    const seen = { old: 0, new: 0 };
    for (const unitId of UNITS) {
      const arm = armOf(unitId);
      seen[arm]++;
      const selection = await select({ unitId });
      expect(selection.experiment).toMatchObject({ key: KEY, arm, outcome: 'ASSIGNED' });
      const [first, ...rest] = selection.candidates;
      if (arm === 'old') {
        expect(first).toMatchObject({ rank: 1, tool: { id: ids.v1, name: 'xscan', version: '1.0' }, pattern: 'full', estimate: { timeMs: 3000, cost: 2 }, experiment: { key: KEY, arm: 'old' } });
        // By score alone 1.0 (3000 ms, cost 2) comes last, behind 2.0 and xdu, which keep the rule's order.
        expect(first.why).toMatch(/^First because unit "host-\d+" is in arm old of experiment xver-upgrade \(bucket [\d.]+\); by score alone: Ranked 3 with score/);
        expect(rest.map((c: any) => [c.tool.name, c.tool.version, c.rank])).toEqual([['xscan', '2.0', 2], ['xdu', '1.0', 3]]);
      } else {
        expect(first).toMatchObject({ rank: 1, tool: { id: ids.v2, name: 'xscan', version: '2.0' }, estimate: { timeMs: 200, cost: 0.5 }, experiment: { key: KEY, arm: 'new' } });
        // The older version is no candidate for units outside its arm.
        expect(rest.map((c: any) => [c.tool.name, c.tool.version])).toEqual([['xdu', '1.0']]);
      }
    }
    expect(Math.min(seen.old, seen.new)).toBeGreaterThan(0);
    // Without a unit, the rule alone over the latest versions.
    const plain = await select({});
    expect(plain.candidates.map((c: any) => [c.tool.name, c.tool.version])).toEqual([['xscan', '2.0'], ['xdu', '1.0']]);
    expect(plain.experiment).toBeNull();
  });

  it('passes the pinned version through the request’s limits like any candidate', async () => {
    const unitId = UNITS.find((u) => armOf(u) === 'old')!;
    const selection = await select({ unitId, maxTimeMs: 2_000 });
    expect(selection.experiment).toMatchObject({ arm: 'old', outcome: 'EXCLUDED', reason: expect.stringMatching(/arm old's tool xscan \(linux\) does not pass this request: OVER_TIME_LIMIT/) });
    expect(selection.candidates.map((c: any) => [c.tool.name, c.tool.version])).toEqual([['xscan', '2.0'], ['xdu', '1.0']]);
    expect(selection.excluded).toContainEqual({ tool: { name: 'xscan', version: '1.0' }, reason: 'OVER_TIME_LIMIT', detail: expect.any(String) });
  });

  it('costs no SQL per decision: the pinned version is held in memory', async () => {
    const unitId = UNITS.find((u) => armOf(u) === 'old')!;
    await select({ unitId, variables: { N: 1 } });
    for (const n of [2, 3, 4]) {
      const { result, statements } = await service.recordStatements(() => select({ unitId, variables: { N: n } }));
      expect(statements).toEqual([]);
      expect(result.candidates[0].tool.version).toBe('1.0');
    }
  });

  it('answers a query that also reads the database (one read transaction) right after experiments change', async () => {
    // A draft changes the experiments: the next decision reloads them, through the query's own transaction.
    const draft = await graphql(
      `mutation ($input: CreateExperimentInput!) { createExperiment(input: $input) { __typename } }`,
      { input: { key: 'xver-draft', capability: 'disk_scan', metric: 'COST', arms: [{ key: 'a', tool: { name: 'xdu', platform: 'linux' }, weight: 0.5 }, { key: 'b', tool: { name: 'xscan', platform: 'linux' }, weight: 0.5 }] } },
      editor,
    );
    expect(draft.createExperiment.__typename).toBe('Experiment');
    const unitId = UNITS.find((u) => armOf(u) === 'old')!;
    const started = Date.now();
    const response = await service.graphql(
      `query ($request: SelectToolsInput!) { selectTools(request: $request) { decisionId candidates { tool { version } } } tool(name: "xdu", platform: "linux") { version } }`,
      { request: { capability: 'disk_scan', platform: 'linux', unitId } },
    );
    expect(response.errors).toBeUndefined();
    expect(response.data.selectTools.candidates[0].tool.version).toBe('1.0');
    expect(response.data.selectTools.decisionId).toMatch(/^xd1\./);
    // Not after a wait for its own transaction to give up (PGlite has one connection).
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('follows the tool’s switch, held on its latest row', async () => {
    const unitId = UNITS.find((u) => armOf(u) === 'old')!;
    const { tool } = await graphql(`{ tool(name: "xscan", platform: "linux") { revision } }`, {});
    await graphql(`mutation ($r: Int!) { setToolEnabled(name: "xscan", platform: "linux", revision: $r, enabled: false) { __typename } }`, { r: tool.revision }, editor);
    try {
      const selection = await select({ unitId });
      expect(selection.experiment).toMatchObject({ arm: 'old', outcome: 'EXCLUDED', reason: expect.stringMatching(/DISABLED/) });
      expect(selection.candidates.map((c: any) => c.tool.name)).toEqual(['xdu']);
    } finally {
      // A switched-off tool is not found by `tool(name, platform)`: its revision is read from its row.
      const again = await service.db.prisma.tool.findFirstOrThrow({ where: { name: 'xscan', isLatest: true }, select: { revision: true } });
      await graphql(`mutation ($r: Int!) { setToolEnabled(name: "xscan", platform: "linux", revision: $r, enabled: true) { __typename } }`, { r: again.revision }, editor);
    }
  });
});

describe('the rule with a pinned older version', () => {
  it('keeps `ambiguous` the rule’s over the catalog’s own versions', async () => {
    const { snapshot } = await service.app.memory.read();
    const experiments = await service.app.experiments.snapshot();
    const pinnedTool = experiments.pinned.get(pinnedKey('xscan', 'linux', '1.0'))!;
    expect(pinnedTool.row.id).toBe(ids.v1);
    const arm = { experimentKey: KEY, armKey: 'old', bucket: 0.25, tool: { name: 'xscan', platform: 'linux', version: '1.0' }, pattern: null, pinnedTool };
    // Only xscan's own (latest) patterns as the catalog's candidates, so the older version could be second.
    const hooks = { candidates: (s: typeof snapshot, capability: string) => (s.byCapability.get(capability) ?? []).filter((p) => p.tool.row.name === 'xscan') };
    let differs = 0;
    for (const feature of ['time', 'cost', 'complexity'] as const) {
      const weights = { time: 0, cost: 0, complexity: 0, accuracy: 0, completeness: 0, [feature]: 1 };
      const plain = selectTools(snapshot, { capability: 'disk_scan', weights }, { stale: false, hooks });
      const withArm = selectTools(snapshot, { capability: 'disk_scan', weights, unitId: 'u' }, { stale: false, hooks, experiment: { status: 'ASSIGNED', arm } });
      expect(withArm.candidates[0]!.tool.id).toBe(ids.v1);
      expect(withArm.ambiguous).toBe(plain.ambiguous);
      // Over every ranked candidate, the older version included, the answer would not always be the same.
      const scores = withArm.candidates.map((c) => c.score).sort((a, b) => b - a);
      if ((scores[0]! - scores[1]! <= 0.08) !== plain.ambiguous) differs++;
    }
    expect(differs).toBeGreaterThan(0);
  });
});

describe('the experiment step of the rule, without the pinned row', () => {
  it('says the pinned version is not held when the experiments could not load it', async () => {
    const { snapshot } = await service.app.memory.read();
    const arm = { experimentKey: KEY, armKey: 'old', bucket: 0.25, tool: { name: 'xscan', platform: 'linux', version: '1.0' }, pattern: null, pinnedTool: null };
    const selection = selectTools(snapshot, { capability: 'disk_scan', unitId: 'u' }, { stale: false, experiment: { status: 'ASSIGNED', arm } });
    expect(selection.candidates.map((c) => c.tool.version)).toEqual(['2.0', '1.0']);
    expect(selection.experiment).toMatchObject({ outcome: 'EXCLUDED', reason: expect.stringMatching(/pins xscan version 1\.0, which the catalog does not hold/) });
  });
});

describe('concluding a comparison of versions with deprecateLosers', () => {
  const CONCLUDE = `mutation ($key: String!, $winner: String!) { concludeExperiment(key: $key, winner: $winner, deprecateLosers: true) {
    __typename ... on Experiment { status winner } ... on ValidationError { fieldErrors { path message } } ... on Error { message } } }`;
  const counts = async () => {
    const prisma = service.db.prisma;
    return { audit: await prisma.auditLog.count(), events: await prisma.catalogEvent.count(), deprecated: await prisma.tool.count({ where: { status: 'DEPRECATED' } }) };
  };
  const version = (v: string) => service.db.prisma.tool.findFirstOrThrow({ where: { name: 'xscan', platform: 'linux', version: v } });

  it('refuses to deprecate the latest version in favour of an older one (that deprecates the tool), writing nothing', async () => {
    const before = await counts();
    const latestRevision = (await version('2.0')).revision;
    const { concludeExperiment } = await graphql(CONCLUDE, { key: KEY, winner: 'old' }, editor);
    expect(concludeExperiment).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: 'deprecateLosers', message: expect.stringMatching(/arm new is the latest version of xscan \(2\.0\); deprecating it would deprecate the tool.*roll back to it \(rollbackTool\)/) }],
    });
    expect(await counts()).toEqual(before);
    expect(await service.db.prisma.experiment.findUniqueOrThrow({ where: { key: KEY } })).toMatchObject({ status: 'RUNNING', winner: null });
    expect(await version('2.0')).toMatchObject({ status: 'ACTIVE', revision: latestRevision });
  });

  it('deprecates the older losing version alone, naming the tool (its latest, the winner) as successor: one transaction, audited, an event', async () => {
    const before = await counts();
    const latestBefore = await version('2.0');
    const lastRevision = (await service.db.prisma.catalogEvent.aggregate({ _max: { revision: true } }))._max.revision!;
    const { concludeExperiment } = await graphql(CONCLUDE, { key: KEY, winner: 'new' }, editor);
    expect(concludeExperiment).toEqual({ __typename: 'Experiment', status: 'CONCLUDED', winner: 'new' });

    expect(await version('1.0')).toMatchObject({ status: 'DEPRECATED', successor: 'xscan@linux', updatedBy: 'experimenter', isLatest: false });
    // The tool itself is untouched but for its revision: still ACTIVE, no successor, 2.0 the latest.
    expect(await version('2.0')).toMatchObject({ status: 'ACTIVE', successor: null, isLatest: true, revision: latestBefore.revision + 1 });
    const events = await service.db.prisma.catalogEvent.findMany({ where: { revision: { gt: lastRevision } }, orderBy: { revision: 'asc' } });
    expect(events.map((e) => [e.type, e.toolName, e.version])).toEqual([['TOOL_DEPRECATED', 'xscan', '1.0'], ['EXPERIMENT_CONCLUDED', null, null]]);
    expect(events[0]!.payload).toMatchObject({ versionOnly: true, latestVersion: '2.0', actor: 'experimenter' });
    const audits = await service.db.prisma.auditLog.findMany({ orderBy: { id: 'desc' }, take: 2 });
    expect(audits.find((a) => a.action === 'tool.deprecateVersion')).toMatchObject({ entityId: ids.v1, entityName: 'xscan@linux', reason: `lost experiment ${KEY} to new` });
    expect(audits.find((a) => a.action === 'experiment.conclude')!.diff).toMatchObject({ after: { winner: 'new', deprecated: [], deprecatedVersions: [{ tool: 'xscan@linux', version: '1.0' }] } });
    expect(await counts()).toEqual({ audit: before.audit + 2, events: before.events + 2, deprecated: before.deprecated + 1 });

    // Through the API: the version says so and resolves its successor to the latest; the tool does not.
    const { old, tool } = await graphql(
      `{ old: tool(name: "xscan", platform: "linux", version: "1.0") { status successorName successor { version } } tool(name: "xscan", platform: "linux") { version status successorName } }`,
      {},
    );
    expect(old).toEqual({ status: 'DEPRECATED', successorName: 'xscan@linux', successor: { version: '2.0' } });
    expect(tool).toEqual({ version: '2.0', status: 'ACTIVE', successorName: null });
    // Selection without an experiment is as before: the latest version, not deprecated.
    expect((await select({})).candidates.map((c: any) => [c.tool.name, c.tool.version])).toEqual([['xscan', '2.0'], ['xdu', '1.0']]);
  });

  it('selection treats the deprecated version, pinned by a later experiment, as it treats a deprecated tool', async () => {
    const created = await graphql(
      `mutation ($input: CreateExperimentInput!) { createExperiment(input: $input) { __typename } }`,
      {
        input: {
          key: 'xver-again',
          capability: 'disk_scan',
          metric: 'DURATION',
          arms: [
            { key: 'old', tool: { name: 'xscan', platform: 'linux', version: '1.0' }, weight: 0.5 },
            { key: 'new', tool: { name: 'xscan', platform: 'linux' }, weight: 0.5 },
          ],
        },
      },
      editor,
    );
    expect(created.createExperiment.__typename).toBe('Experiment');
    expect((await graphql(`mutation { startExperiment(key: "xver-again") { __typename } }`, {}, editor)).startExperiment.__typename).toBe('Experiment');
    try {
      const unitId = UNITS.find((u) => assign({ seed: 'xver-again', coverage: 1, weights: [0.5, 0.5] }, u).armIndex === 0)!;
      const out = await select({ unitId });
      expect(out.experiment).toMatchObject({ key: 'xver-again', arm: 'old', outcome: 'EXCLUDED', reason: expect.stringMatching(/DEPRECATED \(deprecated; use xscan@linux instead\)/) });
      expect(out.excluded).toContainEqual({ tool: { name: 'xscan', version: '1.0' }, reason: 'DEPRECATED', detail: 'deprecated; use xscan@linux instead' });
      expect(out.candidates.map((c: any) => [c.tool.name, c.tool.version])).toEqual([['xscan', '2.0'], ['xdu', '1.0']]);
      // As for a deprecated tool, a request that includes deprecated tools gets it.
      const included = await select({ unitId, includeDeprecated: true });
      expect(included.experiment).toMatchObject({ arm: 'old', outcome: 'ASSIGNED' });
      expect(included.candidates[0]).toMatchObject({ tool: { id: ids.v1, version: '1.0' }, experiment: { key: 'xver-again', arm: 'old' } });
    } finally {
      expect((await graphql(`mutation { stopExperiment(key: "xver-again") { __typename } }`, {}, editor)).stopExperiment.__typename).toBe('Experiment');
    }
  });

  it('survives a new version of the tool; export carries the latest version only, and import brings the tool back ACTIVE', async () => {
    const { tool } = await graphql(`{ tool(name: "xscan", platform: "linux") { revision } }`, {});
    const updated = await graphql(
      `mutation ($r: Int!) { updateTool(name: "xscan", platform: "linux", revision: $r, version: "3.0", changes: { description: "after the experiment" }) { __typename ... on Tool { version status successorName } } }`,
      { r: tool.revision },
      editor,
    );
    expect(updated.updateTool).toEqual({ __typename: 'Tool', version: '3.0', status: 'ACTIVE', successorName: null });
    expect(await version('1.0')).toMatchObject({ status: 'DEPRECATED', successor: 'xscan@linux' });
    expect(await version('2.0')).toMatchObject({ status: 'ACTIVE', successor: null, isLatest: false });

    const files = await exportCatalog(service.db.prisma);
    const exported = parse(files.find((f) => f.path === 'linux/xscan.yaml')!.content);
    expect(exported).toMatchObject({ name: 'xscan', version: '3.0' });
    expect(exported.status ?? 'active').toBe('active');
    expect(exported.successor).toBeUndefined();
    const other = await openTestDatabase();
    try {
      await applyMigrations(other.db.migrationAdapter());
      const report = await importCatalog(other.db.prisma, { documents: files.map((f) => ({ name: f.path, content: f.content })) }, { actor: 'test' });
      expect(report.counts.rejected).toBe(0);
      expect(await other.db.prisma.tool.findMany({ where: { name: 'xscan' }, select: { version: true, status: true, successor: true } })).toEqual([
        { version: '3.0', status: 'ACTIVE', successor: null },
      ]);
    } finally {
      await other.drop();
    }
    // Imported back here, the catalog is unchanged and 1.0 keeps its deprecation.
    const again = await importCatalog(service.db.prisma, { documents: files.map((f) => ({ name: f.path, content: f.content })) }, { actor: 'test' });
    expect(again.counts.rejected).toBe(0);
    expect(await version('1.0')).toMatchObject({ status: 'DEPRECATED', successor: 'xscan@linux' });
  });

  it('refuses when the winning version is no longer the latest (the successor would resolve to another version)', async () => {
    const created = await graphql(
      `mutation ($input: CreateExperimentInput!) { createExperiment(input: $input) { __typename } }`,
      {
        input: {
          key: 'xver-stale',
          capability: 'disk_scan',
          metric: 'DURATION',
          arms: [
            { key: 'two', tool: { name: 'xscan', platform: 'linux', version: '2.0' }, weight: 0.5 },
            { key: 'one', tool: { name: 'xscan', platform: 'linux', version: '1.0' }, weight: 0.5 },
          ],
        },
      },
      editor,
    );
    expect(created.createExperiment.__typename).toBe('Experiment');
    expect((await graphql(`mutation { startExperiment(key: "xver-stale") { __typename } }`, {}, editor)).startExperiment.__typename).toBe('Experiment');
    const before = await counts();
    const { concludeExperiment } = await graphql(CONCLUDE, { key: 'xver-stale', winner: 'two' }, editor);
    expect(concludeExperiment).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: 'deprecateLosers', message: expect.stringMatching(/the winner two is xscan 2\.0, no longer the tool's latest version \(3\.0\)/) }],
    });
    expect(await counts()).toEqual(before);
    expect(await service.db.prisma.experiment.findUniqueOrThrow({ where: { key: 'xver-stale' } })).toMatchObject({ status: 'RUNNING' });
  });
});
