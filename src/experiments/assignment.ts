/**
 * Deterministic assignment of units to experiment arms, with no storage: GrowthBook's hash
 * version 2 and bucket ranges, so a GrowthBook SDK given the same seed, weights and coverage puts
 * every unit in the same arm.
 */

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a, 32 bits, over the UTF-16 code units of `text` (as GrowthBook's SDKs hash strings). */
export function fnv1a32(text: string): number {
  let hash = FNV_OFFSET_BASIS;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, FNV_PRIME);
  }
  return hash >>> 0;
}

/** GrowthBook hash v2: fnv1a32 of the decimal string of fnv1a32(seed + unit), mod 10000, as 0..0.9999. */
export function bucketOf(seed: string, unitId: string): number {
  return (fnv1a32(String(fnv1a32(seed + unitId))) % 10_000) / 10_000;
}

/** Half-open bucket range [start, end) of one arm. */
export type BucketRange = readonly [start: number, end: number];

/**
 * Arm i covers [Σ_{j<i} w_j, Σ_{j<i} w_j + coverage · w_i): its start depends only on the weights,
 * so changing coverage only grows or shrinks each range from its fixed start and can never move a
 * unit from one arm to another.
 */
export function armRanges(weights: readonly number[], coverage: number): BucketRange[] {
  const clamped = Math.min(1, Math.max(0, coverage));
  let cumulative = 0;
  return weights.map((weight) => {
    const start = cumulative;
    cumulative += weight;
    return [start, start + clamped * weight] as const;
  });
}

/** Index of the arm whose range holds `bucket`, or -1 when the unit is not in the experiment. */
export function armIndexFor(bucket: number, ranges: readonly BucketRange[]): number {
  return ranges.findIndex(([start, end]) => bucket >= start && bucket < end);
}

/** What an experiment needs for assignment. */
export interface AssignmentPlan {
  seed: string;
  coverage: number;
  weights: readonly number[];
}

export interface Assignment {
  bucket: number;
  /** Index of the arm, or null when the unit's bucket lies outside every arm's range. */
  armIndex: number | null;
}

export function assign(plan: AssignmentPlan, unitId: string): Assignment {
  const bucket = bucketOf(plan.seed, unitId);
  const index = armIndexFor(bucket, armRanges(plan.weights, plan.coverage));
  return { bucket, armIndex: index < 0 ? null : index };
}
