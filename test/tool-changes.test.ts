import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../src/auth/keys.js';
import { startTestService, type TestService } from './support/service.js';

const ADMIN_KEY = 'bootstrap-admin-key-for-change-tests';
let service: TestService;
let editor: Record<string, string>;
let reader: Record<string, string>;

beforeAll(async () => {
  service = await startTestService({ adminApiKey: ADMIN_KEY });
  editor = { authorization: `Bearer ${await createApiKey(service.db.prisma, 'ops-ui', 'editor')}` };
  reader = { authorization: `Bearer ${await createApiKey(service.db.prisma, 'dashboard', 'reader')}` };
});
afterAll(() => service.close());

/** Selection for every tool-change result: the tool, or which expected error and why. */
const OUTCOME = `__typename
  ... on Tool { id name platform version revision isLatest status enabled successorName successor { name platform version } deletedAt
    capabilities { name patterns { name timeEstimateMs complexityScore } } }
  ... on Error { message }
  ... on ValidationError { fieldErrors { path message } }
  ... on ConflictError { currentRevision }
  ... on NotFoundError { entity }`;

const REF = '$name: String!, $platform: String!, $revision: Int!, $reason: String';
const REF_ARGS = 'name: $name, platform: $platform, revision: $revision, reason: $reason';

const M = {
  create: `mutation ($input: ToolInput!, $reason: String) { result: createTool(input: $input, reason: $reason) { ${OUTCOME} } }`,
  update: `mutation (${REF}, $changes: ToolPatchInput!, $version: String, $draft: Boolean) {
    result: updateTool(${REF_ARGS}, changes: $changes, version: $version, draft: $draft) { ${OUTCOME} } }`,
  rollback: `mutation (${REF}, $to: String!) { result: rollbackTool(${REF_ARGS}, to: $to) { ${OUTCOME} } }`,
  publish: `mutation (${REF}, $version: String!) { result: publishToolVersion(${REF_ARGS}, version: $version) { ${OUTCOME} } }`,
  deprecate: `mutation (${REF}, $successor: String) { result: deprecateTool(${REF_ARGS}, successor: $successor) { ${OUTCOME} } }`,
  enable: `mutation (${REF}, $enabled: Boolean!) { result: setToolEnabled(${REF_ARGS}, enabled: $enabled) { ${OUTCOME} } }`,
  delete: `mutation (${REF}) { result: deleteTool(${REF_ARGS}) { ${OUTCOME} } }`,
  restore: `mutation (${REF}) { result: restoreTool(${REF_ARGS}) { ${OUTCOME} } }`,
  addCapability: `mutation (${REF}, $capability: CapabilityInput!) { result: addCapability(${REF_ARGS}, capability: $capability) { ${OUTCOME} } }`,
  updatePattern: `mutation (${REF}, $capabilityName: String!, $patternName: String!, $changes: PatternPatchInput!) {
    result: updatePattern(${REF_ARGS}, capabilityName: $capabilityName, patternName: $patternName, changes: $changes) { ${OUTCOME} } }`,
  removePattern: `mutation (${REF}, $capabilityName: String!, $patternName: String!) {
    result: removePattern(${REF_ARGS}, capabilityName: $capabilityName, patternName: $patternName) { ${OUTCOME} } }`,
  validate: `mutation ($input: ToolInput!) { validateTool(input: $input) { valid tool problems { path message } } }`,
};

async function change(mutation: string, variables: Record<string, unknown>, headers = editor) {
  const response = await service.graphql(mutation, variables, headers);
  expect(response.errors).toBeUndefined();
  return response.data.result;
}

const probe = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  platform: 'linux',
  version: '1.0',
  category: 'network',
  description: `Probe ${name}`,
  capabilities: [
    {
      name: 'probing',
      description: 'Probes hosts',
      patterns: [
        { name: 'probe_once', timeEstimateMs: '100 + 2 * N', costEstimate: '1', complexityScore: 0.3, requiredInputs: [{ name: 'N', type: 'integer' }] },
      ],
    },
  ],
  ...extra,
});

