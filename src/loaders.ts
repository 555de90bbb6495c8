import DataLoader from 'dataloader';
import { Prisma, type PrismaClient, type Tool } from './generated/prisma/client.js';
import { latestVisible } from './catalog/visibility.js';
import type { RollupReader } from './telemetry/rollupReader.js';
import { EMPTY_STATS, loadExecutionStats, type DriftRule, type ExecutionStats } from './telemetry/stats.js';
import type { StatsWindow } from './telemetry/windows.js';

/** A Prisma selection for Tool as Pothos plans it (`include` or `select`), or nothing. */
export type ToolQuery = { include?: Prisma.ToolInclude; select?: Prisma.ToolSelect };

/** How the pipeline names a tool: exact name, platform in any case (optional), a version or the latest enabled one. */
export interface ToolLookup {
  name: string;
  platform?: string | null;
  version?: string | null;
}

/** Which stats a loader key asks for: a tool version's or a pattern's, over one window. */
export interface StatsKey {
  by: 'tool' | 'pattern';
  id: string;
  window: StatsWindow;
}

/**
 * Per-request DataLoaders for the lookups the Prisma plugin cannot plan (they are not relations of
 * a parent row). Each batches every key asked for in one request into one SQL statement; the Tool
 * loaders take the selection the plugin planned for the nested fields, so those cost nothing more.
 * Created by `createContext` for every request (see RequestLoaders) and dropped with it: nothing here
 * outlives a request.
 */
export interface Loaders {
  /** Latest visible tools offering each capability name. */
  toolsOfferingCapability(query: ToolQuery): DataLoader<string, Tool[]>;
  /** Tools matching a name lookup (at most two: more than one means the platform is ambiguous). */
  toolByLookup(query: ToolQuery): DataLoader<ToolLookup, Tool[], string>;
  /** A version by id, deleted or not. */
  toolById(query: ToolQuery): DataLoader<string, Tool | null>;
  /** The latest version of the tool `name\u0000platform`, or null when it has none or is deleted. */
  latestVersion(query: ToolQuery): DataLoader<string, Tool | null>;
  /** Execution stats of tool versions and patterns from the hourly roll-ups: one statement per kind and window. */
  executionStats(): DataLoader<StatsKey, ExecutionStats, string>;
}

/** The loader for one planned selection from `loaders`, made and kept there on first use. */
function perSelection<K, V, C>(loaders: Map<string, DataLoader<K, V, C>>, query: ToolQuery, make: () => DataLoader<K, V, C>): DataLoader<K, V, C> {
  const key = JSON.stringify(query);
  let loader = loaders.get(key);
  if (!loader) {
    loader = make();
    loaders.set(key, loader);
  }
  return loader;
}

/** The planned selection plus the columns a loader needs to sort its rows back to their keys. */
function withColumns(query: ToolQuery, columns: Array<keyof Prisma.ToolSelect>): ToolQuery {
  if (!query.select) return query;
  return { select: { ...query.select, ...Object.fromEntries(columns.map((c) => [c, true])) } };
}

const identityKey = (name: string, platform: string) => `${name}\u0000${platform}`;
const lookupKey = (lookup: ToolLookup) => JSON.stringify([lookup.name, lookup.platform?.toLowerCase() ?? null, lookup.version ?? null]);

function lookupWhere(lookup: ToolLookup): Prisma.ToolWhereInput {
  return {
    name: lookup.name,
    deletedAt: null,
    ...(lookup.platform ? { platform: { equals: lookup.platform, mode: 'insensitive' } } : {}),
    ...(lookup.version ? { version: lookup.version } : { isLatest: true, enabled: true }),
  };
}

function matches(row: Tool, lookup: ToolLookup): boolean {
  return (
    row.name === lookup.name &&
    (!lookup.platform || row.platform.toLowerCase() === lookup.platform.toLowerCase()) &&
    (lookup.version ? row.version === lookup.version : row.isLatest && row.enabled)
  );
}

/**
 * A request's loaders. Building one allocates a single object: every DataLoader (and the map that
 * keeps it) is made when a resolver first asks for it, so a request answered from the in-memory
 * catalog makes none. It must stay that way when the object is copied: Yoga merges the context into
 * its own with Object.assign, which would run a getter, so nothing here is a getter.
 */
