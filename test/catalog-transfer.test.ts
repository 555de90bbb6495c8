import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readSampleCatalog } from './support/sampleCatalog.js';
import { startTestService, type TestService } from './support/service.js';

const ADMIN_KEY = 'test-admin-key-0123456789';
const admin = { authorization: `Bearer ${ADMIN_KEY}` };
let service: TestService;

beforeAll(async () => {
  service = await startTestService({ adminApiKey: ADMIN_KEY });
});
afterAll(() => service.close());

const importMutation = `mutation Import($documents: [CatalogDocumentInput!]!, $dryRun: Boolean, $partial: Boolean) {
  importCatalog(documents: $documents, dryRun: $dryRun, partial: $partial) {
    ... on ImportResult {
      applied revision
      counts { files created newVersions unchanged rejected warnings }
      tools { file name platform version action reason diagnostics { severity line column field message } }
    }
    ... on ConflictError { message currentRevision }
  }
}`;

const newTool = (name: string, extra = '') => ({
  name: `linux/${name}.yaml`,
  content: `tool_name: ${name}
version: "1.0"
description: Probe tool ${name}
platform: linux
category: system
capabilities:
  probing:
    description: Probes things
    patterns:
      probe_once:
        description: Probe one thing
        time_estimate_ms: "100 + 2 * N"
        cost_estimate: "1"
        complexity_score: 0.3${extra}
`,
});

async function snapshot() {
  const p = service.db.prisma;
  return { tools: await p.tool.count(), capabilities: await p.capability.count(), events: await p.catalogEvent.count(), audit: await p.auditLog.count() };
}

describe('exportCatalog', () => {
  it('returns the latest version of every tool as canonical YAML, one file each', async () => {
    const sample = readSampleCatalog();
    const { data, errors } = await service.graphql(`{ exportCatalog { path content } }`);
    expect(errors).toBeUndefined();
    expect(data.exportCatalog.map((f: any) => f.path).sort()).toEqual(sample.map((t) => `${t.platform}/${t.name}.yaml`).sort());
    const grep = parse(data.exportCatalog.find((f: any) => f.path === 'linux/grep.yaml').content);
    expect(grep).toMatchObject({ schema: 'tool-catalog/v1', name: 'grep', platform: 'linux' });
    expect(grep.capabilities.map((c: any) => c.name)).toEqual(Object.keys(sample.find((t) => t.name === 'grep')!.capabilities));
  });
});

