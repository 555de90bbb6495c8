import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { Prisma, type PrismaClient } from '../generated/prisma/client.js';
import { StatsAccumulator, type RollupRow } from './accumulator.js';
import { dayOf, windowRollups } from './rollupStore.js';
import { windowStart, type StatsWindow } from './windows.js';

type Sql = Pick<PrismaClient, '$queryRaw'>;

export type RollupOwner = 'tool' | 'pattern';

export interface MergeRequest {
  by: RollupOwner;
  window: StatsWindow;
  /** Only these tool versions or patterns; every one with runs in the window when absent. */
  ids?: readonly string[];
  /** Leave out owners with fewer runs with an estimate (decided in SQL, before any sketch is read). */
  minEstimatedRuns?: number;
  now?: number;
}

/** Merged roll-ups kept in memory: at most this many (owner, window) entries, ~20 KB each. */
export const MERGED_CACHE_ENTRIES = 2_048;

type FetchedRow = RollupRow & { owner: string; level: string; id: string; recent: boolean };

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/** The rows' ids as the fingerprint statement lists them: `<level><id>`, by level then id, comma-separated. */
const idList = (rows: ReadonlyArray<{ level: string; id: string }>) =>
  [...rows]
    .sort((a, b) => (a.level < b.level ? -1 : a.level > b.level ? 1 : Number(BigInt(a.id) - BigInt(b.id))))
    .map((row) => `${row.level}${row.id}`)
    .join(',');

const fingerprint = (rows: ReadonlyArray<{ level: string; id: string }>) => md5(idList(rows));

interface Entry {
  /** Fingerprint and merge of the settled rows: days before today and compacted hours before today. */
  settledKey: string;
  settled: StatsAccumulator;
  /** Fingerprint of the recent rows (today's day and hours, partials waiting for compaction) and the merge of everything. */
  recentKey: string;
  /** The recent rows merged into `all`, as `<level><id>`. */
  recentIds: ReadonlySet<string>;
  all: StatsAccumulator;
}

/**
 * Reads merged roll-ups (counts, sums, sketches) per tool version or pattern over a window.
 *
 * First one small statement lists, per owner, fingerprints of the roll-up rows covering the window
 * (md5 of their ids — daily rows for whole days, hourly rows for the hours before the first
 * midnight and for partials not yet compacted, see `windowRollups` — without reading a sketch), in
 * two parts: settled rows (before today's midnight, compacted) and recent ones (today's, and
 * partials). Roll-up rows are never changed in place (ingestion and compaction insert new rows and
 * delete old ones), so the same fingerprint means the same runs. An owner whose two fingerprints
 * match its entry in a bounded in-memory cache is answered from it; one whose settled part matches
 * reads only its recent rows (a report or a compaction changes today's rows only) and adds them to
 * a copy of the settled merge; the others are read whole. Between compactions reports only add
 * partial rows: an owner whose recent rows are the cached ones plus new ones reads only the new ones
 * and adds them to a copy of its cached merge, so a view refreshed every second while reports
 * arrive decodes each partial once, not once per refresh until it is compacted. A report, a compaction or a prune changes
 * the fingerprints of every owner it touches, in this instance or any other on the same database:
 * answers are never stale, and a read over a settled catalog reads no sketch at all.
 */
export class RollupReader {
  readonly #merged: LRUCache<string, Entry>;
  /** Roll-up rows read with their sketches and merged, since start (tests watch it). */
  rowsMerged = 0;

  constructor(options: { maxEntries?: number } = {}) {
    this.#merged = new LRUCache({ max: options.maxEntries ?? MERGED_CACHE_ENTRIES });
  }