class RequestLoaders implements Loaders {
  #toolsOfferingCapability?: Map<string, DataLoader<string, Tool[]>>;
  #toolByLookup?: Map<string, DataLoader<ToolLookup, Tool[], string>>;
  #toolById?: Map<string, DataLoader<string, Tool | null>>;
  #latestVersion?: Map<string, DataLoader<string, Tool | null>>;
  #executionStats?: DataLoader<StatsKey, ExecutionStats, string>;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly telemetry: { drift: DriftRule; rollups: RollupReader },
  ) {}

  toolsOfferingCapability(query: ToolQuery): DataLoader<string, Tool[]> {
    const { prisma } = this;
    return perSelection((this.#toolsOfferingCapability ??= new Map()), query, () =>
      new DataLoader(async (names) => {
        const rows = await prisma.capability.findMany({
          where: { name: { in: [...names] }, tool: latestVisible },
          select: { name: true, tool: Object.keys(query).length > 0 ? query : true },
          orderBy: [{ tool: { name: 'asc' } }, { tool: { platform: 'asc' } }],
        });
        const byName = new Map<string, Tool[]>();
        for (const row of rows) byName.set(row.name, [...(byName.get(row.name) ?? []), row.tool as Tool]);
        return names.map((name) => byName.get(name) ?? []);
      }),
    );
  }

  toolByLookup(query: ToolQuery): DataLoader<ToolLookup, Tool[], string> {
    const { prisma } = this;
    return perSelection((this.#toolByLookup ??= new Map()), query, () =>
      new DataLoader<ToolLookup, Tool[], string>(
        async (lookups) => {
          const rows = (await prisma.tool.findMany({
            ...withColumns(query, ['name', 'platform', 'version', 'isLatest', 'enabled']),
            where: { OR: lookups.map(lookupWhere) },
            orderBy: [{ name: 'asc' }, { platform: 'asc' }],
          })) as Tool[];
          return lookups.map((lookup) => rows.filter((row) => matches(row, lookup)).slice(0, 2));
        },
        { cacheKeyFn: lookupKey },
      ),
    );
  }

  toolById(query: ToolQuery): DataLoader<string, Tool | null> {
    const { prisma } = this;
    return perSelection((this.#toolById ??= new Map()), query, () =>
      new DataLoader<string, Tool | null>(async (ids) => {
        const rows = (await prisma.tool.findMany({ ...withColumns(query, ['id', 'deletedAt']), where: { id: { in: [...ids] } } })) as Tool[];
        const byId = new Map(rows.map((row) => [row.id, row]));
        return ids.map((id) => byId.get(id) ?? null);
      }),
    );
  }

  latestVersion(query: ToolQuery): DataLoader<string, Tool | null> {
    const { prisma } = this;
    return perSelection((this.#latestVersion ??= new Map()), query, () =>
      new DataLoader<string, Tool | null>(async (identities) => {
        const pairs = identities.map((identity) => identity.split('\u0000') as [string, string]);
        const rows = (await prisma.tool.findMany({
          ...withColumns(query, ['name', 'platform']),
          where: { ...latestVisible, OR: pairs.map(([name, platform]) => ({ name, platform })) },
        })) as Tool[];
        const byIdentity = new Map(rows.map((row) => [identityKey(row.name, row.platform), row]));
        return identities.map((identity) => byIdentity.get(identity) ?? null);
      }),
    );
  }

  /** A method, not a getter (see the class comment): most requests never ask for telemetry. */
  executionStats(): DataLoader<StatsKey, ExecutionStats, string> {
    return (this.#executionStats ??= executionStatsLoader(this.prisma, this.telemetry));
  }
}

/** A request's loaders over `prisma` (the service's client, or a read snapshot's transaction). */
export function createLoaders(prisma: PrismaClient, telemetry: { drift: DriftRule; rollups: RollupReader }): Loaders {
  return new RequestLoaders(prisma, telemetry);
}

function executionStatsLoader(prisma: PrismaClient, telemetry: { drift: DriftRule; rollups: RollupReader }): DataLoader<StatsKey, ExecutionStats, string> {
  return new DataLoader<StatsKey, ExecutionStats, string>(
      async (keys) => {
        const groups = new Map<string, StatsKey[]>();
        for (const key of keys) {
          const group = `${key.by}:${key.window}`;
          groups.set(group, [...(groups.get(group) ?? []), key]);
        }
        const found = new Map<string, ExecutionStats>();
        await Promise.all(
          [...groups.values()].map(async (group) => {
            const { by, window } = group[0]!;
            const stats = await loadExecutionStats(prisma, telemetry.rollups, by, window, [...new Set(group.map((key) => key.id))], telemetry.drift);
            for (const [id, value] of stats) found.set(`${by}:${window}:${id}`, value);
          }),
        );
        return keys.map((key) => found.get(`${key.by}:${key.window}:${key.id}`) ?? EMPTY_STATS);
      },
      { cacheKeyFn: (key) => `${key.by}:${key.window}:${key.id}` },
  );
}

export { identityKey };
