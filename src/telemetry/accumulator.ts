import { mergeStored, newSketch, quantile } from './sketches.js';

/** When a pattern counts as drifting: |observed ÷ estimated − 1| above `threshold` over at least `minRuns` runs. */
export interface DriftRule {
  threshold: number;
  minRuns: number;
}

export const DEFAULT_DRIFT_RULE: DriftRule = { threshold: 0.5, minRuns: 30 };

/** Observed behaviour of a tool version or a pattern over a window, from the roll-ups. */
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

/** The counts and sums a roll-up row holds, as read back and as written. */
export interface RollupCounts {
  runs: number;
  successes: number;
  durationSumMs: number;
  costRuns: number;
  costSum: number;
  estimatedRuns: number;
}

/** A stored roll-up row (hourly or daily) as it is read back. */
export interface RollupRow extends RollupCounts {
  durationSketch: Uint8Array;
  estimateSketch: Uint8Array | null;
  ratioSketch: Uint8Array | null;
  lastRunAt: Date;
}

/** One stored run as roll-ups count it. */
export interface RolledUpRun {
  success: boolean;
  durationMs: number;
  cost: number | null;
  estimatedTimeMs: number | null;
  startedAt: Date;
}

/**
 * Counts, sums and the three DDSketch sketches (duration, estimated time, observed ÷ estimated) of
 * some runs: built from runs at ingestion (`addRun`) or from stored roll-up rows (`add`). Merging
 * rows is exact for counts and sketches (bins add up), so any set of rows covering the same runs
 * gives the same figures.
 */
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

  addRun(run: RolledUpRun): void {
    this.runs += 1;
    if (run.success) this.successes += 1;
    this.durationSumMs += run.durationMs;
    this.duration.accept(run.durationMs);
    if (run.cost !== null) {
      this.costRuns += 1;
      this.costSum += run.cost;
    }
    if (run.estimatedTimeMs !== null && run.estimatedTimeMs > 0) {
      this.estimatedRuns += 1;
      this.estimate.accept(run.estimatedTimeMs);
      this.ratio.accept(run.durationMs / run.estimatedTimeMs);
    }
    if (!this.lastRunAt || run.startedAt > this.lastRunAt) this.lastRunAt = run.startedAt;
  }

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

  /** A copy that can be added to without changing this one. */
  clone(): StatsAccumulator {
    const copy = new StatsAccumulator();
    copy.runs = this.runs;
    copy.successes = this.successes;
    copy.durationSumMs = this.durationSumMs;
    copy.costRuns = this.costRuns;
    copy.costSum = this.costSum;
    copy.estimatedRuns = this.estimatedRuns;
    copy.lastRunAt = this.lastRunAt;
    copy.duration.merge(this.duration);
    copy.estimate.merge(this.estimate);
    copy.ratio.merge(this.ratio);
    return copy;
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
