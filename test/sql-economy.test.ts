import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from './support/service.js';

let service: TestService;
beforeAll(async () => {
  service = await startTestService();
  // Enough tools that first: 50 really returns 50 rows, each with capabilities and patterns.
  const template = await service.db.prisma.tool.findFirstOrThrow({
    where: { name: 'grep' },
    include: { capabilities: { include: { patterns: true } } },
  });
  for (let i = 0; i < 40; i++) {
    await service.db.prisma.tool.create({
      data: {
        name: `generated-${String(i).padStart(2, '0')}`,
        platform: 'linux',
        version: '1.0',
        category: 'system',
        isLatest: true,
        capabilities: {
          create: template.capabilities.map((c) => ({
            name: c.name,
            patterns: { create: c.patterns.map((p) => ({ name: p.name, timeEstimateMs: p.timeEstimateMs })) },
          })),
        },
      },
    });
  }
  // Written by hand, without catalog events: the in-memory catalog reads everything again.
  await service.syncMemory();
});
afterAll(() => service.close());

const nested = `query Page($first: Int) {
  tools(first: $first) {
    totalCount
    edges { node { name version parent { version } capabilityCount capabilities { name patterns { name timeEstimateMs policy } } } }
  }
}`;

const current = <T>(fn: () => Promise<T>) => service.recordStatements(fn);

describe('SQL statements per request', () => {
  it('are none for a nested page of tools { capabilities { patterns } } at any size, answered from memory', async () => {
    const small = await current(() => service.graphql(nested, { first: 5 }));
    const large = await current(() => service.graphql(nested.replace(' parent { version }', ''), { first: 50 }));
    expect(small.result.errors).toBeUndefined();
    expect(large.result.errors).toBeUndefined();
    expect(small.result.data.tools.edges).toHaveLength(5);
    expect(large.result.data.tools.edges).toHaveLength(50);
    const withPatterns = large.result.data.tools.edges.filter((e: any) => e.node.capabilities.some((c: any) => c.patterns.length));
    expect(withPatterns.length).toBeGreaterThan(40);
    expect(large.statements).toEqual([]);
    // `parent` is an older version, which memory does not hold: read from the database (one batch).
    expect(small.statements.length).toBeLessThanOrEqual(1);
  });

  it('are none for current-state reads: tool, toolById of a latest version, tools with filters, search and order, capabilities, catalogStats', async () => {
    const grep = await service.graphql(`{ tool(name: "grep", platform: "linux") { id } }`);
    const reads: Array<[string, Record<string, unknown>?]> = [
      [`{ tool(name: "grep", platform: "linux") { name capabilities { name patterns { name } } latest { version } successor { name } } }`],
      [`query($id: ID!) { toolById(id: $id) { name version capabilityCount } }`, { id: grep.data.tool.id }],
      [`{ tools(filter: { platform: "LINUX", category: "system" }, search: "GENERATED", orderBy: { field: CATEGORY, direction: DESC }, first: 3) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { name } } } }`],
      [`{ tools(filter: { capability: "text_search", enabled: true, status: ACTIVE }, first: 2) { totalCount edges { node { name } } } }`],
      [`{ capabilities { name toolCount tools { name capabilities { name } } } }`],
      [`{ catalogStats { tools versions capabilities patterns byPlatform { key count } byCategory { key count } byStatus { key count } } }`],
      [`{ a: tool(name: "grep", platform: "linux") { version } b: tool(name: "find", platform: "linux") { version } stats: catalogStats { tools } }`],
      [`{ tool(name: "grep", platform: "linux") { ...Columns } } fragment Columns on Tool { name ... on Tool { version } }`],
    ];
    for (const [query, variables] of reads) {
      const { result, statements } = await current(() => service.graphql(query, variables));
      expect(result.errors, query).toBeUndefined();
      expect(statements, query).toEqual([]);
    }
  });

  it('page on with cursors from memory, and ask the database only for a cursor that is no longer a latest version', async () => {
    const first = await service.graphql(`{ tools(first: 2) { edges { cursor node { name } } } }`);
    const after = first.data.tools.edges[1].cursor;
    const next = await current(() => service.graphql(`query($after: String) { tools(first: 2, after: $after) { edges { node { name } } } }`, { after }));
    expect(next.statements).toEqual([]);
    expect(next.result.data.tools.edges).toHaveLength(2);
    // A version that is not the latest (not in memory): its place in the order comes from one statement.
    const older = await service.db.prisma.tool.create({ data: { name: 'zz-older', platform: 'linux', version: '0.1', category: 'system' } });
    const stale = Buffer.from(`GPC:S:${older.id}`).toString('base64');
    const fromOld = await current(() => service.graphql(`query($after: String) { tools(first: 2, after: $after) { edges { node { name } } } }`, { after: stale }));
    expect(fromOld.result.errors).toBeUndefined();
    expect(fromOld.statements).toHaveLength(1);
  });

  it('keep the database for history: a named version, an older version by id, toolVersions', async () => {
    const older = await service.db.prisma.tool.findFirstOrThrow({ where: { name: 'zz-older' } });
    const named = await current(() => service.graphql(`{ tool(name: "grep", platform: "linux", version: "1.0") { version } }`));
    expect(named.statements.length).toBeGreaterThan(0);
    const byId = await current(() => service.graphql(`query($id: ID!) { toolById(id: $id) { name version } }`, { id: older.id }));
    expect(byId.result.data.toolById).toEqual({ name: 'zz-older', version: '0.1' });
    expect(byId.statements).toHaveLength(1);
  });
});