/** Everything a change could touch, to compare before and after a refused one. */
async function snapshot() {
  const prisma = service.db.prisma;
  const [tools, capabilities, patterns, audit, events] = await Promise.all([
    prisma.tool.findMany({ orderBy: { id: 'asc' } }),
    prisma.capability.findMany({ orderBy: { id: 'asc' } }),
    prisma.pattern.findMany({ orderBy: { id: 'asc' } }),
    prisma.auditLog.count(),
    prisma.catalogEvent.count(),
  ]);
  return JSON.stringify({ tools, capabilities, patterns, audit, events });
}

describe('a tool through its life', () => {
  it('is created, updated twice, rolled back, soft-deleted and restored, each step versioned and audited', async () => {
    const ref = { name: 'lifecycle-probe', platform: 'linux' };
    const created = await change(M.create, { input: probe(ref.name), reason: 'new probe' });
    expect(created).toMatchObject({ __typename: 'Tool', version: '1.0', revision: 1, isLatest: true, status: 'ACTIVE' });

    const v11 = await change(M.update, { ...ref, revision: 1, changes: { description: 'Probes hosts, faster' }, reason: 'wording' });
    expect(v11).toMatchObject({ __typename: 'Tool', version: '1.1', revision: 2, isLatest: true });
    const v20 = await change(M.update, {
      ...ref,
      revision: 2,
      version: '2.0',
      changes: {
        capabilities: [
          { name: 'probing', patterns: [{ name: 'probe_once', timeEstimateMs: '50 + N', complexityScore: 0.2 }] },
          { name: 'tracing', description: 'Traces routes' },
        ],
      },
    });
    expect(v20).toMatchObject({ version: '2.0', revision: 3 });
    expect(v20.capabilities.map((c: { name: string }) => c.name)).toEqual(['probing', 'tracing']);

    const rolledBack = await change(M.rollback, { ...ref, revision: 3, to: '1.0', reason: 'v2 estimates were wrong' });
    expect(rolledBack).toMatchObject({ version: '2.1', revision: 4, isLatest: true });
    expect(rolledBack.capabilities).toEqual(created.capabilities);

    // Every version stays queryable; exactly one is latest; `tool` reads the rollback.
    const versions = await service.graphql(
      `{ toolVersions(name: "lifecycle-probe", platform: "LINUX") { version isLatest revision parent { version } } }`,
    );
    expect(versions.data.toolVersions).toEqual([
      { version: '2.1', isLatest: true, revision: 4, parent: { version: '1.0' } },
      { version: '2.0', isLatest: false, revision: 3, parent: { version: '1.1' } },
      { version: '1.1', isLatest: false, revision: 2, parent: { version: '1.0' } },
      { version: '1.0', isLatest: false, revision: 1, parent: null },
    ]);

    const diff = await service.graphql(`{ tool(name: "lifecycle-probe") { diff(from: "1.1", to: "2.0") { path kind before after } } }`);
    expect(diff.errors).toBeUndefined();
    expect(diff.data.tool.diff).toEqual(
      expect.arrayContaining([
        { path: 'version', kind: 'CHANGED', before: '1.1', after: '2.0' },
        { path: 'capabilities.probing.patterns.probe_once.timeEstimateMs', kind: 'CHANGED', before: '100 + 2 * N', after: '50 + N' },
        { path: 'capabilities.probing.patterns.probe_once.complexityScore', kind: 'CHANGED', before: 0.3, after: 0.2 },
        { path: 'capabilities.probing.description', kind: 'CHANGED', before: 'Probes hosts', after: '' },
        expect.objectContaining({ path: 'capabilities.tracing', kind: 'ADDED' }),
      ]),
    );

    const deleted = await change(M.delete, { ...ref, revision: 4, reason: 'retired' });
    expect(deleted.deletedAt).not.toBeNull();
    const hidden = await service.graphql(`{ tool(name: "lifecycle-probe") { id } toolVersions(name: "lifecycle-probe", platform: "linux") { id }
      tools(search: "lifecycle-probe") { totalCount } }`);
    expect(hidden.data).toEqual({ tool: null, toolVersions: [], tools: { totalCount: 0 } });
    const again = await change(M.update, { ...ref, revision: 5, changes: { description: 'x' } });
    expect(again).toMatchObject({ __typename: 'NotFoundError', message: expect.stringContaining('restore it first') });

    const restored = await change(M.restore, { ...ref, revision: 5 });
    expect(restored).toMatchObject({ version: '2.1', revision: 6, deletedAt: null });
    const back = await service.graphql(`{ toolVersions(name: "lifecycle-probe", platform: "linux") { version } }`);
    expect(back.data.toolVersions).toHaveLength(4);

    const audit = await service.graphql(
      `{ auditLog(filter: { entityName: "lifecycle-probe@linux" }, first: 20) { totalCount edges { node { actor action reason diff entityId } } } }`,
      {},
      editor,
    );
    expect(audit.errors).toBeUndefined();
    const entries = audit.data.auditLog.edges.map((e: { node: Record<string, any> }) => e.node);
    expect(entries.map((e: { action: string }) => e.action)).toEqual([
      'tool.restore',
      'tool.delete',
      'tool.rollback',
      'tool.update',
      'tool.update',
      'tool.create',
    ]);
    expect(new Set(entries.map((e: { actor: string }) => e.actor))).toEqual(new Set(['ops-ui']));
    expect(entries.find((e: { action: string }) => e.action === 'tool.rollback')).toMatchObject({
      reason: 'v2 estimates were wrong',
      diff: expect.objectContaining({ from: '2.0', to: '2.1', rollbackTo: '1.0' }),
    });
    const wording = entries.filter((e: { action: string }) => e.action === 'tool.update').at(-1);
    expect(wording.diff.changes).toEqual([{ path: 'description', kind: 'CHANGED', before: 'Probe lifecycle-probe', after: 'Probes hosts, faster' }]);
    expect(entries.find((e: { action: string }) => e.action === 'tool.delete').diff).toMatchObject({ before: { deleted: false }, after: { deleted: true } });
  });

  it('keeps a draft out of latest until it is published', async () => {
    const ref = { name: 'draft-probe', platform: 'linux' };
    await change(M.create, { input: probe(ref.name) });
    const draft = await change(M.update, { ...ref, revision: 1, draft: true, changes: { description: 'work in progress' } });
    expect(draft).toMatchObject({ version: '1.1', status: 'DRAFT', isLatest: false, revision: 2 });
    const read = await service.graphql(`{ tool(name: "draft-probe") { version revision description } }`);
    expect(read.data.tool).toEqual({ version: '1.0', revision: 2, description: 'Probe draft-probe' });
    const published = await change(M.publish, { ...ref, revision: 2, version: '1.1' });
    expect(published).toMatchObject({ version: '1.1', status: 'ACTIVE', isLatest: true, revision: 3 });
    const after = await service.graphql(`{ tool(name: "draft-probe") { version description } }`);
    expect(after.data.tool).toEqual({ version: '1.1', description: 'work in progress' });
  });

  it('changes capabilities and patterns as new versions, and lifecycle in place', async () => {
    const ref = { name: 'pattern-probe', platform: 'linux' };
    await change(M.create, { input: probe(ref.name) });
    const added = await change(M.addCapability, { ...ref, revision: 1, capability: { name: 'tracing', patterns: [{ name: 'trace_once' }] } });
    expect(added).toMatchObject({ version: '1.1', revision: 2 });
    const tuned = await change(M.updatePattern, { ...ref, revision: 2, capabilityName: 'probing', patternName: 'probe_once', changes: { complexityScore: 0.9 } });
    expect(tuned.capabilities[0].patterns[0]).toEqual({ name: 'probe_once', timeEstimateMs: '100 + 2 * N', complexityScore: 0.9 });
    const removed = await change(M.removePattern, { ...ref, revision: 3, capabilityName: 'tracing', patternName: 'trace_once' });
    expect(removed).toMatchObject({ version: '1.3', revision: 4 });
    expect(removed.capabilities[1].patterns).toEqual([]);
    const missing = await change(M.removePattern, { ...ref, revision: 4, capabilityName: 'tracing', patternName: 'trace_once' });
    expect(missing).toMatchObject({ __typename: 'NotFoundError', entity: 'Pattern' });

    const disabled = await change(M.enable, { ...ref, revision: 4, enabled: false });
    expect(disabled).toMatchObject({ version: '1.3', enabled: false, revision: 5 });
    expect((await service.graphql(`{ tool(name: "pattern-probe") { id } }`)).data.tool).toBeNull();
    const deprecated = await change(M.deprecate, { ...ref, revision: 5, successor: 'grep' });
    expect(deprecated).toMatchObject({ status: 'DEPRECATED', successorName: 'grep', successor: { name: 'grep', platform: 'linux' }, revision: 6, version: '1.3' });
    const noSuccessor = await change(M.deprecate, { ...ref, revision: 6, successor: 'no-such-tool' });
    expect(noSuccessor).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ path: 'successor', message: expect.stringMatching(/no tool/) }] });
  });
});