describe('importCatalog', () => {
  it('refuses callers without a key or with a wrong one, and writes nothing', async () => {
    const before = await snapshot();
    const anonymous = await service.graphql(importMutation, { documents: [newTool('probe-a')] });
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const wrong = await service.graphql(importMutation, { documents: [newTool('probe-a')] }, { authorization: 'Bearer not-the-key-xxxxxxxx' });
    expect(wrong.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(await snapshot()).toEqual(before);
  });

  it('plans on a dry run, writes on a real run, and reports unchanged on a repeat', async () => {
    const before = await snapshot();
    const dry = await service.graphql(importMutation, { documents: [newTool('probe-b')], dryRun: true }, admin);
    expect(dry.errors).toBeUndefined();
    expect(dry.data.importCatalog).toMatchObject({ applied: false, revision: null, counts: { created: 1, rejected: 0 } });
    expect(await snapshot()).toEqual(before);

    const real = await service.graphql(importMutation, { documents: [newTool('probe-b')] }, admin);
    expect(real.data.importCatalog).toMatchObject({ applied: true, counts: { created: 1 } });
    expect(real.data.importCatalog.tools[0]).toMatchObject({ name: 'probe-b', platform: 'linux', action: 'CREATE' });
    const read = await service.graphql(`{ tool(name: "probe-b") { version capabilities { patterns { timeEstimateMs } } } }`);
    expect(read.data.tool).toEqual({ version: '1.0', capabilities: [{ patterns: [{ timeEstimateMs: '100 + 2 * N' }] }] });

    const repeat = await service.graphql(importMutation, { documents: [newTool('probe-b')] }, admin);
    expect(repeat.data.importCatalog.counts).toMatchObject({ created: 0, unchanged: 1 });
  });

  it('publishes a changed tool with a new version as a new version, and refuses a changed tool with the same version', async () => {
    const changed = newTool('probe-b', '\n        scope: batch');
    const sameVersion = await service.graphql(importMutation, { documents: [changed] }, admin);
    expect(sameVersion.data.importCatalog.applied).toBe(false);
    expect(sameVersion.data.importCatalog.tools[0].reason).toMatch(/version 1\.0 .* already exists with other content/);
    const bumped = { ...changed, content: changed.content.replace('version: "1.0"', 'version: "1.1"') };
    const result = await service.graphql(importMutation, { documents: [bumped] }, admin);
    expect(result.data.importCatalog.tools[0].action).toBe('NEW_VERSION');
    const versions = await service.graphql(`{ toolVersions(name: "probe-b", platform: "linux") { version isLatest parent { version } } }`);
    expect(versions.data.toolVersions).toEqual([
      { version: '1.1', isLatest: true, parent: { version: '1.0' } },
      { version: '1.0', isLatest: false, parent: null },
    ]);
  });

  it('keeps a draft out of latest: a draft version waits beside the latest, and a draft-only new tool is refused', async () => {
    const draft = newTool('probe-b', '\n        scope: partial');
    draft.content = draft.content.replace('version: "1.0"', 'version: "1.2"').replace('platform: linux', 'platform: linux\nstatus: draft');
    const staged = await service.graphql(importMutation, { documents: [draft] }, admin);
    expect(staged.data.importCatalog.tools[0].action).toBe('NEW_VERSION');
    const latest = await service.graphql(`{ tool(name: "probe-b", platform: "linux") { version } toolVersions(name: "probe-b", platform: "linux") { version status isLatest } }`);
    expect(latest.data.tool.version).toBe('1.1');
    expect(latest.data.toolVersions[0]).toEqual({ version: '1.2', status: 'DRAFT', isLatest: false });

    const before = await service.db.prisma.tool.count();
    const draftOnly = newTool('probe-draft-only');
    draftOnly.content = draftOnly.content.replace('platform: linux', 'platform: linux\nstatus: draft');
    const refused = await service.graphql(importMutation, { documents: [draftOnly] }, admin);
    expect(refused.data.importCatalog.applied).toBe(false);
    expect(refused.data.importCatalog.tools[0].reason).toMatch(/no published version yet; its first version cannot be a draft/);
    expect(await service.db.prisma.tool.count()).toBe(before);
  });

  it('rejects a bad document with file, line and field, and writes nothing (unless partial)', async () => {
    const before = await snapshot();
    const bad = newTool('probe-c').content.replace('complexity_score: 0.3', 'complexity_score: "high"');
    const documents = [newTool('probe-d'), { name: 'linux/probe-c.yaml', content: bad }];
    const { data } = await service.graphql(importMutation, { documents }, admin);
    expect(data.importCatalog).toMatchObject({ applied: false, counts: { created: 1, rejected: 1 } });
    const rejected = data.importCatalog.tools.find((t: any) => t.action === 'REJECTED');
    expect(rejected.diagnostics[0]).toEqual({
      severity: 'error',
      line: 14,
      column: 27,
      field: 'capabilities.probing.patterns.probe_once.complexity_score',
      message: 'expected a number, found string "high"',
    });
    expect(await snapshot()).toEqual(before);

    const partial = await service.graphql(importMutation, { documents, partial: true }, admin);
    expect(partial.data.importCatalog).toMatchObject({ applied: true, counts: { created: 1, rejected: 1 } });
    expect((await service.graphql(`{ tool(name: "probe-d") { name } }`)).data.tool).toEqual({ name: 'probe-d' });
    expect((await service.graphql(`{ tool(name: "probe-c") { name } }`)).data.tool).toBeNull();
  });
});
