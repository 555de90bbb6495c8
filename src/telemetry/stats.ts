import { Prisma, type PrismaClient } from '../generated/prisma/client.js';
import { mergeStored, newSketch, quantile } from './sketches.js';
import { windowStart, type StatsWindow } from './windows.js';

/** When a pattern counts as drifting: |observed ÷ estimated − 1| above `threshold` over at least `minRuns` runs. */
export interface DriftRule {
  threshold: number;
  minRuns: number;
}

export const DEFAULT_DRIFT_RULE: DriftRule = { threshold: 0.5, minRuns: 30 };

/** Observed behaviour of a tool version or a pattern over a window, from the hourly roll-ups. */
export interface ExecutionStats {
  runs: number;
  successes: number;
  durationMs: { p50: number; p95: number; p99: number; mean: number } | null;
  cost: { mean: number; total: number } | null;
  /** Runs whose estimate could be evaluated, the median of observed ÷ estimated time, and the median estimate. */
  estimateError: { runs: number; medianRatio: number; estimatedMedianMs: number } | null;
  /** medianRatio − 1: +0.8 means runs take 80 % longer than estimated. */
  drift: number | null;
  drifting: boolean;
  lastRunAt: Date | null;
}

/** A roll-up row as stats read it. */
export interface RollupRow {
  runs: number;
  successes: number;
  durationSumMs: number;
  costRuns: number;
  costSum: number;
  estimatedRuns: number;
  durationSketch: Uint8Array;
  estimateSketch: Uint8Array | null;
  ratioSketch: Uint8Array | null;
  lastRunAt: Date;
}

/** Merges roll-up rows (any hours, partial or compacted) into one set of figures. */
export class StatsAccumulator {
  runs = 0;
  successes = 0;
  durationSumMs = 0;
  costRuns = 0;
  costSum = 0;
  estimatedRuns = 0;
  lastRunAt: Date | null = null;
  readonly duration = newSketch();
  readonly estimate = newSketch();
  readonly ratio = newSketch();

  add(row: RollupRow): void {
    this.runs += row.runs;
    this.successes += row.successes;
    this.durationSumMs += row.durationSumMs;
    this.costRuns += row.costRuns;
    this.costSum += row.costSum;
    this.estimatedRuns += row.estimatedRuns;
    mergeStored(this.duration, row.durationSketch);
    mergeStored(this.estimate, row.estimateSketch);
    mergeStored(this.ratio, row.ratioSketch);
    if (!this.lastRunAt || row.lastRunAt > this.lastRunAt) this.lastRunAt = row.lastRunAt;
  }

  stats(rule: DriftRule): ExecutionStats {
    const medianRatio = this.estimatedRuns ? quantile(this.ratio, 0.5) : null;
    const drift = medianRatio === null ? null : medianRatio - 1;
    return {
      runs: this.runs,
      successes: this.successes,
      durationMs: this.runs
        ? { p50: quantile(this.duration, 0.5)!, p95: quantile(this.duration, 0.95)!, p99: quantile(this.duration, 0.99)!, mean: this.durationSumMs / this.runs }
        : null,
      cost: this.costRuns ? { mean: this.costSum / this.costRuns, total: this.costSum } : null,
      estimateError: medianRatio === null ? null : { runs: this.estimatedRuns, medianRatio, estimatedMedianMs: quantile(this.estimate, 0.5)! },
      drift,
      drifting: drift !== null && this.estimatedRuns >= rule.minRuns && Math.abs(drift) > rule.threshold,
      lastRunAt: this.lastRunAt,
    };
  }
}

export const EMPTY_STATS: ExecutionStats = {
  runs: 0,
  successes: 0,
  durationMs: null,
  cost: null,
  estimateError: null,
  drift: null,
  drifting: false,
  lastRunAt: null,
};

const ROLLUP_COLUMNS = Prisma.sql`r."runs", r."successes", r."durationSumMs", r."costRuns", r."costSum", r."estimatedRuns",
  r."durationSketch", r."estimateSketch", r."ratioSketch", r."lastRunAt"`;

function since(window: StatsWindow, now: number): Prisma.Sql {
  const from = windowStart(window, now);
  return from ? Prisma.sql`AND r."hour" >= ${from}` : Prisma.empty;
}

/**
 * Stats of several tool versions (`by: 'tool'`) or patterns (`by: 'pattern'`) over one window, in
 * one statement: the roll-up rows of those ids in the window, merged here.
 */
