import { createRequire } from 'node:module';
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

interface StoreMessage {
  contiguousBinCounts?: number[] | null;
  contiguousBinIndexOffset?: number | null;
}
interface SketchMessage {
  mapping?: { gamma?: number | null; indexOffset?: number | null; interpolation?: number | null } | null;
  positiveValues?: StoreMessage | null;
  negativeValues?: StoreMessage | null;
  zeroCount?: number | null;
}
interface SketchCodec {
  create(message: SketchMessage): unknown;
  encode(message: unknown): { finish(): Uint8Array };
  decode(bytes: Uint8Array): SketchMessage;
}

/**
 * The library's own protobuf messages (the module its toProto and fromProto use), loaded once:
 * those methods look the module up again on every call, a module resolution per sketch that cost
 * about a third of the service's CPU while runs were ingested. Encoding and decoding here write and
 * read the same messages with the same fields, and fall back to the library for a sketch whose
 * mapping is not ours.
 */
const codec = (createRequire(import.meta.url)('@datadog/sketches-js/dist/ddsketch/proto/compiled') as { DDSketch: SketchCodec }).DDSketch;
/** Our sketches' mapping as the library encodes it (the same for every sketch of RELATIVE_ACCURACY). */
const MAPPING = codec.decode(newSketch().toProto()).mapping!;

const ourMapping = (sketch: DDSketch) => sketch.mapping.gamma === MAPPING.gamma && sketch.mapping.relativeAccuracy === RELATIVE_ACCURACY;

/**
 * A store's bins from its first to its last non-empty one. The dense store grows its bins in chunks
 * of 128, and the library encodes them all: a partial roll-up of a few runs then took about 1 KB
 * per sketch, mostly zeros, three sketches per row, hex-encoded in every batch's statement.
 */
function storeMessage(store: DDSketch['store']): StoreMessage {
  const bins = store.bins;
  let first = 0;
  while (first < bins.length && !bins[first]) first++;
  if (first === bins.length) return { contiguousBinCounts: [], contiguousBinIndexOffset: 0 };
  let last = bins.length - 1;
  while (!bins[last]) last--;
  return { contiguousBinCounts: bins.slice(first, last + 1), contiguousBinIndexOffset: store.offset + first };
}

/**
 * The sketch as protobuf bytes, in the library's message: the library's `fromProto` reads them to
 * the same counts and quantiles as its own `toProto` output, which keeps the empty bins too.
 */
export function encodeSketch(sketch: DDSketch): Buffer {
  if (!ourMapping(sketch)) return Buffer.from(sketch.toProto());
  const message = codec.create({ mapping: MAPPING, positiveValues: storeMessage(sketch.store), negativeValues: storeMessage(sketch.negativeStore), zeroCount: sketch.zeroCount });
  return Buffer.from(codec.encode(message).finish());
}

/**
 * Adds a store message's bins to `store`, as `DenseStore.fromProto` does (its key range spans every
 * bin of the message, the empty ones at either end too, which quantiles near 0 and 1 follow). The
 * range is taken first (last key, then first), so the bins grow once rather than with every key.
 */
function addCounts(store: DDSketch['store'], message: StoreMessage | null | undefined): void {
  const counts = message?.contiguousBinCounts ?? [];
  if (counts.length === 0) return;
  const offset = message?.contiguousBinIndexOffset ?? 0;
  store.add(offset + counts.length - 1, 0);
  store.add(offset, 0);
  for (let i = 0; i < counts.length; i++) if (counts[i]) store.add(offset + i, counts[i]!);
}

const total = (message: StoreMessage | null | undefined) => (message?.contiguousBinCounts ?? []).reduce((sum, count) => sum + count, 0);

/** Merges a stored sketch into `into` (nothing for null), as `into.merge(DDSketch.fromProto(stored))` would. */
export function mergeStored(into: DDSketch, stored: Uint8Array | null | undefined): void {
  if (!stored || stored.length === 0) return;
  const message = codec.decode(stored);
  if (message.mapping?.gamma !== MAPPING.gamma || message.mapping?.indexOffset !== MAPPING.indexOffset || message.mapping?.interpolation !== MAPPING.interpolation) {
    into.merge(DDSketch.fromProto(stored));
    return;
  }
  const positive = total(message.positiveValues);
  const zeroCount = message.zeroCount ?? 0;
  const count = positive + total(message.negativeValues) + zeroCount;
  if (count === 0) return;
  if (into.count > 0) {
    // What DDSketch.merge does with a non-empty sketch, without decoding into a sketch of its own
    // first (compaction merges thousands of stored rows): the positive bins are added, the zero and
    // total counts too, and the negative store is left as it was, as the library leaves it.
    if (positive > 0) addCounts(into.store, message.positiveValues);
    into.zeroCount += zeroCount;
    into.count += count;
    return;
  }
  // Into an empty sketch the library copies the decoded one whole. Like the library's decoding, the
  // stored sketch brings counts only (not min, max or sum).
  const decoded = newSketch();
  addCounts(decoded.store, message.positiveValues);
  addCounts(decoded.negativeStore, message.negativeValues);
  decoded.zeroCount = zeroCount;
  decoded.count = decoded.store.count + decoded.negativeStore.count + decoded.zeroCount;
  into.merge(decoded);
}

/** The value at quantile `q`, or null for an empty sketch. */
export function quantile(sketch: DDSketch, q: number): number | null {
  return sketch.count > 0 ? sketch.getValueAtQuantile(q) : null;
}

export type { DDSketch };
