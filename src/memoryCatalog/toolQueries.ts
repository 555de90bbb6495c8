import { compareCodePoints, identityKey, type CatalogSnapshot, type MemoryTool, type MemoryToolRow } from './snapshot.js';

/**
 * The current-state reads of the catalog answered from one in-memory snapshot: the same answers the
 * database gave for `tool`, `tools` (filter, search, order, cursor pages, totalCount), `capabilities`
 * and `catalogStats`, with no SQL. Pure functions of a snapshot; whatever they derive from one (an
 * ordering, a filtered list, an index) is kept with that snapshot and dropped with it.
 *
 * Ordering is by code point, which is what PostgreSQL does under the C collation both databases use
 * (PGlite's `C`, the server's `C.UTF-8`). Case-insensitive matching lower-cases both sides with
 * JavaScript's Unicode rules (PostgreSQL's `ILIKE` under a `C` ctype folds ASCII only).
 */

export interface ToolListFilter {
  platform?: string | null;
  category?: string | null;
  status?: string | null;
  enabled?: boolean | null;
  tag?: string | null;
  capability?: string | null;
}

export type ToolOrderFieldName = 'name' | 'platform' | 'category' | 'createdAt' | 'updatedAt';

export interface ToolListOrder {
  field: ToolOrderFieldName;
  direction?: 'asc' | 'desc' | null;
}

export interface ToolListQuery {
  filter?: ToolListFilter | null;
  search?: string | null;
  orderBy?: ToolListOrder | null;
}

/** The columns an ordering compares: a tool row, or the order columns of any version (a cursor). */
export type OrderColumns = Pick<MemoryToolRow, 'id' | 'name' | 'platform' | 'category' | 'createdAt' | 'updatedAt'>;

/** The part of a Prisma cursor query the Pothos connection plans: `take` rows (negative: before the cursor) after skipping `skip`. */
export interface PageQuery {
  take: number;
  skip: number;
  cursor?: { id: string } | null;
}

function compareValues(a: string | Date, b: string | Date): number {
  if (a instanceof Date) {
    const left = a.getTime();
    const right = (b as Date).getTime();
    return left === right ? 0 : left < right ? -1 : 1;
  }
  return compareCodePoints(a, b as string);
}

/**
 * The total order `tools` lists in: the field in its direction, then name (platform for NAME)
 * ascending, then id ascending (a uuid's byte order is the order of its lower-case text).
 */
export function toolComparator(order: ToolListOrder | null | undefined): (a: OrderColumns, b: OrderColumns) => number {
  const field = order?.field ?? 'name';
  const sign = order?.direction === 'desc' ? -1 : 1;
  const secondary = field === 'name' ? 'platform' : 'name';
  return (a, b) => sign * compareValues(a[field], b[field]) || compareCodePoints(a[secondary], b[secondary]) || compareCodePoints(a.id, b.id);
}

/** What is derived from one snapshot; garbage with it. */
interface Derived {
  ordered: Map<string, readonly MemoryTool[]>;
  /** Recent filtered lists, by query; bounded, oldest dropped first. */
  lists: Map<string, readonly MemoryTool[]>;
  capabilityIndex?: ReadonlyMap<string, readonly MemoryTool[]>;
  stats?: CatalogStatsShape;
}
const derived = new WeakMap<CatalogSnapshot, Derived>();
/** Distinct filtered lists kept per snapshot: enough for a UI's pages and filters, bounded in memory. */
const LIST_MEMO_LIMIT = 64;

function derivedOf(snapshot: CatalogSnapshot): Derived {
  let entry = derived.get(snapshot);
  if (!entry) {
    entry = { ordered: new Map(), lists: new Map() };
    derived.set(snapshot, entry);
  }
  return entry;
}

function orderedTools(snapshot: CatalogSnapshot, order: ToolListOrder | null | undefined): readonly MemoryTool[] {
  const field = order?.field ?? 'name';
  const direction = order?.direction ?? 'asc';
  // The snapshot's own order is name, platform (identities are unique, so id never decides).
  if (field === 'name' && direction === 'asc') return snapshot.tools;
  const key = `${field}:${direction}`;
  const entry = derivedOf(snapshot);
  let list = entry.ordered.get(key);
  if (!list) {
    const compare = toolComparator(order);
    list = Object.freeze([...snapshot.tools].sort((a, b) => compare(a.row, b.row)));
    entry.ordered.set(key, list);
  }
  return list;
}

/** One filter condition as a predicate; every given condition must hold. */
function predicateOf(query: ToolListQuery): ((tool: MemoryTool) => boolean) | undefined {
  const filter = query.filter ?? {};
  const tests: Array<(tool: MemoryTool) => boolean> = [];
  if (filter.platform) {
    const platform = filter.platform.toLowerCase();
    tests.push((tool) => tool.row.platform.toLowerCase() === platform);
  }
  if (filter.category) {
    const category = filter.category.toLowerCase();
    tests.push((tool) => tool.row.category.toLowerCase() === category);
  }
  if (filter.status) tests.push((tool) => tool.row.status === filter.status);
  if (filter.enabled != null) tests.push((tool) => tool.row.enabled === filter.enabled);
  if (filter.tag) {
    const tag = filter.tag;
    tests.push((tool) => tool.row.tags.includes(tag));
  }
  if (filter.capability) {
    const capability = filter.capability;
    tests.push((tool) => tool.row.capabilities.some((c) => c.name === capability));
  }
  const term = query.search?.trim().toLowerCase();
  if (term) tests.push((tool) => tool.searchName.includes(term) || tool.searchDescription.includes(term));
  if (tests.length === 0) return undefined;
  return (tool) => tests.every((test) => test(tool));
}

