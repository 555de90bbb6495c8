// Summary statistics of the benchmarks.

export function median(values: Array<number | null>): number | null {
  const present = values.filter((v): v is number => v !== null && Number.isFinite(v)).sort((a, b) => a - b);
  if (!present.length) return null;
  const mid = Math.floor(present.length / 2);
  return present.length % 2 ? present[mid]! : (present[mid - 1]! + present[mid]!) / 2;
}

/** Nearest-rank percentile of ascending `sorted` (p in 0–100); null when empty. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (!sorted.length) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export interface Distribution {
  count: number;
  min: number | null;
  median: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

/** min / median / p95 / p99 / max of the finite values, rounded to 0.01. */
export function distribution(values: Array<number | null>): Distribution {
  const sorted = values.filter((v): v is number => v !== null && Number.isFinite(v)).sort((a, b) => a - b);
  const round = (v: number | null) => (v === null ? null : Math.round(v * 100) / 100);
  return {
    count: sorted.length,
    min: round(sorted[0] ?? null),
    median: round(median(sorted)),
    p95: round(percentile(sorted, 95)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1] ?? null),
  };
}
