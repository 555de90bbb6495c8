import type { PrismaClient } from '../generated/prisma/client.js';
import type { Logger } from '../logger.js';
import { StatsAccumulator, type RollupRow } from './accumulator.js';
import { dayOf, insertDailyRollups, insertHourlyRollups, rollupRecord } from './rollupStore.js';

/** Advisory lock key: one compactor at a time across every instance on one database. */
const COMPACTION_LOCK = 0x7e1e_0001;
const COMPACT_KEYS_PER_PASS = 1_000;
const COMPACT_PASSES_PER_RUN = 20;
const PRUNE_BATCH = 10_000;
const PRUNE_BATCHES_PER_RUN = 100;

export interface TelemetryRetention {
  /** Raw runs older than this are deleted. */
  rawMs: number;
  /** Roll-ups (hourly and daily) older than this, counted in whole days, are deleted. */
  rollupMs: number;
}

type StoredRollup = RollupRow & { toolId: string; patternId: string; at: Date; compacted: boolean };

/** Merges rows by (pattern, `at`) — the hour or the day they cover. */
function mergeByPattern(rows: Iterable<StoredRollup>, at: (row: StoredRollup) => Date) {
  const merged = new Map<string, { toolId: string; patternId: string; at: Date; acc: StatsAccumulator }>();
  for (const row of rows) {
    const when = at(row);
    const key = `${row.patternId}\u0000${when.getTime()}`;
    let group = merged.get(key);
    if (!group) merged.set(key, (group = { toolId: row.toolId, patternId: row.patternId, at: when, acc: new StatsAccumulator() }));
    group.acc.add(row);
  }
  return [...merged.values()];
}

/**
 * Ingestion appends one partial roll-up row per (pattern, hour) per batch, so it never waits on
 * another batch. Compaction merges each hour's rows into one (counts add up, sketches merge
 * exactly) and adds the partials it compacted to the pattern's daily row, all in one transaction:
 * a reader sees either the partials (and the day without them) or the merged hour (and the day
 * with them), never both or neither. Returns the number of (pattern, hour) keys compacted.
 */
export async function compactRollups(prisma: PrismaClient, maxKeys = COMPACT_KEYS_PER_PASS): Promise<number> {
  return prisma.$transaction(
    async (tx) => {
      const [lock] = await tx.$queryRaw<Array<{ locked: boolean }>>`SELECT pg_try_advisory_xact_lock(${COMPACTION_LOCK}) AS locked`;
      if (!lock?.locked) return 0;
      const keys = await tx.$queryRaw<Array<{ patternId: string; hour: Date }>>`
        SELECT "patternId"::text AS "patternId", "hour" FROM "ExecutionRollup" WHERE NOT "compacted"
        GROUP BY "patternId", "hour" ORDER BY min("createdAt") LIMIT ${maxKeys}`;
      if (keys.length === 0) return 0;
      const rows = await tx.$queryRaw<StoredRollup[]>`
        DELETE FROM "ExecutionRollup" r
        USING jsonb_to_recordset(${JSON.stringify(keys)}::jsonb) AS k("patternId" uuid, "hour" timestamp(3))
        WHERE r."patternId" = k."patternId" AND r."hour" = k."hour"
        RETURNING r."toolId"::text AS "toolId", r."patternId"::text AS "patternId", r."hour" AS "at", r."compacted", r."runs", r."successes",
          r."durationSumMs", r."costRuns", r."costSum", r."estimatedRuns", r."durationSketch", r."estimateSketch", r."ratioSketch", r."lastRunAt"`;
      const hours = mergeByPattern(rows, (row) => row.at);
      await insertHourlyRollups(tx, hours.map(({ acc, at, ...owner }) => rollupRecord(owner, at, acc)), true);

      // Only the partials are new to their day: a row compacted before is in it already.
      const fresh = rows.filter((row) => !row.compacted);
      const days = [...new Set(fresh.map((row) => `${row.patternId}\u0000${dayOf(row.at).toISOString()}`))].map((key) => {
        const [patternId, day] = key.split('\u0000') as [string, string];
        return { patternId, day };
      });
      const previous = await tx.$queryRaw<StoredRollup[]>`
        DELETE FROM "ExecutionRollupDaily" r
        USING jsonb_to_recordset(${JSON.stringify(days)}::jsonb) AS k("patternId" uuid, "day" timestamp(3))
        WHERE r."patternId" = k."patternId" AND r."day" = k."day"
        RETURNING r."toolId"::text AS "toolId", r."patternId"::text AS "patternId", r."day" AS "at", TRUE AS "compacted", r."runs", r."successes",
          r."durationSumMs", r."costRuns", r."costSum", r."estimatedRuns", r."durationSketch", r."estimateSketch", r."ratioSketch", r."lastRunAt"`;
      const daily = mergeByPattern([...previous, ...fresh], (row) => dayOf(row.at));
      await insertDailyRollups(tx, daily.map(({ acc, at, ...owner }) => rollupRecord(owner, at, acc)));
      return hours.length;
    },
    { maxWait: 10_000, timeout: 120_000 },
  );
}

