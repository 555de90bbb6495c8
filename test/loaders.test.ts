import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTool } from '../src/catalog/toolCommands.js';
import { startTestService, type TestService } from './support/service.js';

// Cache off: every request reaches the resolvers, so statement counts show what the loaders batch.
let service: TestService;
beforeAll(async () => {
  service = await startTestService({ cache: { enabled: false, maxEntries: 1, maxBytes: 1024, ttlMs: 1 } });
  // The in-memory catalog loads on the first read: not inside a recorded request.
  await service.graphql('{ catalogRevision }');
});
afterAll(() => service.close());

describe('per-request DataLoaders', () => {
  it('batch every tool-by-name lookup of a request into one statement, nested fields included', async () => {
    const { result, statements } = await service.recordStatements(() =>
      service.graphql(`{
        grep: tool(name: "grep", platform: "linux") { ...Profile }
        find: tool(name: "find", platform: "LINUX") { ...Profile }
        old: tool(name: "df", version: "0.0.1") { ...Profile }
        none: tool(name: "no-such-tool") { ...Profile }
      }
      fragment Profile on Tool { name platform capabilities { name patterns { name } } }`),
    );
    expect(result.errors).toBeUndefined();
    expect(result.data.grep).toMatchObject({ name: 'grep', platform: 'linux' });
    expect(result.data.grep.capabilities.length).toBeGreaterThan(0);
    expect(result.data.grep.capabilities[0].patterns.length).toBeGreaterThan(0);
    expect(result.data.find).toMatchObject({ name: 'find', platform: 'linux' });
    expect(result.data.old).toBeNull();
    expect(result.data.none).toBeNull();
    // The latest versions come from memory; the named version from the database, batched per selection.
    expect(statements).toHaveLength(1);
    expect(statements[0]).toMatch(/"version"/);
  });

  it('keep the several-platforms error for a name without platform', async () => {
    for (const platform of ['linux', 'windows']) {
      await createTool(service.db.prisma, { name: 'twin-probe', platform, version: '1.0', category: 'system' }, { actor: 'test', trigger: 'test' });
    }
    // What a mutation does after its commit (here the command ran without one).
    service.app.clock.advance();
    const { errors } = await service.graphql(`{ tool(name: "twin-probe") { name } }`);
    expect(errors?.[0]).toMatchObject({ message: expect.stringMatching(/several platforms/), extensions: { code: 'BAD_USER_INPUT' } });
  });

  it('answer lookups by id and of the latest version from memory, and an older one in one statement', async () => {
    const [a, b] = await service.db.prisma.tool.findMany({ where: { isLatest: true }, orderBy: { name: 'asc' }, take: 2 });
    const byId = await service.recordStatements(() =>
      service.graphql(`{ a: toolById(id: "${a!.id}") { name latest { id } } b: toolById(id: "${b!.id}") { name latest { id } } }`),
    );
    expect(byId.result.data).toEqual({ a: { name: a!.name, latest: { id: a!.id } }, b: { name: b!.name, latest: { id: b!.id } } });
    // Both are latest versions: memory.
    expect(byId.statements).toHaveLength(0);
    // A soft-deleted version is not served by id either (the column is read even when not asked for).
    await service.db.prisma.tool.update({ where: { id: b!.id }, data: { deletedAt: new Date() } });
    await service.syncMemory();
    const deleted = await service.recordStatements(() => service.graphql(`{ toolById(id: "${b!.id}") { name } }`));
    expect(deleted.result.data.toolById).toBeNull();
    expect(deleted.statements).toHaveLength(1);
    await service.db.prisma.tool.update({ where: { id: b!.id }, data: { deletedAt: null } });
    await service.syncMemory();
    const bad = await service.graphql(`{ toolById(id: "not-an-id") { name } }`);
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('aggregate execution telemetry for a whole page in one statement', async () => {
    const tools = await service.db.prisma.tool.findMany({
      where: { isLatest: true },
      orderBy: [{ name: 'asc' }, { platform: 'asc' }, { id: 'asc' }],
      take: 3,
      include: { capabilities: { include: { patterns: true } } },
    });
    const run = (tool: (typeof tools)[number], n: number, success: boolean, durationMs: number) => {
      const capability = tool.capabilities[0]!;
      return { executionId: `loader-${tool.name}-${n}`, name: tool.name, platform: tool.platform, version: tool.version, capability: capability.name, pattern: capability.patterns[0]!.name, startedAt: new Date(), success, durationMs };
    };
    const report = await service.app.telemetry.ingestor.ingest(
      [run(tools[0]!, 1, true, 100), run(tools[0]!, 2, false, 300), run(tools[0]!, 3, true, 200), run(tools[1]!, 1, true, 50)],
      'graphql',
      'test',
    );
    expect(report.accepted).toBe(4);
    const { result, statements } = await service.recordStatements(() =>
      service.graphql(`{ tools(first: 3) { edges { node { name executionStats { runs successes successRate avgDurationMs } } } } }`),
    );
    expect(result.errors).toBeUndefined();
    expect(result.data.tools.edges.map((e: { node: { executionStats: unknown } }) => e.node.executionStats)).toEqual([
      { runs: 3, successes: 2, successRate: 2 / 3, avgDurationMs: 200 },
      { runs: 1, successes: 1, successRate: 1, avgDurationMs: 50 },
      { runs: 0, successes: 0, successRate: null, avgDurationMs: null },
    ]);
    // The page from memory (no SQL), then one statement of roll-up fingerprints for all three tools and one read of the
    // sketches of those not merged yet (no count: totalCount was not asked for).
    expect(statements).toHaveLength(2);
    expect(statements[0]).toMatch(/md5\(/);
    expect(statements[0]).toMatch(/FROM "ExecutionRollup"/);
    expect(statements[0]).not.toMatch(/durationSketch/);
    expect(statements[1]).toMatch(/durationSketch/);
    // Asked again with nothing reported since: the fingerprints match, no sketch is read.
    const again = await service.recordStatements(() => service.graphql(`{ tools(first: 3) { edges { node { name executionStats { runs successes successRate avgDurationMs } } } } }`));
    expect(again.result.data).toEqual(result.data);
    expect(again.statements).toHaveLength(1);
    expect(again.statements[0]).not.toMatch(/durationSketch/);
  });

  it('do not outlive a request: the next request sees a change made in between', async () => {
    const row = await service.db.prisma.tool.findFirstOrThrow({ where: { name: 'grep', isLatest: true } });
    const before = await service.graphql(`{ toolById(id: "${row.id}") { enabled } }`);
    expect(before.data.toolById.enabled).toBe(true);
    await service.db.prisma.tool.update({ where: { id: row.id }, data: { enabled: false } });
    await service.syncMemory();
    const after = await service.graphql(`{ toolById(id: "${row.id}") { enabled } }`);
    expect(after.data.toolById.enabled).toBe(false);
    await service.db.prisma.tool.update({ where: { id: row.id }, data: { enabled: true } });
    await service.syncMemory();
  });
});
