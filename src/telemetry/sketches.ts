import { DDSketch } from '@datadog/sketches-js';

/**
 * Quantile sketches for run durations and estimate ratios. DDSketch guarantees every quantile
 * within RELATIVE_ACCURACY of the exact rank value, sketches merge exactly (hour + hour = day) and
 * serialise to protobuf, so hourly roll-ups can be stored and combined over any window.
 */
export const RELATIVE_ACCURACY = 0.01;

export function newSketch(): DDSketch {
  return new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY });
}

export function encodeSketch(sketch: DDSketch): Buffer {
  return Buffer.from(sketch.toProto());
}

/** Merges a stored sketch into `into` (nothing for null). */
export function mergeStored(into: DDSketch, stored: Uint8Array | null | undefined): void {
  if (!stored || stored.length === 0) return;
  into.merge(DDSketch.fromProto(stored));
}

/** The value at quantile `q`, or null for an empty sketch. */
export function quantile(sketch: DDSketch, q: number): number | null {
  return sketch.count > 0 ? sketch.getValueAtQuantile(q) : null;
}

export type { DDSketch };
