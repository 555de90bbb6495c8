import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSampleCatalog, type SampleTool } from './support/sampleCatalog.js';
import { startTestService, type TestService } from './support/service.js';

let service: TestService;
let sample: SampleTool[];
const visible = (tools: SampleTool[]) => tools.map((t) => `${t.name}@${t.platform}`).sort();

beforeAll(async () => {
  service = await startTestService();
  sample = readSampleCatalog();
});
afterAll(() => service.close());

describe('tool(name, platform, version)', () => {
  it('returns the latest version with its capabilities and patterns as the file states them', async () => {
    const grep = sample.find((t) => t.name === 'grep' && t.platform === 'linux')!;
    const { data, errors } = await service.graphql(`{
      tool(name: "grep", platform: "linux") {
        name platform version category isLatest status enabled
        capabilities { name patterns { name timeEstimateMs costEstimate complexityScore scope requiredInputs } }
      }
    }`);
    expect(errors).toBeUndefined();
    expect(data.tool).toMatchObject({ name: 'grep', platform: 'linux', version: grep.version, isLatest: true, status: 'ACTIVE', enabled: true });
    expect(data.tool.capabilities.map((c: { name: string }) => c.name)).toEqual(Object.keys(grep.capabilities));
    const [firstCapName, firstCap] = Object.entries(grep.capabilities)[0]!;
    const [patternName, pattern] = Object.entries(firstCap.patterns)[0]!;
    const served = data.tool.capabilities.find((c: { name: string }) => c.name === firstCapName).patterns[0];
    expect(served).toEqual({
      name: patternName,
      timeEstimateMs: String(pattern.time_estimate_ms),
      costEstimate: String(pattern.cost_estimate),
      complexityScore: pattern.complexity_score,
      scope: pattern.scope,
      requiredInputs: pattern.required_inputs,
    });
  });

  it('matches the platform case-insensitively and needs no platform when the name is unique', async () => {
    const a = await service.graphql(`{ tool(name: "grep", platform: "LINUX") { platform } }`);
    const b = await service.graphql(`{ tool(name: "grep") { platform } }`);
    expect(a.data.tool).toEqual({ platform: 'linux' });
    expect(b.data.tool).toEqual({ platform: 'linux' });
  });

  it('returns null, not an error, for an unknown tool, platform or version', async () => {
    for (const args of ['name: "no-such-tool"', 'name: "grep", platform: "windows"', 'name: "grep", version: "99.0"']) {
      const { data, errors } = await service.graphql(`{ tool(${args}) { id } }`);
      expect(errors, args).toBeUndefined();
      expect(data.tool, args).toBeNull();
    }
  });

  it('does not serve a disabled latest version by default, but does when its version is named', async () => {
    const dig = await service.db.prisma.tool.findFirstOrThrow({ where: { name: 'dig', isLatest: true } });
    await service.db.prisma.tool.update({ where: { id: dig.id }, data: { enabled: false } });
    await service.syncMemory();
    try {
      const byDefault = await service.graphql(`{ tool(name: "dig") { id } }`);
      expect(byDefault.errors).toBeUndefined();
      expect(byDefault.data.tool).toBeNull();
      const named = await service.graphql(`{ tool(name: "dig", version: "${dig.version}") { enabled } }`);
      expect(named.data.tool).toEqual({ enabled: false });
    } finally {
      await service.db.prisma.tool.update({ where: { id: dig.id }, data: { enabled: true } });
      await service.syncMemory();
    }
  });

  it('asks for a platform when a name exists on several', async () => {
    await service.db.prisma.tool.create({
      data: { name: 'grep', platform: 'windows', version: '1.0', category: 'text-processing', isLatest: true },
    });
    await service.syncMemory();
    try {
      const { data, errors } = await service.graphql(`{ tool(name: "grep") { id } }`);
      expect(data.tool).toBeNull();
      expect(errors?.[0]?.message).toMatch(/several platforms.*"platform"/);
      expect(errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    } finally {
      await service.db.prisma.tool.deleteMany({ where: { name: 'grep', platform: 'windows' } });
      await service.syncMemory();
    }
  });

  it('serves a named older version, hides deleted and disabled-by-version rules correctly', async () => {
    const current = await service.db.prisma.tool.findFirstOrThrow({ where: { name: 'ps', isLatest: true } });
    await service.db.prisma.$transaction([
      service.db.prisma.tool.update({ where: { id: current.id }, data: { isLatest: false } }),
      service.db.prisma.tool.create({
        data: { name: 'ps', platform: current.platform, version: '9.9.9', category: current.category, isLatest: true, parentId: current.id },
      }),
    ]);
    await service.syncMemory();
    const latest = await service.graphql(`{ tool(name: "ps", platform: "${current.platform}") { version parent { version } } }`);
    expect(latest.data.tool).toEqual({ version: '9.9.9', parent: { version: current.version } });
    const older = await service.graphql(`{ tool(name: "ps", version: "${current.version}") { version isLatest } }`);
    expect(older.data.tool).toEqual({ version: current.version, isLatest: false });
    const versions = await service.graphql(`{ toolVersions(name: "ps", platform: "${current.platform}") { version isLatest } }`);
    expect(versions.data.toolVersions).toEqual([
      { version: '9.9.9', isLatest: true },
      { version: current.version, isLatest: false },
    ]);

    await service.db.prisma.tool.updateMany({ where: { name: 'ps' }, data: { deletedAt: new Date() } });
    await service.syncMemory();
    const deleted = await service.graphql(`{ tool(name: "ps") { id } toolVersions(name: "ps", platform: "${current.platform}") { id } }`);
    expect(deleted.data).toEqual({ tool: null, toolVersions: [] });
  });
});

describe('tools(filter, search, orderBy, first, after)', () => {
  const listing = `query List($filter: ToolFilter, $search: String, $orderBy: ToolOrder, $first: Int, $after: String) {
    tools(filter: $filter, search: $search, orderBy: $orderBy, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node { name platform category } }
    }
  }`;
  const names = (data: any) => data.tools.edges.map((e: any) => `${e.node.name}@${e.node.platform}`).sort();
  const live = () => sample.filter((t) => !(t.name === 'ps' && t.platform === 'linux'));

  it('lists every visible tool with a total count, ordered by name by default', async () => {
    const { data, errors } = await service.graphql(listing, { first: 200 });
    expect(errors).toBeUndefined();
    expect(data.tools.totalCount).toBe(live().length);
    expect(names(data)).toEqual(visible(live()));
    const ordered = data.tools.edges.map((e: any) => e.node.name);
    expect(ordered).toEqual([...ordered].sort((a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)));
  });

  it('filters by platform, category, tag and capability, each as the files say', async () => {
    const pick = live().find((t) => t.platform === 'windows')!;
    const capability = Object.keys(pick.capabilities)[0]!;
    const tag = pick.tags[0]!;
    const cases: Array<[Record<string, unknown>, SampleTool[]]> = [
      [{ platform: 'WINDOWS' }, live().filter((t) => t.platform === 'windows')],
      [{ category: pick.category }, live().filter((t) => t.category === pick.category)],
      [{ tag }, live().filter((t) => t.tags.includes(tag))],
      [{ capability }, live().filter((t) => capability in t.capabilities)],
      [{ platform: 'windows', capability }, live().filter((t) => t.platform === 'windows' && capability in t.capabilities)],
    ];
    for (const [filter, expected] of cases) {
      const { data } = await service.graphql(listing, { filter, first: 200 });
      expect(names(data), JSON.stringify(filter)).toEqual(visible(expected));
      expect(data.tools.totalCount, JSON.stringify(filter)).toBe(expected.length);
    }
  });

  it('filters by status and enabled', async () => {
    await service.db.prisma.tool.updateMany({ where: { name: 'dig' }, data: { enabled: false, status: 'DEPRECATED' } });
    await service.syncMemory();
    try {
      const disabled = await service.graphql(listing, { filter: { enabled: false }, first: 200 });
      expect(names(disabled.data)).toEqual(['dig@network']);
      const deprecated = await service.graphql(listing, { filter: { status: 'DEPRECATED' }, first: 200 });
      expect(names(deprecated.data)).toEqual(['dig@network']);
      const enabled = await service.graphql(listing, { filter: { enabled: true }, first: 200 });
      expect(enabled.data.tools.totalCount).toBe(live().length - 1);
    } finally {
      await service.db.prisma.tool.updateMany({ where: { name: 'dig' }, data: { enabled: true, status: 'ACTIVE' } });
      await service.syncMemory();
    }
  });

  it('searches name and description, case-insensitively', async () => {
    const { data } = await service.graphql(listing, { search: 'KUBECTL', first: 200 });
    const expected = live().filter((t) => t.name.toLowerCase().includes('kubectl'));
    expect(expected.length).toBeGreaterThan(0);
    expect(names(data)).toEqual(expect.arrayContaining(visible(expected)));
    const none = await service.graphql(listing, { search: 'zzz-no-such-text', first: 200 });
    expect(none.data.tools).toMatchObject({ totalCount: 0, edges: [] });
  });

  it('pages with cursors through the whole list without gaps or repeats, in any order', async () => {
    for (const orderBy of [undefined, { field: 'PLATFORM', direction: 'DESC' }, { field: 'CATEGORY' }]) {
      const seen: string[] = [];
      let after: string | undefined;
      for (let page = 0; page < 20; page++) {
        const { data, errors } = await service.graphql(listing, { first: 7, after, orderBy });
        expect(errors).toBeUndefined();
        seen.push(...data.tools.edges.map((e: any) => `${e.node.name}@${e.node.platform}`));
        if (!data.tools.pageInfo.hasNextPage) break;
        after = data.tools.pageInfo.endCursor;
      }
      expect(seen.length, JSON.stringify(orderBy)).toBe(live().length);
      expect([...seen].sort()).toEqual(visible(live()));
    }
    const { data } = await service.graphql(listing, { first: 200, orderBy: { field: 'PLATFORM', direction: 'DESC' } });
    const platforms = data.tools.edges.map((e: any) => e.node.platform);
    expect(platforms).toEqual([...platforms].sort().reverse());
  });
});

describe('capabilities and catalogStats', () => {
  it('maps each capability name to the tools that offer it', async () => {
    const { data, errors } = await service.graphql(`{ capabilities { name toolCount tools { name platform } } }`);
    expect(errors).toBeUndefined();
    const expected = new Map<string, string[]>();
    for (const tool of sample.filter((t) => !(t.name === 'ps' && t.platform === 'linux'))) {
      for (const name of Object.keys(tool.capabilities)) {
        expected.set(name, [...(expected.get(name) ?? []), `${tool.name}@${tool.platform}`]);
      }
    }
    expect(data.capabilities.map((c: any) => c.name)).toEqual([...expected.keys()].sort());
    for (const offering of data.capabilities) {
      const tools = offering.tools.map((t: any) => `${t.name}@${t.platform}`);
      expect(tools.sort(), offering.name).toEqual(expected.get(offering.name)!.sort());
      expect(offering.toolCount).toBe(tools.length);
    }
  });

  it('counts tools by platform, category and status', async () => {
    const { data } = await service.graphql(`{ catalogStats {
      tools capabilities patterns byPlatform { key count } byCategory { key count } byStatus { key count } } }`);
    const live = sample.filter((t) => !(t.name === 'ps' && t.platform === 'linux'));
    const count = (key: (t: SampleTool) => string) =>
      Object.fromEntries(
        [...new Set(live.map(key))].map((k) => [k, live.filter((t) => key(t) === k).length]),
      );
    const asRecord = (buckets: Array<{ key: string; count: number }>) => Object.fromEntries(buckets.map((b) => [b.key, b.count]));
    expect(data.catalogStats.tools).toBe(live.length);
    expect(asRecord(data.catalogStats.byPlatform)).toEqual(count((t) => t.platform));
    expect(asRecord(data.catalogStats.byCategory)).toEqual(count((t) => t.category));
    expect(asRecord(data.catalogStats.byStatus)).toEqual({ ACTIVE: live.length });
    expect(data.catalogStats.capabilities).toBe(live.reduce((n, t) => n + Object.keys(t.capabilities).length, 0));
    expect(data.catalogStats.patterns).toBe(
      live.reduce((n, t) => n + Object.values(t.capabilities).reduce((m, c) => m + Object.keys(c.patterns).length, 0), 0),
    );
  });
});
