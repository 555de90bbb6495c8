import { describe, expect, it } from 'vitest';
import { assign } from '../src/experiments/assignment.js';
import type { ExperimentDefinition } from '../src/experiments/definition.js';
import { compileSnapshot, experimentDecision } from '../src/experiments/experimentCatalog.js';
import { summarise, type UnitRuns } from '../src/experiments/observations.js';

/** The pure parts selection and results rely on: the decision for a unit, and per-arm summaries. */
const experiment = (key: string, extra: Partial<ExperimentDefinition> = {}): ExperimentDefinition => ({
  id: key, key, description: '', capability: 'text_search', platform: 'linux', metric: 'DURATION', coverage: 1, minimumSampleSize: 10,
  alpha: 0.05, seed: key, status: 'RUNNING', winner: null, startedAt: new Date(0), stoppedAt: null, concludedAt: null, createdAt: new Date(0),
  createdBy: 'test', decisionKey: `secret-of-${key}`,
  arms: [
    { key: 'a', toolName: 'grep', toolPlatform: 'linux', toolVersion: null, pattern: null, weight: 0.5 },
    { key: 'b', toolName: 'rg', toolPlatform: 'linux', toolVersion: '14.0', pattern: 'fast', weight: 0.5 },
  ],
  ...extra,
});

describe('experimentDecision', () => {
  const snapshot = compileSnapshot([experiment('search'), experiment('draft', { status: 'DRAFT', capability: 'dns_lookup' })], 1);

  it('gives a unit in the running experiment its arm’s tool and pattern', () => {
    for (const unitId of ['u1', 'u2', 'u3', 'u4', 'u5']) {
      const { armIndex, bucket } = assign({ seed: 'search', coverage: 1, weights: [0.5, 0.5] }, unitId);
      const decision = experimentDecision(snapshot, { capability: 'TEXT_SEARCH', platform: 'Linux', unitId });
      expect(decision).toEqual({
        status: 'ASSIGNED',
        arm: armIndex === 0
          ? { experimentKey: 'search', armKey: 'a', armIndex: 0, bucket, tool: { name: 'grep', platform: 'linux', version: null }, pattern: null, pinnedTool: null }
          : { experimentKey: 'search', armKey: 'b', armIndex: 1, bucket, tool: { name: 'rg', platform: 'linux', version: '14.0' }, pattern: 'fast', pinnedTool: null },
      });
    }
  });

  it('says why a unit is not in it, and when there is none', () => {
    const partial = compileSnapshot([experiment('tiny', { coverage: 0.01 })], 1);
    const outside = experimentDecision(partial, { capability: 'text_search', platform: 'linux', unitId: 'u1' });
    expect(outside).toMatchObject({ status: 'NOT_IN_EXPERIMENT', experimentKey: 'tiny', reason: expect.stringMatching(/outside the 1 % of units/) });
    expect(experimentDecision(snapshot, { capability: 'dns_lookup', platform: 'linux', unitId: 'u1' })).toEqual({ status: 'NO_EXPERIMENT' });
    expect(experimentDecision(snapshot, { capability: 'text_search', platform: 'windows', unitId: 'u1' })).toEqual({ status: 'NO_EXPERIMENT' });
  });

  it('without a platform, uses the capability’s one running experiment, or says it is ambiguous', () => {
    expect(experimentDecision(snapshot, { capability: 'text_search', unitId: 'u1' }).status).toBe('ASSIGNED');
    const two = compileSnapshot([experiment('l'), experiment('w', { platform: 'windows' })], 1);
    expect(experimentDecision(two, { capability: 'text_search', unitId: 'u1' })).toMatchObject({ status: 'AMBIGUOUS_PLATFORM', experimentKeys: ['l', 'w'] });
  });
});

describe('summarise', () => {
  const def = experiment('search');
  const armOf = (unit: string) => assign({ seed: 'search', coverage: 1, weights: [0.5, 0.5] }, unit).armIndex!;
  const row = (unitId: string, toolName: string, extra: Partial<UnitRuns> = {}): UnitRuns => ({
    unitId, toolName, toolPlatform: 'linux', toolVersion: toolName === 'rg' ? '14.0' : '2.0', pattern: toolName === 'rg' ? 'fast' : 'plain',
    runs: 2, successes: 1, durationCount: 2, durationSum: 300, durationSquares: 50_000, costCount: 1, costSum: 2, costSquares: 4, ...extra,
  });
  const units = Array.from({ length: 40 }, (_, i) => `unit-${i}`);
  const inA = units.filter((u) => armOf(u) === 0);
  const inB = units.filter((u) => armOf(u) === 1);

  it('sums matching runs per arm and counts units once', () => {
    const rows = [...inA.map((u) => row(u, 'grep')), ...inA.slice(0, 3).map((u) => row(u, 'grep', { pattern: 'other' })), ...inB.map((u) => row(u, 'rg'))];
    const observed = summarise(def, rows);
    // Arm a pins no pattern: every grep run of its units counts, units once each.
    expect(observed.arms[0]).toEqual({ units: inA.length, runs: 2 * (inA.length + 3), successes: inA.length + 3, valueCount: 2 * (inA.length + 3), sum: 300 * (inA.length + 3), sumSquares: 50_000 * (inA.length + 3) });
    expect(observed.arms[1]!.units).toBe(inB.length);
    expect(observed.mismatchedRuns).toEqual([0, 0]);
  });

  it('a run whose tool, version or pattern is not its unit’s arm is a mismatch', () => {
    const observed = summarise(def, [
      row(inA[0]!, 'rg'),
      row(inB[0]!, 'grep'),
      row(inB[1]!, 'rg', { toolVersion: '13.0' }),
      row(inB[2]!, 'rg', { pattern: 'slow' }),
      row(inB[3]!, 'rg'),
    ]);
    expect(observed.mismatchedRuns).toEqual([2, 6]);
    expect(observed.arms.map((a) => a.runs)).toEqual([0, 2]);
  });

  it('COST uses only runs reported with a cost; SUCCESS_RATE counts successes', () => {
    expect(summarise({ ...def, metric: 'COST' }, [row(inA[0]!, 'grep')]).arms[0]).toMatchObject({ runs: 2, valueCount: 1, sum: 2, sumSquares: 4 });
    expect(summarise({ ...def, metric: 'SUCCESS_RATE' }, [row(inA[0]!, 'grep')]).arms[0]).toMatchObject({ runs: 2, valueCount: 2, sum: 1, sumSquares: 1 });
  });

  it('runs of units outside the coverage are counted apart', () => {
    const narrow = { ...def, coverage: 0.2 };
    const outside = units.filter((u) => assign({ seed: 'search', coverage: 0.2, weights: [0.5, 0.5] }, u).armIndex === null);
    expect(outside.length).toBeGreaterThan(10);
    const observed = summarise(narrow, outside.map((u) => row(u, 'grep')));
    expect(observed.outsideRuns).toBe(2 * outside.length);
    expect(observed.arms.map((a) => a.runs)).toEqual([0, 0]);
  });
});