/** Every tool matching the query, in its order. */
export function matchingTools(snapshot: CatalogSnapshot, query: ToolListQuery): readonly MemoryTool[] {
  const ordered = orderedTools(snapshot, query.orderBy);
  const predicate = predicateOf(query);
  if (!predicate) return ordered;
  const key = JSON.stringify([query.filter ?? null, query.search?.trim().toLowerCase() ?? null, query.orderBy?.field ?? 'name', query.orderBy?.direction ?? 'asc']);
  const entry = derivedOf(snapshot);
  let list = entry.lists.get(key);
  if (list) {
    // Most recently used last.
    entry.lists.delete(key);
    entry.lists.set(key, list);
    return list;
  }
  list = Object.freeze(ordered.filter(predicate));
  entry.lists.set(key, list);
  if (entry.lists.size > LIST_MEMO_LIMIT) entry.lists.delete(entry.lists.keys().next().value!);
  return list;
}

/**
 * One page of an ordered list, as Prisma's cursor pagination gives it: with a cursor, the rows at or
 * after it (before it, for a negative `take`) in the list's order, whether or not the cursor row
 * itself matches the filter, then `skip` rows skipped and `|take|` kept. `cursorRow` is the cursor
 * version's order columns; null means no such version exists, which is an empty page.
 */
export function pageOf<T extends { row: OrderColumns }>(
  list: readonly T[],
  page: PageQuery,
  order: ToolListOrder | null | undefined,
  cursorRow?: OrderColumns | null,
): T[] {
  const count = Math.abs(page.take);
  if (!page.cursor) {
    if (page.take >= 0) return list.slice(page.skip, page.skip + count);
    const end = list.length - page.skip;
    return end <= 0 ? [] : list.slice(Math.max(0, end - count), end);
  }
  if (!cursorRow) return [];
  const compare = toolComparator(order);
  // First index whose row is at or after the cursor (binary search: the list is in this order).
  let low = 0;
  let high = list.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compare(list[mid]!.row, cursorRow) < 0) low = mid + 1;
    else high = mid;
  }
  if (page.take >= 0) return list.slice(low + page.skip, low + page.skip + count);
  // Backwards: rows at or before the cursor.
  const atOrBefore = low < list.length && compare(list[low]!.row, cursorRow) === 0 ? low + 1 : low;
  const end = atOrBefore - page.skip;
  return end <= 0 ? [] : list.slice(Math.max(0, end - count), end);
}

/** Tools offering a capability of exactly this name, by name then platform. */
export function toolsOffering(snapshot: CatalogSnapshot, capability: string): readonly MemoryTool[] {
  const entry = derivedOf(snapshot);
  if (!entry.capabilityIndex) {
    const index = new Map<string, MemoryTool[]>();
    for (const tool of snapshot.tools) {
      // One entry per capability row, as the database's join gives them.
      for (const { name } of tool.row.capabilities) {
        const list = index.get(name);
        if (list) list.push(tool);
        else index.set(name, [tool]);
      }
    }
    entry.capabilityIndex = index;
  }
  return entry.capabilityIndex.get(capability) ?? [];
}

/** `capabilities(names)`: each capability name offered by a latest tool, by name, with how many tools offer it. */
export function capabilityOfferings(snapshot: CatalogSnapshot, names?: readonly string[] | null): Array<{ name: string; toolCount: number }> {
  toolsOffering(snapshot, '');
  const index = derivedOf(snapshot).capabilityIndex!;
  const wanted = names ? new Set(names) : undefined;
  return [...index.entries()]
    .filter(([name]) => !wanted || wanted.has(name))
    .map(([name, tools]) => ({ name, toolCount: tools.length }))
    .sort((a, b) => compareCodePoints(a.name, b.name));
}

export interface CountBucket {
  key: string;
  count: number;
}

export interface CatalogStatsShape {
  tools: number;
  versions: number;
  capabilities: number;
  patterns: number;
  byPlatform: CountBucket[];
  byCategory: CountBucket[];
  byStatus: CountBucket[];
}

function buckets(counts: Map<string, number>): CountBucket[] {
  return [...counts.entries()].map(([key, count]) => ({ key, count })).sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
}

/** `catalogStats`, counted once per snapshot. */
export function catalogStats(snapshot: CatalogSnapshot): CatalogStatsShape {
  const entry = derivedOf(snapshot);
  if (entry.stats) return entry.stats;
  let capabilities = 0;
  let patterns = 0;
  const byPlatform = new Map<string, number>();
  const byCategory = new Map<string, number>();
  const byStatus = new Map<string, number>();
  const count = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  for (const { row } of snapshot.tools) {
    capabilities += row.capabilities.length;
    for (const capability of row.capabilities) patterns += capability.patterns.length;
    count(byPlatform, row.platform);
    count(byCategory, row.category);
    count(byStatus, row.status);
  }
  entry.stats = Object.freeze({
    tools: snapshot.tools.length,
    // A snapshot file does not know the older versions; it counts what it holds.
    versions: snapshot.versionCount ?? snapshot.tools.length,
    capabilities,
    patterns,
    byPlatform: buckets(byPlatform),
    byCategory: buckets(byCategory),
    byStatus: buckets(byStatus),
  });
  return entry.stats;
}

/** The latest version of `name` on `platform` (exact, as stored), or undefined. */
export function latestByIdentity(snapshot: CatalogSnapshot, name: string, platform: string): MemoryTool | undefined {
  return snapshot.byIdentity.get(identityKey(name, platform));
}