describe('bad input', () => {
  const refused = async (mutation: string, variables: Record<string, unknown>, expected: Record<string, unknown>, headers = editor) => {
    const before = await snapshot();
    const result = await change(mutation, variables, headers);
    expect(result).toMatchObject(expected);
    expect(await snapshot()).toBe(before);
    return result;
  };

  it.each([
    ['a version with spaces', { version: '1.0 beta' }, 'version', /letters, digits/],
    ['a version with a path', { version: '../1.0' }, 'version', /start with a letter or digit/],
    ['a name with a control character', { name: 'gr\u0007ep' }, 'name', /control characters/],
    ['a name over 128 characters', { name: 'x'.repeat(129) }, 'name', /128/],
    ['an empty category', { category: '' }, 'category', /.+/],
  ])('%s is a ValidationError naming the field, and writes nothing', async (_label, override, path, message) => {
    const result = await refused(M.create, { input: probe('bad-input-probe', override) }, { __typename: 'ValidationError' });
    expect(result.fieldErrors).toEqual(expect.arrayContaining([{ path, message: expect.stringMatching(message) }]));
  });

  it.each([
    ['complexity above 1', { complexityScore: 1.5 }, 'complexityScore', /from 0 to 1, found 1.5/],
    ['complexity below 0', { complexityScore: -0.1 }, 'complexityScore', /from 0 to 1, found -0.1/],
    ['a malformed expression', { timeEstimateMs: '2000 + * N' }, 'timeEstimateMs', /malformed expression "2000 \+ \* N"/],
    ['code as an expression', { costEstimate: "require('fs')" }, 'costEstimate', /unknown function/],
  ])('%s in a pattern is a ValidationError with the pattern path', async (_label, patternOverride, field, message) => {
    const input = probe('bad-pattern-probe');
    Object.assign(input.capabilities[0]!.patterns[0]!, patternOverride);
    const result = await refused(M.create, { input }, { __typename: 'ValidationError' });
    expect(result.fieldErrors).toEqual([{ path: `capabilities.0.patterns.0.${field}`, message: expect.stringMatching(message) }]);
  });

  it('normalises a platform spelled in another case instead of rejecting it', async () => {
    const created = await change(M.create, { input: probe('case-probe', { platform: 'Plan9-OS ', category: 'Network' }) });
    expect(created).toMatchObject({ __typename: 'Tool', platform: 'plan9-os' });
    const again = await change(M.update, { name: 'case-probe', platform: 'PLAN9-os', revision: 1, changes: { description: 'y' } });
    expect(again).toMatchObject({ platform: 'plan9-os', revision: 2 });
  });

  it('a stale revision is a ConflictError carrying the current revision', async () => {
    await change(M.create, { input: probe('stale-probe') });
    await change(M.update, { name: 'stale-probe', platform: 'linux', revision: 1, changes: { description: 'first' } });
    const stale = await refused(M.update, { name: 'stale-probe', platform: 'linux', revision: 1, changes: { description: 'second' } }, {
      __typename: 'ConflictError',
      currentRevision: 2,
    });
    expect(stale.message).toMatch(/revision 2, not 1/);
    await refused(M.delete, { name: 'stale-probe', platform: 'linux', revision: 1 }, { __typename: 'ConflictError', currentRevision: 2 });
  });

  it('an update that changes nothing, or repeats a version, is a ValidationError', async () => {
    await change(M.create, { input: probe('repeat-probe') });
    await refused(M.update, { name: 'repeat-probe', platform: 'linux', revision: 1, changes: { description: 'Probe repeat-probe' } }, {
      __typename: 'ValidationError',
      message: expect.stringMatching(/nothing changed/),
    });
    await refused(M.update, { name: 'repeat-probe', platform: 'linux', revision: 1, version: '1.0', changes: { description: 'z' } }, {
      __typename: 'ValidationError',
      fieldErrors: [{ path: 'version', message: expect.stringMatching(/already exists/) }],
    });
  });

  it('deleting a tool that a running experiment uses is refused', async () => {
    const tool = await change(M.create, { input: probe('ab-probe') });
    expect(tool.id).toBeTruthy();
    const test = await service.db.prisma.experiment.create({
      data: {
        key: 'probe-speed', capability: 'probe', platform: 'linux', metric: 'DURATION', seed: 'probe-speed', status: 'RUNNING',
        arms: { create: [{ key: 'a', position: 0, toolName: 'ab-probe', toolPlatform: 'linux', weight: 1 }] },
      },
    });
    const result = await refused(M.delete, { name: 'ab-probe', platform: 'linux', revision: 1 }, { __typename: 'ConflictError', currentRevision: 1 });
    expect(result.message).toMatch(/running experiment "probe-speed"/);
    await service.db.prisma.experiment.update({ where: { id: test.id }, data: { status: 'STOPPED' } });
    expect(await change(M.delete, { name: 'ab-probe', platform: 'linux', revision: 1 })).toMatchObject({ __typename: 'Tool', revision: 2 });
  });

  it('mutations without a key, or with a reader key, are refused with UNAUTHENTICATED / FORBIDDEN', async () => {
    const before = await snapshot();
    const anonymous = await service.graphql(M.create, { input: probe('anon-probe') });
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const asReader = await service.graphql(M.update, { name: 'grep', platform: 'linux', revision: 1, changes: { description: 'x' } }, reader);
    expect(asReader.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const audit = await service.graphql(`{ auditLog { totalCount } }`, {}, reader);
    expect(audit.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await snapshot()).toBe(before);
  });

  it('validateTool returns the normalised tool and every problem, and writes nothing', async () => {
    const before = await snapshot();
    const input = probe('grep', { platform: 'Linux', version: '1 0', category: 'Text' });
    input.capabilities[0]!.patterns[0]!.complexityScore = 2;
    const invalid = await service.graphql(M.validate, { input }, editor);
    expect(invalid.data.validateTool).toMatchObject({ valid: false, tool: null });
    expect(invalid.data.validateTool.problems.map((p: { path: string }) => p.path).sort()).toEqual([
      'capabilities.0.patterns.0.complexityScore',
      'version',
    ]);
    const clash = await service.graphql(M.validate, { input: probe('grep', { platform: 'Linux', version: '1.0.0', category: 'Text' }) }, editor);
    expect(clash.data.validateTool).toMatchObject({
      valid: false,
      tool: expect.objectContaining({ name: 'grep', platform: 'linux', category: 'text', status: 'ACTIVE', enabled: true }),
      problems: [
        { path: 'version', message: expect.stringMatching(/version 1.0.0 of grep \(linux\) already exists/) },
        { path: 'name', message: expect.stringMatching(/already exists at revision 1; change it with updateTool/) },
      ],
    });
    expect(await snapshot()).toBe(before);
  });
});

describe('concurrent writers', () => {
  it('fifty createTool calls with one name: exactly one succeeds, the rest get a ConflictError', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => service.graphql(M.create, { input: probe('race-probe', { description: `writer ${i}` }) }, editor)),
    );
    const outcomes = results.map((r) => {
      expect(r.errors).toBeUndefined();
      return r.data.result;
    });
    const winners = outcomes.filter((o) => o.__typename === 'Tool');
    const conflicts = outcomes.filter((o) => o.__typename === 'ConflictError');
    expect(winners).toHaveLength(1);
    expect(conflicts).toHaveLength(49);
    for (const conflict of conflicts) expect(conflict).toMatchObject({ currentRevision: 1, message: expect.stringMatching(/already exists/) });
    const rows = await service.db.prisma.tool.findMany({ where: { name: 'race-probe' } });
    expect(rows).toHaveLength(1);
    expect(await service.db.prisma.auditLog.count({ where: { entityName: 'race-probe@linux' } })).toBe(1);
  });

  it('ten updates from the same revision: exactly one new version, the rest conflict', async () => {
    await change(M.create, { input: probe('update-race') });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        service.graphql(M.update, { name: 'update-race', platform: 'linux', revision: 1, changes: { description: `writer ${i}` } }, editor),
      ),
    );
    const typenames = results.map((r) => r.data?.result?.__typename);
    expect(typenames.filter((t) => t === 'Tool')).toHaveLength(1);
    expect(typenames.filter((t) => t === 'ConflictError')).toHaveLength(9);
    const rows = await service.db.prisma.tool.findMany({ where: { name: 'update-race' } });
    expect(rows).toHaveLength(2);
    expect(rows.filter((r) => r.isLatest)).toHaveLength(1);
  });

  // A real race on PostgreSQL (a pool of connections); PGlite runs one transaction at a time.
  it('lifecycle changes and new versions from the same revision: exactly one of them wins', async () => {
    await change(M.create, { input: probe('mixed-race') });
    const ref = { name: 'mixed-race', platform: 'linux', revision: 1 };
    const results = await Promise.all([
      ...Array.from({ length: 4 }, () => service.graphql(M.enable, { ...ref, enabled: false }, editor)),
      ...Array.from({ length: 4 }, (_, i) => service.graphql(M.update, { ...ref, changes: { description: `writer ${i}` } }, editor)),
      ...Array.from({ length: 2 }, () => service.graphql(M.deprecate, { ...ref }, editor)),
    ]);
    const typenames = results.map((r) => r.data?.result?.__typename);
    expect(typenames.filter((t) => t === 'Tool')).toHaveLength(1);
    expect(typenames.filter((t) => t === 'ConflictError')).toHaveLength(9);
    const latest = await service.db.prisma.tool.findFirstOrThrow({ where: { name: 'mixed-race', isLatest: true } });
    expect(latest.revision).toBe(2);
  });
});

