import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { createApiKey } from '../src/auth/keys.js';
import { setToolEnabled } from '../src/catalog/toolCommands.js';
import { latestVisible } from '../src/catalog/visibility.js';
import type { Database } from '../src/db/database.js';
import type { Prisma } from '../src/generated/prisma/client.js';
import { startTestService, type TestService } from './support/service.js';
import { askInstance, startTwoInstances, type TwoInstances } from './support/instances.js';

/**
 * Current-state reads answered from the in-memory catalog give the answers the database gave: every
 * listing below is asked of the service (memory) and of the database with the Prisma query the
 * service used to send (the reference), and compared row for row, count for count.
 */

type Filter = { platform?: string; category?: string; status?: 'ACTIVE' | 'DEPRECATED' | 'DISABLED'; enabled?: boolean; tag?: string; capability?: string };
type Order = { field: 'NAME' | 'PLATFORM' | 'CATEGORY' | 'CREATED_AT' | 'UPDATED_AT'; direction?: 'ASC' | 'DESC' };

/** The database's reading of a listing, as the service sent it before it answered from memory. */
function referenceWhere(filter: Filter | undefined, search: string | undefined): Prisma.ToolWhereInput {
  const and: Prisma.ToolWhereInput[] = [latestVisible];
  if (filter?.platform) and.push({ platform: { equals: filter.platform, mode: 'insensitive' } });
  if (filter?.category) and.push({ category: { equals: filter.category, mode: 'insensitive' } });
  if (filter?.status) and.push({ status: filter.status });
  if (filter?.enabled != null) and.push({ enabled: filter.enabled });
  if (filter?.tag) and.push({ tags: { has: filter.tag } });
  if (filter?.capability) and.push({ capabilities: { some: { name: filter.capability } } });
  const term = search?.trim();
  if (term) and.push({ OR: [{ name: { contains: term, mode: 'insensitive' } }, { description: { contains: term, mode: 'insensitive' } }] });
  return { AND: and };
}

const FIELDS = { NAME: 'name', PLATFORM: 'platform', CATEGORY: 'category', CREATED_AT: 'createdAt', UPDATED_AT: 'updatedAt' } as const;
function referenceOrder(order: Order | undefined): Prisma.ToolOrderByWithRelationInput[] {
  const field = FIELDS[order?.field ?? 'NAME'];
  const secondary = field === 'name' ? 'platform' : 'name';
  return [{ [field]: order?.direction === 'DESC' ? 'desc' : 'asc' }, { [secondary]: 'asc' }, { id: 'asc' }];
}

const LIST = `query List($filter: ToolFilter, $search: String, $orderBy: ToolOrder, $first: Int, $after: String, $last: Int, $before: String) {
  tools(filter: $filter, search: $search, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id name platform } }
  }
}`;
const cursorOf = (id: string) => Buffer.from(`GPC:S:${id}`).toString('base64');

