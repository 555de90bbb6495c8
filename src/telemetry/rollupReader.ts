import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { Prisma, type PrismaClient } from '../generated/prisma/client.js';
import { StatsAccumulator, type RollupRow } from './accumulator.js';
import { windowRollups } from './rollupStore.js';
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

/** Merged roll-ups kept in memory: at most this many (owner, window) entries, ~10 KB each. */
export const MERGED_CACHE_ENTRIES = 2_048;

const rowsKey = (rows: ReadonlyArray<{ level: string; id: string }>) =>
  createHash('md5')
    .update(
      [...rows]
        .sort((a, b) => (a.level < b.level ? -1 : a.level > b.level ? 1 : Number(BigInt(a.id) - BigInt(b.id))))
        .map((row) => `${row.level}${row.id}`)
        .join(','),
    )
    .digest('hex');

/**
 * Reads merged roll-ups (counts, sums, sketches) per tool version or pattern over a window.
 *
 * First one small statement lists, per owner, a fingerprint of the roll-up rows covering the window
 * (md5 of their ids: daily rows for whole days, hourly rows for the hours before the first
 * midnight and for partials not yet compacted — see `windowRollups`) without reading a sketch.
 * Roll-up rows are never changed in place (ingestion and compaction insert new rows and delete old
 * ones), so the same fingerprint means the same runs: an owner whose fingerprint matches its entry
 * in a bounded in-memory cache is answered from it; the others are read (sketches included) and
 * merged in a second statement. A report, a compaction or a prune changes the fingerprint of
 * every owner it touches, in this instance or any other on the same database: answers are never
 * stale, and a read over a settled catalog reads no sketch at all.
 */
export class RollupReader {
  readonly #merged: LRUCache<string, { key: string; acc: StatsAccumulator }>;

  constructor(options: { maxEntries?: number } = {}) {
    this.#merged = new LRUCache({ max: options.maxEntries ?? MERGED_CACHE_ENTRIES });
  }

  /** Merged figures per owner id with rows in the window. The accumulators are shared: read them, never add to them. */
  async merge(sql: Sql, request: MergeRequest): Promise<Map<string, StatsAccumulator>> {
    const { by, window } = request;
    const column = Prisma.raw(by === 'tool' ? '"toolId"' : '"patternId"');
    const filter = request.ids ? Prisma.sql`r.${column} = ANY(${[...request.ids]}::uuid[])` : undefined;
    if (request.ids?.length === 0) return new Map();
    const from = windowStart(window, request.now);
    const fingerprints = await sql.$queryRaw<Array<{ owner: string; key: string }>>`
      SELECT w.${column}::text AS owner, md5(string_agg(w.level || w.id::text, ',' ORDER BY w.level, w.id)) AS key
      FROM (${windowRollups(from, { sketches: false, filter })}) w
      GROUP BY w.${column}
      ${request.minEstimatedRuns ? Prisma.sql`HAVING sum(w."estimatedRuns") >= ${request.minEstimatedRuns}` : Prisma.empty}`;
    const merged = new Map<string, StatsAccumulator>();
    const missing: string[] = [];
    for (const { owner, key } of fingerprints) {
      const cached = this.#merged.get(`${by}:${window}:${owner}`);
      if (cached?.key === key) merged.set(owner, cached.acc);
      else missing.push(owner);
    }
    if (missing.length === 0) return merged;
    const rows = await sql.$queryRaw<Array<RollupRow & { owner: string; level: string; id: string }>>`
      SELECT w.${column}::text AS owner, w.level, w.id::text AS id, w."runs", w."successes", w."durationSumMs", w."costRuns", w."costSum",
        w."estimatedRuns", w."lastRunAt", w."durationSketch", w."estimateSketch", w."ratioSketch"
      FROM (${windowRollups(from, { sketches: true, filter: Prisma.sql`r.${column} = ANY(${missing}::uuid[])` })}) w`;
    const byOwner = new Map<string, typeof rows>();
    for (const row of rows) {
      let list = byOwner.get(row.owner);
      if (!list) byOwner.set(row.owner, (list = []));
      list.push(row);
    }
    for (const [owner, list] of byOwner) {
      const acc = new StatsAccumulator();
      for (const row of list) acc.add(row);
      // Keyed by the rows actually merged (they may have moved on since the fingerprints were read).
      this.#merged.set(`${by}:${window}:${owner}`, { key: rowsKey(list), acc });
      merged.set(owner, acc);
    }
    return merged;
  }

  /** Forgets every merged entry (tests compare cached and uncached answers). */
  clear(): void {
    this.#merged.clear();
  }
}