/** When the oldest roll-up row still waiting for compaction was written, or null when none waits. */
export async function oldestPendingRollup(prisma: PrismaClient): Promise<Date | null> {
  const [row] = await prisma.$queryRaw<Array<{ oldest: Date | null }>>`SELECT min("createdAt") AS oldest FROM "ExecutionRollup" WHERE NOT "compacted"`;
  return row?.oldest ?? null;
}

/**
 * Deletes raw runs and roll-ups past their retention, in bounded batches (a run never holds a long
 * transaction or deletes without end). Returns what it deleted.
 */
export async function pruneTelemetry(prisma: PrismaClient, cutoffs: { rawBefore: Date; rollupsBefore: Date }): Promise<{ runs: number; rollups: number }> {
  // Whole days only: a daily roll-up and the hours it holds go together, so every window (ALL
  // included) reads the same runs from daily rows as from hourly ones.
  const rollupsBefore = dayOf(cutoffs.rollupsBefore);
  let runs = 0;
  let rollups = 0;
  for (let batch = 0; batch < PRUNE_BATCHES_PER_RUN; batch++) {
    const deleted = await prisma.$executeRaw`
      DELETE FROM "ToolExecution" WHERE "id" IN (SELECT "id" FROM "ToolExecution" WHERE "startedAt" < ${cutoffs.rawBefore} LIMIT ${PRUNE_BATCH})`;
    runs += deleted;
    if (deleted < PRUNE_BATCH) break;
  }
  for (let batch = 0; batch < PRUNE_BATCHES_PER_RUN; batch++) {
    const deleted = await prisma.$executeRaw`
      DELETE FROM "ExecutionRollup" WHERE "id" IN (SELECT "id" FROM "ExecutionRollup" WHERE "hour" < ${rollupsBefore} LIMIT ${PRUNE_BATCH})`;
    rollups += deleted;
    if (deleted < PRUNE_BATCH) break;
  }
  // The same whole days of daily rows (one row per pattern and day: a small delete).
  rollups += await prisma.$executeRaw`DELETE FROM "ExecutionRollupDaily" WHERE "day" < ${rollupsBefore}`;
  return { runs, rollups };
}

export interface TelemetryMaintenanceOptions {
  retention: TelemetryRetention;
  log: Logger;
  compactEveryMs?: number;
  pruneEveryMs?: number;
}

/** Compaction every few seconds, pruning every hour; the roll-up lag gauge reads `lagSeconds`. */
export class TelemetryMaintenance {
  #oldestPending: Date | null = null;
  #timers: NodeJS.Timeout[] = [];
  #compacting: Promise<number> | undefined;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly options: TelemetryMaintenanceOptions,
  ) {}

  /** Seconds the oldest uncompacted roll-up had waited when last measured (0 when none waited). */
  lagSeconds(now = Date.now()): number {
    return this.#oldestPending ? Math.max(0, (now - this.#oldestPending.getTime()) / 1000) : 0;
  }

  /**
   * Ingestion wrote partial roll-ups. Until a compaction measures again, the lag counts from the
   * first such write, so it grows when compaction keeps failing instead of staying at its last value.
   */
  notePending(at = new Date()): void {
    this.#oldestPending ??= at;
  }

  /** Compacts until nothing waits or the run's bound is reached; then measures the lag. Never overlaps itself. */
  compact(): Promise<number> {
    this.#compacting ??= (async () => {
      let total = 0;
      try {
        for (let pass = 0; pass < COMPACT_PASSES_PER_RUN; pass++) {
          const keys = await compactRollups(this.prisma);
          total += keys;
          if (keys < COMPACT_KEYS_PER_PASS) break;
        }
        this.#oldestPending = await oldestPendingRollup(this.prisma);
        return total;
      } finally {
        this.#compacting = undefined;
      }
    })();
    return this.#compacting;
  }

  prune(now = Date.now()) {
    return pruneTelemetry(this.prisma, {
      rawBefore: new Date(now - this.options.retention.rawMs),
      rollupsBefore: new Date(now - this.options.retention.rollupMs),
    });
  }

  start(): this {
    const { log } = this.options;
    const compact = () => void this.compact().catch((error: unknown) => log.warn({ err: error }, 'could not compact telemetry roll-ups'));
    const prune = () =>
      void this.prune().then(
        (pruned) => (pruned.runs || pruned.rollups) && log.info(pruned, 'pruned telemetry past its retention'),
        (error: unknown) => log.warn({ err: error }, 'could not prune telemetry'),
      );
    prune();
    this.#timers.push(setInterval(compact, this.options.compactEveryMs ?? 5_000), setInterval(prune, this.options.pruneEveryMs ?? 3_600_000));
    for (const timer of this.#timers) timer.unref();
    return this;
  }

  stop(): void {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
  }
}