export async function loadExecutionStats(
  prisma: PrismaClient,
  by: 'tool' | 'pattern',
  window: StatsWindow,
  ids: readonly string[],
  rule: DriftRule,
  now = Date.now(),
): Promise<Map<string, ExecutionStats>> {
  const column = by === 'tool' ? Prisma.raw('r."toolId"') : Prisma.raw('r."patternId"');
  const rows = await prisma.$queryRaw<Array<RollupRow & { owner: string }>>`
    SELECT ${column}::text AS owner, ${ROLLUP_COLUMNS}
    FROM "ExecutionRollup" r WHERE ${column} = ANY(${[...ids]}::uuid[]) ${since(window, now)}`;
  const accumulators = new Map<string, StatsAccumulator>();
  for (const row of rows) {
    let acc = accumulators.get(row.owner);
    if (!acc) accumulators.set(row.owner, (acc = new StatsAccumulator()));
    acc.add(row);
  }
  return new Map([...accumulators].map(([id, acc]) => [id, acc.stats(rule)]));
}

export interface DriftingPattern {
  toolId: string;
  patternId: string;
  capability: string;
  pattern: string;
  runs: number;
  estimatedRuns: number;
  observedMedianMs: number;
  estimatedMedianMs: number;
  medianRatio: number;
  drift: number;
}

/**
 * Patterns whose observed time differs from their estimate by more than the rule allows over the
 * window, worst first. Patterns without enough estimated runs are left out in SQL, before any
 * sketch is read.
 */
export async function driftingPatterns(prisma: PrismaClient, window: StatsWindow, rule: DriftRule, now = Date.now()): Promise<DriftingPattern[]> {
  const from = windowStart(window, now);
  const inWindow = from ? Prisma.sql`"hour" >= ${from}` : Prisma.sql`TRUE`;
  const rows = await prisma.$queryRaw<Array<RollupRow & { toolId: string; patternId: string; capability: string; pattern: string }>>`
    WITH candidates AS (
      SELECT "patternId" FROM "ExecutionRollup" WHERE ${inWindow} GROUP BY "patternId" HAVING sum("estimatedRuns") >= ${rule.minRuns}
    )
    SELECT r."toolId"::text AS "toolId", r."patternId"::text AS "patternId", c."name" AS capability, p."name" AS pattern, ${ROLLUP_COLUMNS}
    FROM "ExecutionRollup" r
    JOIN candidates USING ("patternId")
    JOIN "Pattern" p ON p."id" = r."patternId"
    JOIN "Capability" c ON c."id" = p."capabilityId"
    WHERE ${from ? Prisma.sql`r."hour" >= ${from}` : Prisma.sql`TRUE`}`;
  const groups = new Map<string, { row: (typeof rows)[number]; acc: StatsAccumulator }>();
  for (const row of rows) {
    let group = groups.get(row.patternId);
    if (!group) groups.set(row.patternId, (group = { row, acc: new StatsAccumulator() }));
    group.acc.add(row);
  }
  const drifting: DriftingPattern[] = [];
  for (const { row, acc } of groups.values()) {
    const stats = acc.stats(rule);
    if (!stats.drifting || !stats.estimateError || !stats.durationMs) continue;
    drifting.push({
      toolId: row.toolId,
      patternId: row.patternId,
      capability: row.capability,
      pattern: row.pattern,
      runs: stats.runs,
      estimatedRuns: stats.estimateError.runs,
      observedMedianMs: stats.durationMs.p50,
      estimatedMedianMs: stats.estimateError.estimatedMedianMs,
      medianRatio: stats.estimateError.medianRatio,
      drift: stats.drift!,
    });
  }
  return drifting.sort((a, b) => Math.abs(b.drift) - Math.abs(a.drift) || a.patternId.localeCompare(b.patternId));
}

export interface FailingTool {
  toolId: string;
  runs: number;
  successes: number;
  successRate: number;
}

/** Tool versions with at least `minRuns` runs in the window whose success rate is below `maxSuccessRate`, worst first. */
export async function failingTools(prisma: PrismaClient, window: StatsWindow, minRuns: number, maxSuccessRate: number, now = Date.now()): Promise<FailingTool[]> {
  const from = windowStart(window, now);
  const rows = await prisma.$queryRaw<Array<{ toolId: string; runs: bigint; successes: bigint }>>`
    SELECT "toolId"::text AS "toolId", sum("runs") AS runs, sum("successes") AS successes
    FROM "ExecutionRollup" WHERE ${from ? Prisma.sql`"hour" >= ${from}` : Prisma.sql`TRUE`}
    GROUP BY "toolId"
    HAVING sum("runs") >= ${minRuns} AND sum("successes")::float8 / sum("runs") < ${maxSuccessRate}
    ORDER BY sum("successes")::float8 / sum("runs"), "toolId"`;
  return rows.map((row) => ({
    toolId: row.toolId,
    runs: Number(row.runs),
    successes: Number(row.successes),
    successRate: Number(row.successes) / Number(row.runs),
  }));
}