describe('current-state reads from memory answer as the database did', () => {
  let service: TestService;
  const CATEGORIES = ['network', 'System', 'storage'];
  beforeAll(async () => {
    service = await startTestService();
    // Names that sort differently by code point and by locale, repeated categories in several cases,
    // tags, descriptions to search, creation times in several orders.
    const names = ['alpha', 'Alpha', 'beta_tool', 'beta-tool', 'Beta', 'gamma', 'ümlaut', 'zeta', 'Zeta', '_under', 'a1', 'a10', 'a2'];
    let i = 0;
    for (const name of names) {
      for (const platform of ['linux', 'Windows']) {
        i += 1;
        await service.db.prisma.tool.create({
          data: {
            name,
            platform,
            version: '1.0',
            category: CATEGORIES[i % 3]!,
            description: i % 4 === 0 ? `Finds TEXT in files (${name})` : `tool number ${i}`,
            tags: i % 5 === 0 ? ['searchable', 'x'] : ['x'],
            isLatest: true,
            enabled: i % 7 !== 0,
            status: i % 6 === 0 ? 'DEPRECATED' : 'ACTIVE',
            createdAt: new Date(Date.UTC(2024, 0, 1 + (i % 4))),
            capabilities: i % 3 === 0 ? { create: [{ name: 'text_search', position: 0 }] } : undefined,
          },
        });
      }
    }
    // An older version (not latest) and a deleted tool: neither is listed, both are valid cursors.
    await service.db.prisma.tool.create({ data: { name: 'gamma', platform: 'linux', version: '0.9', category: 'network' } });
    await service.db.prisma.tool.create({ data: { name: 'deleted-one', platform: 'linux', version: '1.0', category: 'network', isLatest: true, deletedAt: new Date() } });
    await service.syncMemory();
  });
  afterAll(() => service?.close());

  const reference = async (args: { filter?: Filter; search?: string; orderBy?: Order; first?: number; after?: string; last?: number; before?: string }) => {
    const where = referenceWhere(args.filter, args.search);
    const cursor = args.after ?? args.before;
    const size = (args.first ?? args.last ?? 20) + 1;
    const take = args.last != null || args.before != null ? -size : size;
    const rows = await service.db.prisma.tool.findMany({
      where,
      orderBy: referenceOrder(args.orderBy),
      take,
      ...(cursor ? { cursor: { id: Buffer.from(cursor, 'base64').toString().slice('GPC:S:'.length) }, skip: 1 } : {}),
      select: { id: true },
    });
    const full = rows.length === size;
    const page = full ? (take < 0 ? rows.slice(1) : rows.slice(0, -1)) : rows;
    return { totalCount: await service.db.prisma.tool.count({ where }), ids: page.map((row) => row.id), full };
  };

  const compare = async (args: Parameters<typeof reference>[0]) => {
    const label = JSON.stringify(args);
    const { data, errors } = await service.graphql(LIST, args);
    expect(errors, label).toBeUndefined();
    const expected = await reference(args);
    expect(data.tools.edges.map((edge: any) => edge.node.id), label).toEqual(expected.ids);
    expect(data.tools.totalCount, label).toBe(expected.totalCount);
    return data.tools;
  };

  it('filters, searches and orders every way as the database did', async () => {
    const filters: Array<Filter | undefined> = [
      undefined,
      { platform: 'WINDOWS' },
      { category: 'system' },
      { category: 'SYSTEM', platform: 'linux' },
      { status: 'DEPRECATED' },
      { enabled: false },
      { enabled: true, status: 'ACTIVE' },
      { tag: 'searchable' },
      { tag: 'Searchable' },
      { capability: 'text_search' },
      { capability: 'TEXT_SEARCH' },
      { platform: 'nowhere' },
    ];
    const searches = [undefined, 'text', '  TEXT  ', 'BETA', 'tool', 'ümlaut', 'zz-none', ''];
    const orders: Array<Order | undefined> = [
      undefined,
      { field: 'NAME', direction: 'DESC' },
      { field: 'PLATFORM' },
      { field: 'PLATFORM', direction: 'DESC' },
      { field: 'CATEGORY' },
      { field: 'CATEGORY', direction: 'DESC' },
      { field: 'CREATED_AT' },
      { field: 'CREATED_AT', direction: 'DESC' },
      { field: 'UPDATED_AT', direction: 'DESC' },
    ];
    for (const filter of filters) for (const search of searches) await compare({ filter, search, first: 200 });
    for (const orderBy of orders) for (const filter of filters.slice(0, 4)) await compare({ filter, orderBy, first: 200 });
  });

  it('pages forwards and backwards with cursors as the database did, in every order', async () => {
    for (const orderBy of [undefined, { field: 'CATEGORY', direction: 'DESC' } as Order, { field: 'CREATED_AT' } as Order]) {
      for (const filter of [undefined, { platform: 'linux' }] as Array<Filter | undefined>) {
        let after: string | undefined;
        for (let page = 0; page < 10; page++) {
          const tools = await compare({ filter, orderBy, first: 4, after });
          if (!tools.pageInfo.hasNextPage) break;
          after = tools.pageInfo.endCursor;
        }
        let before: string | undefined;
        for (let page = 0; page < 10; page++) {
          const tools = await compare({ filter, orderBy, last: 3, before });
          if (!tools.pageInfo.hasPreviousPage) break;
          before = tools.pageInfo.startCursor;
        }
        await compare({ filter, orderBy, last: 5 });
      }
    }
  });

  it('places a cursor that no longer names a listed row as the database did: another filter, an older version, a deleted tool, nothing', async () => {
    const windows = await service.db.prisma.tool.findFirstOrThrow({ where: { platform: 'Windows', isLatest: true, name: 'beta_tool' } });
    const older = await service.db.prisma.tool.findFirstOrThrow({ where: { name: 'gamma', isLatest: false } });
    const deleted = await service.db.prisma.tool.findFirstOrThrow({ where: { name: 'deleted-one' } });
    for (const id of [windows.id, older.id, deleted.id, '00000000-0000-4000-8000-000000000000']) {
      for (const orderBy of [undefined, { field: 'CATEGORY' } as Order]) {
        await compare({ filter: { platform: 'linux' }, orderBy, first: 3, after: cursorOf(id) });
        await compare({ filter: { platform: 'linux' }, orderBy, last: 3, before: cursorOf(id) });
      }
    }
  });

  it('matches search terms literally: LIKE wildcards are plain characters (a documented change)', async () => {
    // The database read `%` and `_` as wildcards (`search: "%"` listed everything).
    const { data } = await service.graphql(LIST, { search: '%', first: 200 });
    expect(data.tools.totalCount).toBe(0);
    const underscore = await service.graphql(LIST, { search: 'beta_', first: 200 });
    expect(underscore.data.tools.edges.map((edge: any) => edge.node.name)).toEqual(['beta_tool', 'beta_tool']);
  });

  it('counts capabilities and statistics as the database did', async () => {
    const { data, errors } = await service.graphql(`{
      capabilities { name toolCount tools { id } }
      some: capabilities(names: ["text_search", "nothing"]) { name toolCount }
      catalogStats { tools versions capabilities patterns byPlatform { key count } byCategory { key count } byStatus { key count } }
    }`);
    expect(errors).toBeUndefined();
    const prisma = service.db.prisma;
    const groups = await prisma.capability.groupBy({ by: ['name'], where: { tool: latestVisible }, _count: { _all: true }, orderBy: { name: 'asc' } });
    expect(data.capabilities.map((c: any) => [c.name, c.toolCount])).toEqual(groups.map((g) => [g.name, g._count._all]));
    const offering = await prisma.capability.findMany({
      where: { name: 'text_search', tool: latestVisible },
      select: { tool: { select: { id: true } } },
      orderBy: [{ tool: { name: 'asc' } }, { tool: { platform: 'asc' } }],
    });
    expect(data.capabilities.find((c: any) => c.name === 'text_search').tools.map((t: any) => t.id)).toEqual(offering.map((o) => o.tool.id));
    expect(data.some).toEqual([{ name: 'text_search', toolCount: offering.length }]);

    const count = (where: Prisma.ToolWhereInput) => prisma.tool.count({ where });
    const buckets = (rows: unknown[], key: string) =>
      (rows as Array<{ _count: { _all: number } } & Record<string, unknown>>)
        .map((row) => ({ key: String(row[key]), count: row._count._all })).sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
    const platforms = await prisma.tool.groupBy({ by: ['platform'], where: latestVisible, _count: { _all: true } });
    const categories = await prisma.tool.groupBy({ by: ['category'], where: latestVisible, _count: { _all: true } });
    const statuses = await prisma.tool.groupBy({ by: ['status'], where: latestVisible, _count: { _all: true } });
    expect(data.catalogStats).toEqual({
      tools: await count(latestVisible),
      versions: await count({ deletedAt: null }),
      capabilities: await prisma.capability.count({ where: { tool: latestVisible } }),
      patterns: await prisma.pattern.count({ where: { capability: { tool: latestVisible } } }),
      byPlatform: buckets(platforms, 'platform'),
      byCategory: buckets(categories, 'category'),
      byStatus: buckets(statuses, 'status'),
    });
  });

  it('reads its own writes: a read that starts after a mutation sees it, and the mutation answers with the new version', async () => {
    const editorKey = await createApiKey(service.db.prisma, 'memory-reads-editor', 'editor');
    const editor = { authorization: `Bearer ${editorKey}` };
    const before = await service.graphql(`{ tool(name: "zeta", platform: "linux") { revision description } catalogStats { versions } }`);
    const changed = await service.graphql(
      `mutation { updateTool(name: "zeta", platform: "linux", revision: ${before.data.tool.revision}, changes: { description: "changed through the API" }) {
        ... on Tool { version description latest { description } } } }`,
      undefined,
      editor,
    );
    expect(changed.errors).toBeUndefined();
    expect(changed.data.updateTool).toEqual({ version: '1.1', description: 'changed through the API', latest: { description: 'changed through the API' } });
    const after = await service.recordStatements(() =>
      service.graphql(`{ tool(name: "zeta", platform: "linux") { description } tools(search: "changed through") { totalCount } catalogStats { versions } }`),
    );
    expect(after.result.data).toEqual({
      tool: { description: 'changed through the API' },
      tools: { totalCount: 1 },
      catalogStats: { versions: before.data.catalogStats.versions + 1 },
    });
    // Later reads of the same revision cost nothing.
    const again = await service.recordStatements(() => service.graphql(`{ tool(name: "zeta", platform: "linux") { description } }`));
    expect(again.statements).toEqual([]);

    // The same at its tightest: a change committed, the clock advanced (what the mutation plugin does
    // after the commit), and a read at once, while memory's rebuild has only just started.
    const revision = (await service.graphql(`{ tool(name: "zeta", platform: "linux") { revision } }`)).data.tool.revision;
    await setToolEnabled(service.db.prisma, { name: 'zeta', platform: 'linux', revision }, false, { actor: 'test', trigger: 'test' });
    service.app.clock.advance();
    const disabled = await service.graphql(`{ tool(name: "zeta", platform: "linux") { description } tools(filter: { enabled: false }, search: "changed through") { totalCount } }`);
    expect(disabled.data).toEqual({ tool: null, tools: { totalCount: 1 } });
  });
});