describe('audit trail', () => {
  it('records the client address and user agent of a request over HTTP', async () => {
    const server: Server = createServer(service.app.yoga);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'ops-console/2.3', ...editor },
        body: JSON.stringify({ query: M.create, variables: { input: probe('http-probe'), reason: 'over the wire' } }),
      });
      expect((await response.json()).data.result.__typename).toBe('Tool');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    const entry = await service.db.prisma.auditLog.findFirstOrThrow({ where: { entityName: 'http-probe@linux' } });
    expect(entry).toMatchObject({ actor: 'ops-ui', action: 'tool.create', reason: 'over the wire', clientIp: '127.0.0.1', userAgent: 'ops-console/2.3' });
  });

  it('cannot lose the audit entry of a change: if the entry fails, the change is not made, and the error is masked', async () => {
    const prisma = service.db.prisma;
    await prisma.$executeRawUnsafe(`CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'audit storage unavailable'; END $$`);
    await prisma.$executeRawUnsafe(`CREATE TRIGGER refuse_audit BEFORE INSERT ON "AuditLog" FOR EACH ROW EXECUTE FUNCTION refuse_audit()`);
    try {
      const before = await snapshot();
      const response = await service.graphql(M.create, { input: probe('unaudited-probe') }, editor);
      expect(response.errors?.[0]?.message).toBe('Unexpected error.');
      expect(JSON.stringify(response)).not.toMatch(/audit storage|AuditLog|prisma|INSERT/i);
      const update = await service.graphql(M.update, { name: 'grep', platform: 'linux', revision: 1, changes: { description: 'x' } }, editor);
      expect(update.errors?.[0]?.message).toBe('Unexpected error.');
      expect(await snapshot()).toBe(before);
    } finally {
      await prisma.$executeRawUnsafe('DROP TRIGGER refuse_audit ON "AuditLog"');
      await prisma.$executeRawUnsafe('DROP FUNCTION refuse_audit()');
    }
  });
});
