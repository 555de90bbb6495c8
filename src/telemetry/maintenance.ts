import type { PrismaClient } from '../generated/prisma/client.js';
import type { Logger } from '../logger.js';
import { encodeSketch } from './sketches.js';
import { StatsAccumulator, type RollupRow } from './stats.js';

/** Advisory lock key: one compactor at a time across every instance on one database. */
const COMPACTION_LOCK = 0x7e1e_0001;
const COMPACT_KEYS_PER_PASS = 1_000;
const COMPACT_PASSES_PER_RUN = 20;
const PRUNE_BATCH = 10_000;
const PRUNE_BATCHES_PER_RUN = 100;

export interface TelemetryRetention {
  /** Raw runs older than this are deleted. */
  rawMs: number;
  /** Hourly roll-ups older than this are deleted. */
  rollupMs: number;
}

/**
 * Ingestion appends one partial roll-up row per (pattern, hour) per batch, so it never waits on
 * another batch. Compaction merges each hour's rows into one (counts add up, sketches merge
 * exactly) in one transaction, so a reader sees either the partials or the merged row, never both
 * or neither. Returns the number of (pattern, hour) keys compacted.
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
      const rows = await tx.$queryRaw<Array<RollupRow & { toolId: string; patternId: string; hour: Date }>>`
        DELETE FROM "ExecutionRollup" r
        USING jsonb_to_recordset(${JSON.stringify(keys)}::jsonb) AS k("patternId" uuid, "hour" timestamp(3))
        WHERE r."patternId" = k."patternId" AND r."hour" = k."hour"
        RETURNING r."toolId"::text AS "toolId", r."patternId"::text AS "patternId", r."hour", r."runs", r."successes", r."durationSumMs",
          r."costRuns", r."costSum", r."estimatedRuns", r."durationSketch", r."estimateSketch", r."ratioSketch", r."lastRunAt"`;
      const merged = new Map<string, { toolId: string; patternId: string; hour: Date; acc: StatsAccumulator }>();
      for (const row of rows) {
        const key = `${row.patternId}\u0000${row.hour.getTime()}`;
        let group = merged.get(key);
        if (!group) merged.set(key, (group = { toolId: row.toolId, patternId: row.patternId, hour: row.hour, acc: new StatsAccumulator() }));
        group.acc.add(row);
      }
      const compacted = [...merged.values()].map(({ toolId, patternId, hour, acc }) => ({
        toolId,
        patternId,
        hour: hour.toISOString(),
        runs: acc.runs,
        successes: acc.successes,
        durationSumMs: acc.durationSumMs,
        costRuns: acc.costRuns,
        costSum: acc.costSum,
        estimatedRuns: acc.estimatedRuns,
        durationSketch: encodeSketch(acc.duration).toString('hex'),
        estimateSketch: acc.estimatedRuns ? encodeSketch(acc.estimate).toString('hex') : null,
        ratioSketch: acc.estimatedRuns ? encodeSketch(acc.ratio).toString('hex') : null,
        lastRunAt: acc.lastRunAt!.toISOString(),
      }));
      await tx.$executeRaw`
        INSERT INTO "ExecutionRollup" ("toolId", "patternId", "hour", "runs", "successes", "durationSumMs", "costRuns", "costSum",
          "estimatedRuns", "durationSketch", "estimateSketch", "ratioSketch", "lastRunAt", "compacted")
        SELECT r."toolId", r."patternId", r."hour", r."runs", r."successes", r."durationSumMs", r."costRuns", r."costSum", r."estimatedRuns",
          decode(r."durationSketch", 'hex'), decode(r."estimateSketch", 'hex'), decode(r."ratioSketch", 'hex'), r."lastRunAt", TRUE
        FROM jsonb_to_recordset(${JSON.stringify(compacted)}::jsonb) AS r("toolId" uuid, "patternId" uuid, "hour" timestamp(3), "runs" int,
          "successes" int, "durationSumMs" float8, "costRuns" int, "costSum" float8, "estimatedRuns" int, "durationSketch" text,
          "estimateSketch" text, "ratioSketch" text, "lastRunAt" timestamp(3))`;
      return compacted.length;
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
      DELETE FROM "ExecutionRollup" WHERE "id" IN (SELECT "id" FROM "ExecutionRollup" WHERE "hour" < ${cutoffs.rollupsBefore} LIMIT ${PRUNE_BATCH})`;
    rollups += deleted;
    if (deleted < PRUNE_BATCH) break;
  }
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
