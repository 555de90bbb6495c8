import { describe, expect, it } from 'vitest';
import { armIndexFor, armRanges, assign, bucketOf, fnv1a32 } from '../src/experiments/assignment.js';

// Published values from GrowthBook's SDK test cases (hash version 2, seed = experiment key unless given).
const GROWTHBOOK_V2 = [
  ['feature', '123', 0.5231],
  ['feature-exp', 'd123', 0.6468],
  ['feature-exp', 'i123', 0.9943],
  ['experiment', '1', 0.4413],
  ['holdout', '1', 0.8043],
] as const;

describe('assignment (GrowthBook hash v2)', () => {
  it('FNV-1a 32 matches the reference offsets', () => {
    // Reference values of FNV-1a 32 (the algorithm's published test vectors).
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it.each(GROWTHBOOK_V2)('seed %s, unit %s -> %s', (seed, unit, bucket) => {
    expect(bucketOf(seed, unit)).toBe(bucket);
  });

  it('ranges and arms follow GrowthBook: three arms, weights 0.3334/0.3333/0.3333', () => {
    const plan = { seed: 'feature-exp', coverage: 1, weights: [0.3334, 0.3333, 0.3333] };
    expect(assign(plan, 'd123')).toEqual({ bucket: 0.6468, armIndex: 1 });
    expect(assign(plan, 'i123')).toEqual({ bucket: 0.9943, armIndex: 2 });
  });

  it('ranges are half-open and an empty range takes nobody (GrowthBook chooseVariation cases)', () => {
    const even: [number, number][] = [[0, 0.5], [0.5, 1]];
    expect([0, 0.2, 0.4, 0.5, 0.6, 0.8].map((b) => armIndexFor(b, even))).toEqual([0, 0, 0, 1, 1, 1]);
    const reduced: [number, number][] = [[0, 0.25], [0.5, 0.75]];
    expect([0.2, 0.25, 0.4, 0.5, 0.6, 0.8].map((b) => armIndexFor(b, reduced))).toEqual([0, -1, -1, 1, 1, -1]);
    expect(armIndexFor(0.5, [[0, 0.5], [0.5, 0.5], [0.5, 1]])).toBe(2);
    expect(armRanges([0.5, 0.5], 0.4)).toEqual([[0, 0.2], [0.5, 0.7]]);
  });

  it('seed with weights and coverage 0.99 (GrowthBook "Uses seed with weights/coverage")', () => {
    expect(assign({ seed: 'foo', coverage: 0.99, weights: [0.5, 0.5] }, '1').armIndex).toBe(1);
  });

  it('changing coverage never moves a unit from one arm to another', () => {
    // Deterministic pseudo-random plans and units (a fixed LCG), many coverage pairs each.
    let state = 12345;
    const random = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let plan = 0; plan < 50; plan++) {
      const arms = 2 + Math.floor(random() * 3);
      const raw = Array.from({ length: arms }, () => 0.1 + random());
      const weights = raw.map((w) => w / raw.reduce((a, b) => a + b, 0));
      const seed = `seed-${plan}`;
      const coverages = [0, 0.05, 0.3, 0.5, 0.77, 1, random(), random()];
      for (let u = 0; u < 200; u++) {
        const unit = `unit-${Math.floor(random() * 1e9)}`;
        const arms = coverages.map((coverage) => assign({ seed, coverage, weights }, unit).armIndex);
        const inSome = arms.filter((a): a is number => a !== null);
        // Every coverage that includes the unit puts it in the same arm...
        expect(new Set(inSome).size).toBeLessThanOrEqual(1);
        // ...and a larger coverage never drops a unit a smaller one included.
        const sorted = coverages.map((c, i) => [c, arms[i]] as const).sort((a, b) => a[0] - b[0]);
        const firstIn = sorted.findIndex(([, arm]) => arm !== null);
        if (firstIn >= 0) expect(sorted.slice(firstIn).every(([, arm]) => arm !== null)).toBe(true);
      }
    }
  });

  it('splits units in proportion to weight × coverage', () => {
    const counts = [0, 0, 0];
    let outside = 0;
    for (let u = 0; u < 20_000; u++) {
      const { armIndex } = assign({ seed: 'split', coverage: 0.5, weights: [0.5, 0.3, 0.2] }, `u${u}`);
      if (armIndex === null) outside++;
      else counts[armIndex]!++;
    }
    expect(outside / 20_000).toBeCloseTo(0.5, 1);
    expect(counts.map((c) => c / 20_000)).toEqual([expect.closeTo(0.25, 1), expect.closeTo(0.15, 1), expect.closeTo(0.1, 1)]);
  });
});
