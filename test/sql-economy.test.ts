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
});
afterAll(() => service.close());

const nested = `query Page($first: Int) {
  tools(first: $first) {
    totalCount
    edges { node { name version parent { version } capabilityCount capabilities { name patterns { name timeEstimateMs policy } } } }
  }
}`;

describe('SQL statements per request', () => {
  it('do not grow with the page size for nested tools { capabilities { patterns } }', async () => {
    const small = await service.recordStatements(() => service.graphql(nested, { first: 5 }));
    const large = await service.recordStatements(() => service.graphql(nested, { first: 50 }));
    expect(small.result.errors).toBeUndefined();
    expect(large.result.errors).toBeUndefined();
    expect(small.result.data.tools.edges).toHaveLength(5);
    expect(large.result.data.tools.edges).toHaveLength(50);
    const withPatterns = large.result.data.tools.edges.filter((e: any) => e.node.capabilities.some((c: any) => c.patterns.length));
    expect(withPatterns.length).toBeGreaterThan(40);

    expect(large.statements.length).toBe(small.statements.length);
    // One SELECT for the page with its relations joined, one COUNT for totalCount.
    expect(small.statements.length).toBeLessThanOrEqual(2);
    expect(small.statements.filter((s) => s.startsWith('SELECT COUNT(*)'))).toHaveLength(1);
  });

  it('cost one statement for a tool with its capabilities and patterns', async () => {
    const { result, statements } = await service.recordStatements(() =>
      service.graphql(`{ tool(name: "grep", platform: "linux") { name capabilities { name patterns { name } } } }`),
    );
    expect(result.data.tool.capabilities.length).toBeGreaterThan(0);
    expect(statements).toHaveLength(1);
  });

  it('batch the tools of every capability into one query', async () => {
    const { result, statements } = await service.recordStatements(() =>
      service.graphql(`{ capabilities { name tools { name capabilities { name } } } }`),
    );
    expect(result.data.capabilities.length).toBeGreaterThan(10);
    // One groupBy for the names, one batched load of the tools (with their capabilities joined).
    expect(statements).toHaveLength(2);
  });
});
