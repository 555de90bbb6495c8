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
 * Created by `createContext` for every request and dropped with it: nothing here outlives a request.
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
  executionStats: DataLoader<StatsKey, ExecutionStats, string>;
}

/** One loader per distinct selection, made on first use. */
function perSelection<K, V, C = K>(make: (query: ToolQuery) => DataLoader<K, V, C>) {
  let loaders: Map<string, DataLoader<K, V, C>> | undefined;
  return (query: ToolQuery) => {
    loaders ??= new Map();
    const key = JSON.stringify(query);
    let loader = loaders.get(key);
    if (!loader) {
      loader = make(query);
      loaders.set(key, loader);
    }
    return loader;
  };
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

export function createLoaders(prisma: PrismaClient, telemetry: { drift: DriftRule; rollups: RollupReader }): Loaders {
  let executionStats: DataLoader<StatsKey, ExecutionStats, string> | undefined;
  return {
    toolsOfferingCapability: perSelection(
      (query) =>
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
    ),

    toolByLookup: perSelection(
      (query) =>
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
    ),

    toolById: perSelection(
      (query) =>
        new DataLoader<string, Tool | null>(async (ids) => {
          const rows = (await prisma.tool.findMany({ ...withColumns(query, ['id', 'deletedAt']), where: { id: { in: [...ids] } } })) as Tool[];
          const byId = new Map(rows.map((row) => [row.id, row]));
          return ids.map((id) => byId.get(id) ?? null);
        }),
    ),

    latestVersion: perSelection(
      (query) =>
        new DataLoader<string, Tool | null>(async (identities) => {
          const pairs = identities.map((identity) => identity.split('\u0000') as [string, string]);
          const rows = (await prisma.tool.findMany({
            ...withColumns(query, ['name', 'platform']),
            where: { ...latestVisible, OR: pairs.map(([name, platform]) => ({ name, platform })) },
          })) as Tool[];
          const byIdentity = new Map(rows.map((row) => [identityKey(row.name, row.platform), row]));
          return identities.map((identity) => byIdentity.get(identity) ?? null);
        }),
    ),

    // Made on first use: most requests never ask for telemetry.
    get executionStats() {
      return (executionStats ??= executionStatsLoader(prisma, telemetry));
    },
  };
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
