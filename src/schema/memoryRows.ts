import { queryFromInfo } from '@pothos/plugin-prisma';
import type { GraphQLResolveInfo } from 'graphql';
import type { Context } from '../context.js';
import type { CatalogRead } from '../memoryCatalog/memoryCatalog.js';

/**
 * A Tool answered from the in-memory catalog: its row holds every column, the capabilities with their
 * patterns and the capability count, which is all the planned query can ask for there (fields beyond
 * those, such as executionStats, are loaded by their own resolvers). Marks the plan as used, since no
 * ORM call is made with it.
 */
export function answeredFromMemory<T>(query: object, row: T): T {
  // The plugin counts a plan as used once a resolver reads it (its keys are getters that record the
  // read, also on a connection's plan, whose own flag cannot be set): read every key once.
  for (const key of Object.keys(query)) void (query as Record<string, unknown>)[key];
  return row;
}

/**
 * The in-memory catalog revision this request reads: taken on first use and kept for the whole
 * request, so every field of one answer comes from one revision. `MemoryCatalog.read()` waits (a
 * bounded time) for a rebuild a committed change started, so a read after a write sees it.
 */
export function currentCatalog(ctx: Context): Promise<CatalogRead> {
  return ctx.memory.readFor(ctx);
}

/**
 * Whether a field may answer from memory: in queries, yes. A mutation's own answer (and a
 * subscription's event) reads the database, since memory catches up with a change only after it
 * has committed and the clock has advanced, which for a mutation is after its response is built.
 */
export function memoryServes(info: GraphQLResolveInfo): boolean {
  return info.operation.operation === 'query';
}

/** Per request: the response paths (list indices aside) whose selection has been planned. */
const plannedPaths = new WeakMap<object, Set<string>>();
/** The lists (their response path objects, one per list per request) whose rows' selection has been planned. */
const plannedLists = new WeakSet<GraphQLResolveInfo['path']>();

/**
 * A Tool that one row of a list answers from memory (a selection's candidates and exclusions): the
 * nested selection is planned for the first row at a response path, and that plan answers for
 * every row at the same path (the plugin keys it by the path without list indices). A
 * `prismaField` would plan it again for each of the hundreds of rows an answer may hold.
 */
export function memoryRowOfList<T>(row: T, ctx: object, info: GraphQLResolveInfo): T | Promise<T> {
  // Every row of one list shares the list's own path object: the first row plans for all.
  const item = info.path.prev;
  if (item && typeof item.key === 'number' && item.prev) {
    if (plannedLists.has(item.prev)) return row;
    plannedLists.add(item.prev);
  } else {
    let key = '';
    for (let path: GraphQLResolveInfo['path'] | undefined = info.path; path; path = path.prev) if (typeof path.key === 'string') key = `${path.key}.${key}`;
    let planned = plannedPaths.get(ctx);
    if (!planned) plannedPaths.set(ctx, (planned = new Set()));
    if (planned.has(key)) return row;
    planned.add(key);
  }
  const query = queryFromInfo({ context: ctx, info, awaitSelections: true });
  return query instanceof Promise ? query.then(() => row) : row;
}
