import { queryFromInfo } from '@pothos/plugin-prisma';
import { getNamedType, Kind, type FieldNode, type GraphQLField, type GraphQLObjectType, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
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
 * Per field of a parsed document (parsed documents are cached, so this outlives requests): whether
 * the sub-selection asks only for fields the row itself holds. Such a selection needs no plan.
 */
const asksOnlyColumns = new WeakMap<FieldNode, boolean>();

/**
 * Whether the Prisma plugin must plan a field before it resolves: relations and fields that declare
 * a `select` (the plugin records their selection as an object or a function); a column (`true`) or a
 * field with its own resolver (none) needs no plan.
 */
export function needsPrismaPlan(field: GraphQLField<unknown, unknown>): boolean {
  const select: unknown = field.extensions?.pothosPrismaSelect;
  return typeof select === 'object' || typeof select === 'function';
}

/** Whether a selection on a Prisma object asks for nothing the plugin plans. */
function selectsOnlyColumns(selectionSet: SelectionSetNode | undefined, type: GraphQLObjectType, info: GraphQLResolveInfo): boolean {
  if (!selectionSet) return true;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value === '__typename') continue;
      const field = type.getFields()[selection.name.value];
      if (!field || needsPrismaPlan(field)) return false;
    } else {
      const fragment = selection.kind === Kind.INLINE_FRAGMENT ? selection : info.fragments[selection.name.value];
      if (!fragment || !selectsOnlyColumns(fragment.selectionSet, type, info)) return false;
    }
  }
  return true;
}

/**
 * A Tool that one row of a list answers from memory (a selection's candidates and exclusions). A
 * sub-selection of columns alone needs no plan. Otherwise the nested selection is planned for the
 * first row at a response path, and that plan answers for every row at the same path (the plugin
 * keys it by the path without list indices); a `prismaField` would plan it again for each of the
 * hundreds of rows an answer may hold.
 */
export function memoryRowOfList<T>(row: T, ctx: object, info: GraphQLResolveInfo): T | Promise<T> {
  const fieldNode = info.fieldNodes[0]!;
  let onlyColumns = asksOnlyColumns.get(fieldNode);
  if (onlyColumns === undefined) {
    const type = getNamedType(info.returnType) as GraphQLObjectType;
    onlyColumns = info.fieldNodes.every((node) => selectsOnlyColumns(node.selectionSet, type, info));
    asksOnlyColumns.set(fieldNode, onlyColumns);
  }
  if (onlyColumns) return row;
  // Every row of one list shares the list's own path object: the first row plans for all. (The
  // compiled executor, which does not share them, never gets here: it runs no document with relations.)
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