  /** Merged figures per owner id with rows in the window. The accumulators are shared: read them, never add to them. */
  async merge(sql: Sql, request: MergeRequest): Promise<Map<string, StatsAccumulator>> {
    const { by, window } = request;
    if (request.ids?.length === 0) return new Map();
    const column = Prisma.raw(by === 'tool' ? '"toolId"' : '"patternId"');
    const filter = request.ids ? Prisma.sql`r.${column} = ANY(${[...request.ids]}::uuid[])` : undefined;
    const now = request.now ?? Date.now();
    const from = windowStart(window, now);
    const today = dayOf(now);
    const recent = Prisma.sql`(w."at" >= ${today} OR NOT w."compacted")`;
    const ids = Prisma.sql`w.level || w.id::text, ',' ORDER BY w.level, w.id`;
    // The settled rows as a fingerprint; the recent ones listed (a few per owner), to tell added rows.
    const fingerprints = await sql.$queryRaw<Array<{ owner: string; settled: string; recent: string }>>`
      SELECT w.${column}::text AS owner,
        md5(coalesce(string_agg(${ids}) FILTER (WHERE NOT ${recent}), '')) AS settled,
        coalesce(string_agg(${ids}) FILTER (WHERE ${recent}), '') AS recent
      FROM (${windowRollups(from, { sketches: false, filter })}) w
      GROUP BY w.${column}
      ${request.minEstimatedRuns ? Prisma.sql`HAVING sum(w."estimatedRuns") >= ${request.minEstimatedRuns}` : Prisma.empty}`;
    const merged = new Map<string, StatsAccumulator>();
    const whole: string[] = [];
    const partly = new Map<string, { entry: Entry; recentKey: string }>();
    const extended = new Map<string, { entry: Entry; recentKey: string; recentIds: Set<string>; added: string[] }>();
    const cacheKey = (owner: string) => `${by}:${window}:${owner}`;
    for (const { owner, settled, recent: recentList } of fingerprints) {
      const recentKey = md5(recentList);
      const entry = this.#merged.get(cacheKey(owner));
      if (entry?.settledKey === settled && entry.recentKey === recentKey) {
        merged.set(owner, entry.all);
        continue;
      }
      if (entry?.settledKey !== settled) {
        whole.push(owner);
        continue;
      }
      const recentIds = new Set(recentList ? recentList.split(',') : []);
      const added = [...recentIds].filter((id) => !entry.recentIds.has(id));
      // Every cached recent row still there, and more: only the added rows are read.
      if (added.length > 0 && entry.recentIds.size + added.length === recentIds.size) extended.set(owner, { entry, recentKey, recentIds, added });
      else partly.set(owner, { entry, recentKey });
    }

    /** The window's rows of `owners`, sketches included, that `where` keeps. */
    const fetchRows = async (owners: string[], where: Prisma.Sql) => {
      const rows = await sql.$queryRaw<FetchedRow[]>`
        SELECT w.${column}::text AS owner, w.level, w.id::text AS id, ${recent} AS recent, w."runs", w."successes", w."durationSumMs",
          w."costRuns", w."costSum", w."estimatedRuns", w."lastRunAt", w."durationSketch", w."estimateSketch", w."ratioSketch"
        FROM (${windowRollups(from, { sketches: true, filter: Prisma.sql`r.${column} = ANY(${owners}::uuid[])` })}) w
        WHERE ${where}`;
      this.rowsMerged += rows.length;
      return rows;
    };
    const read = async (wholeOwners: string[], recentOwners: string[]) => {
      const rows = await fetchRows([...wholeOwners, ...recentOwners], Prisma.sql`w.${column} = ANY(${wholeOwners}::uuid[]) OR ${recent}`);
      const byOwner = new Map<string, FetchedRow[]>([...wholeOwners, ...recentOwners].map((owner) => [owner, []]));
      for (const row of rows) byOwner.get(row.owner)?.push(row);
      return byOwner;
    };
    const mergeAll = (base: StatsAccumulator, rows: readonly FetchedRow[]) => {
      if (rows.length === 0) return base;
      const acc = base.clone();
      for (const row of rows) acc.add(row);
      return acc;
    };
    const keep = (owner: string, entry: Entry) => {
      this.#merged.set(cacheKey(owner), entry);
      if (entry.all.runs > 0) merged.set(owner, entry.all);
    };
    const fromScratch = (owner: string, rows: readonly FetchedRow[]) => {
      // Both fingerprints from the rows actually read (one statement: one consistent state).
      const settledRows = rows.filter((row) => !row.recent);
      const recentRows = rows.filter((row) => row.recent);
      const settled = new StatsAccumulator();
      for (const row of settledRows) settled.add(row);
      const recentIds = idList(recentRows);
      keep(owner, { settledKey: fingerprint(settledRows), settled, recentKey: md5(recentIds), recentIds: new Set(recentIds ? recentIds.split(',') : []), all: mergeAll(settled, recentRows) });
    };

    if (whole.length === 0 && partly.size === 0 && extended.size === 0) return merged;
    const again: string[] = [];
    if (extended.size) {
      const wanted = [...extended.values()].flatMap(({ added }) => added);
      const rows = await fetchRows([...extended.keys()], Prisma.sql`w.level || w.id::text = ANY(${wanted}::text[])`);
      const byOwner = new Map<string, FetchedRow[]>();
      for (const row of rows) {
        const list = byOwner.get(row.owner);
        if (list) list.push(row);
        else byOwner.set(row.owner, [row]);
      }
      for (const [owner, { entry, recentKey, recentIds, added }] of extended) {
        const found = byOwner.get(owner) ?? [];
        // A row compacted away since the fingerprints were read: read the owner whole.
        if (found.length !== added.length) again.push(owner);
        else keep(owner, { ...entry, recentKey, recentIds, all: mergeAll(entry.all, found) });
      }
    }
    const fetched = whole.length || partly.size ? await read(whole, [...partly.keys()]) : new Map<string, FetchedRow[]>();
    for (const owner of whole) fromScratch(owner, fetched.get(owner)!);
    for (const [owner, { entry, recentKey }] of partly) {
      const rows = fetched.get(owner)!;
      // The recent rows read must be the ones fingerprinted: then settled (matched then) + recent is
      // the state of the first statement. If a compaction ran in between, read the owner whole.
      const ids = idList(rows);
      if (md5(ids) !== recentKey) again.push(owner);
      else keep(owner, { ...entry, recentKey, recentIds: new Set(ids ? ids.split(',') : []), all: mergeAll(entry.settled, rows) });
    }
    if (again.length) {
      const refetched = await read(again, []);
      for (const owner of again) fromScratch(owner, refetched.get(owner)!);
    }
    return merged;
  }

  /** Forgets every merged entry (tests compare cached and uncached answers). */
  clear(): void {
    this.#merged.clear();
  }
}