// Two instances on one PostgreSQL database; PGlite has one process only.
const serverUrl = process.env.DATABASE_URL;

describe.skipIf(!serverUrl)('memory on two instances of one PostgreSQL database', () => {
  let instances: TwoInstances | undefined;
  let dbB: Database;
  let appA: App;
  let appB: App;
  let editor: Record<string, string>;
  const statementsOnB: string[] = [];

  beforeAll(async () => {
    instances = await startTwoInstances(serverUrl!, { editorKeyName: 'memory-editor' });
    ({ dbB, appA, appB, editor } = instances);
    dbB.onStatement((sql) => statementsOnB.push(sql));
  });
  afterAll(async () => {
    await instances?.stop();
  });

  const ask = askInstance;
  const READ = `{ tool(name: "grep", platform: "linux") { id description revision }
    tools(search: "coherence marker") { totalCount edges { node { name } } }
    catalogStats { versions } }`;

  it('a change written on one instance is read on the other within the notification delay, from memory', async () => {
    const first = await ask(appB, READ);
    expect(first.errors).toBeUndefined();
    const marker = `coherence marker ${Date.now()}`;
    const written = await ask(
      appA,
      `mutation { updateTool(name: "grep", platform: "linux", revision: ${first.data.tool.revision}, changes: { description: ${JSON.stringify(marker)} }) { ... on Tool { id } } }`,
      editor,
    );
    const id = written.data.updateTool.id;
    const started = performance.now();
    let seen: any;
    while (performance.now() - started < 5_000) {
      seen = (await ask(appB, READ)).data;
      if (seen.tool.description === marker) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    // One revision in the whole answer: the tool, the search and the count moved together.
    expect(seen).toEqual({
      tool: { id, description: marker, revision: first.data.tool.revision + 1 },
      tools: { totalCount: 1, edges: [{ node: { name: 'grep' } }] },
      catalogStats: { versions: first.data.catalogStats.versions + 1 },
    });
    // Once B is current, its reads (toolById of the new latest included) send no SQL.
    statementsOnB.length = 0;
    const again = await ask(appB, `${READ.slice(0, -1)} byId: toolById(id: "${id}") { description } }`);
    expect(again.data.byId).toEqual({ description: marker });
    expect(statementsOnB).toEqual([]);
  });
});
