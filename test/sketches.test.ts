import { DDSketch } from '@datadog/sketches-js';
import { describe, expect, it } from 'vitest';
import { encodeSketch, mergeStored, newSketch } from '../src/telemetry/sketches.js';

/** Stored sketches are read and written without the library's per-call codec: the results must be the library's. */

let seed = 11;
const next = () => (seed = (seed * 48271) % 2147483647) / 2147483647;

function randomSketch(): DDSketch {
  const sketch = newSketch();
  const values = Math.floor(next() * 400);
  const scale = 10 ** Math.floor(next() * 7);
  for (let i = 0; i < values; i++) {
    const kind = next();
    // Mostly durations over several orders of magnitude; some zeros and a few negative values too.
    sketch.accept(kind < 0.05 ? 0 : kind < 0.08 ? -next() * scale : next() * scale + next(), kind > 0.97 ? 3 : 1);
  }
  return sketch;
}

const QUANTILES = [0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1];
const figures = (sketch: DDSketch) => ({
  count: sketch.count,
  zeroCount: sketch.zeroCount,
  quantiles: sketch.count > 0 ? QUANTILES.map((q) => sketch.getValueAtQuantile(q)) : [],
});

describe('stored sketches', () => {
  it('encode only the non-empty bins, which the library decodes to the same figures as its own encoding', () => {
    for (let i = 0; i < 300; i++) {
      const sketch = randomSketch();
      const ours = encodeSketch(sketch);
      const libraries = Buffer.from(sketch.toProto());
      expect(figures(DDSketch.fromProto(ours))).toEqual(figures(DDSketch.fromProto(libraries)));
      expect(ours.length).toBeLessThanOrEqual(libraries.length);
    }
  });

  it('encode a sketch of a few runs in a small part of the library\'s bytes', () => {
    const few = newSketch();
    for (const duration of [120, 135, 150, 180, 240]) few.accept(duration);
    const ours = encodeSketch(few);
    // The library writes the whole 128-bin chunk the store grew to: 8 bytes per bin.
    expect(ours.length * 3).toBeLessThan(Buffer.from(few.toProto()).length);
    expect(figures(DDSketch.fromProto(ours))).toEqual(figures(DDSketch.fromProto(few.toProto())));
    expect(figures(DDSketch.fromProto(encodeSketch(newSketch())))).toEqual(figures(newSketch()));
  });

  it('merge into empty and filled sketches exactly as the library decodes them', () => {
    for (let i = 0; i < 300; i++) {
      const stored = encodeSketch(randomSketch());
      const base = i % 2 ? randomSketch() : newSketch();
      const viaLibrary = newSketch();
      viaLibrary.merge(base);
      viaLibrary.merge(DDSketch.fromProto(stored));
      const viaCodec = newSketch();
      viaCodec.merge(base);
      mergeStored(viaCodec, stored);
      expect(figures(viaCodec)).toEqual(figures(viaLibrary));
    }
  });

  it('falls back to the library for a sketch of another accuracy', () => {
    const other = new DDSketch({ relativeAccuracy: 0.05 });
    for (let i = 1; i < 100; i++) other.accept(i);
    expect(encodeSketch(other).equals(Buffer.from(other.toProto()))).toBe(true);
    const into = new DDSketch({ relativeAccuracy: 0.05 });
    mergeStored(into, encodeSketch(other));
    expect(into.count).toBe(99);
    expect(into.getValueAtQuantile(0.5)).toBeCloseTo(other.getValueAtQuantile(0.5), 9);
  });
});
