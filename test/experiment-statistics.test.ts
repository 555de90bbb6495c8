import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { analyseExperiment, armStatistics, sampleRatioMismatch, twoProportionZTest, welchTTest, type ArmSummary } from '../src/experiments/statistics.js';

/**
 * The statistics against SciPy, run here and now (Debian's python3-scipy): Welch's t-test is
 * scipy.stats.ttest_ind(equal_var=False) on the raw values and ttest_ind_from_stats(equal_var=False)
 * on summaries of up to 10⁷ runs per arm, Student's quantile is stats.t.ppf, SRM is scipy.stats.chisquare, the
 * two-proportion z-test and the delta-method interval are written out in Python on the raw data.
 */
// Debian's interpreter first (where .ci/run installs python3-scipy), then whatever python3 is on PATH.
const PYTHON = ['/usr/bin/python3', 'python3'].find((python) => spawnSync(python, ['-c', 'import scipy, numpy'], { stdio: 'ignore' }).status === 0);
const hasScipy = PYTHON !== undefined;
if (!hasScipy && process.env.CI) throw new Error('CI needs python3-scipy for the statistics reference (see .ci/run)');

const REFERENCE = String.raw`
import json, sys, math
import numpy as np
from scipy import stats
cases = json.load(sys.stdin)
out = []
for case in cases:
    kind = case["kind"]
    if kind == "welch":
        a, b = np.array(case["a"], float), np.array(case["b"], float)
        r = stats.ttest_ind(b, a, equal_var=False)
        va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
        df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
        ma, mb = a.mean(), b.mean()
        lift = mb / ma - 1
        se = math.sqrt(vb / ma ** 2 + mb ** 2 * va / ma ** 4)
        z = stats.norm.ppf(0.975)
        out.append({"t": float(r.statistic), "p": float(r.pvalue), "df": df, "lift": lift, "lo": lift - z * se, "hi": lift + z * se})
    elif kind == "ztest":
        a, b = np.array(case["a"], float), np.array(case["b"], float)
        pa, pb = a.mean(), b.mean()
        pooled = (a.sum() + b.sum()) / (len(a) + len(b))
        zs = (pb - pa) / math.sqrt(pooled * (1 - pooled) * (1 / len(a) + 1 / len(b)))
        lift = pb / pa - 1
        se = math.sqrt(pb * (1 - pb) / len(b) / pa ** 2 + pb ** 2 * pa * (1 - pa) / len(a) / pa ** 4)
        z = stats.norm.ppf(0.975)
        out.append({"z": zs, "p": float(2 * stats.norm.sf(abs(zs))), "lift": lift, "lo": lift - z * se, "hi": lift + z * se})
    elif kind == "chisquare":
        obs = np.array(case["observed"], float)
        w = np.array(case["weights"], float)
        r = stats.chisquare(obs, f_exp=obs.sum() * w / w.sum())
        out.append({"chi2": float(r.statistic), "p": float(r.pvalue)})
    elif kind == "welch_stats":
        a, b = case["a"], case["b"]
        r = stats.ttest_ind_from_stats(b["mean"], b["sd"], b["n"], a["mean"], a["sd"], a["n"], equal_var=False)
        va, vb = a["sd"] ** 2 / a["n"], b["sd"] ** 2 / b["n"]
        df = (va + vb) ** 2 / (va ** 2 / (a["n"] - 1) + vb ** 2 / (b["n"] - 1))
        out.append({"t": float(r.statistic), "p": float(r.pvalue), "df": df})
    elif kind == "t_quantile":
        out.append({"q": float(stats.t.ppf(0.975, case["df"]))})
json.dump(out, sys.stdout)
`;

function scipy<T>(cases: unknown[]): T[] {
  return JSON.parse(execFileSync(PYTHON!, ['-c', REFERENCE], { input: JSON.stringify(cases), encoding: 'utf8', timeout: 60_000 })) as T[];
}

// Deterministic samples: a fixed LCG, normal values by Box–Muller.
function generator(seed: number) {
  let state = seed >>> 0;
  const uniform = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  const normal = (mean: number, sd: number) => mean + sd * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, normal };
}

const summaryOf = (values: number[], successes = 0, units = values.length): ArmSummary => ({
  units,
  runs: values.length,
  successes,
  valueCount: values.length,
  sum: values.reduce((s, v) => s + v, 0),
  sumSquares: values.reduce((s, v) => s + v * v, 0),
});

const moments = (values: number[]) => {
  const s = summaryOf(values);
  const mean = s.sum / s.runs;
  return { n: s.runs, mean, variance: (s.sumSquares - (s.sum * s.sum) / s.runs) / (s.runs - 1) };
};

describe.skipIf(!hasScipy)('experiment statistics equal SciPy within 1e-6', () => {
  it("Welch's t-test, Welch–Satterthwaite df and the delta-method lift interval (DURATION)", () => {
    const cases = Array.from({ length: 12 }, (_, i) => {
      const g = generator(100 + i);
      const a = Array.from({ length: 20 + i * 37 }, () => g.normal(1_000, 150 + i * 20));
      const b = Array.from({ length: 15 + i * 53 }, () => g.normal(1_000 - i * 8, 90 + i * 35));
      return { kind: 'welch', a, b };
    });
    const reference = scipy<{ t: number; p: number; df: number; lift: number; lo: number; hi: number }>(cases);
    cases.forEach((c, i) => {
      const ours = welchTTest(moments(c.a), moments(c.b))!;
      const ref = reference[i]!;
      expect(Math.abs(ours.pValue - ref.p)).toBeLessThan(1e-6);
      expect(ours.t).toBeCloseTo(ref.t, 6);
      expect(ours.df).toBeCloseTo(ref.df, 6);
      const analysis = analyseExperiment(
        { metric: 'DURATION', weights: [0.5, 0.5], minimumSampleSize: 10, alpha: 0.05, armKeys: ['a', 'b'] },
        [summaryOf(c.a), summaryOf(c.b)],
      );
      expect(Math.abs(analysis.primary!.pValue! - ref.p)).toBeLessThan(1e-6);
      expect(analysis.primary!.relativeLift!).toBeCloseTo(ref.lift, 9);
      expect(analysis.primary!.liftCi95![0]).toBeCloseTo(ref.lo, 9);
      expect(analysis.primary!.liftCi95![1]).toBeCloseTo(ref.hi, 9);
    });
  });

  it("Welch's t-test from summary statistics at large n (10⁴ to 10⁷ runs per arm), small and moderate t", () => {
    // jStat's Student t CDF drifts at large df (off by 4e-6 at df = 1e5, above 1 from df = 1e6):
    // 600,000 runs per arm, means 1000 vs 1000.02, sd 120 gave p = 0.93503 where SciPy says 0.92726.
    const cases: Array<{ kind: string; a: { n: number; mean: number; sd: number }; b: { n: number; mean: number; sd: number } }> = [];
    for (const n of [1e4, 1e5, 6e5, 1e7]) {
      const se = 120 * Math.sqrt(2 / n);
      // t ≈ 0.09 (at 6e5), then t ≈ 0.5, 1.5, 2, 3 and 6 at every n, with equal and unequal arms.
      for (const [delta, sdB, nB] of [[0.02, 120, n], [0.5 * se, 120, n], [1.5 * se, 90, n / 2], [2 * se, 120, n], [3 * se, 150, 2 * n], [6 * se, 120, n]] as const) {
        cases.push({ kind: 'welch_stats', a: { n, mean: 1_000, sd: 120 }, b: { n: nB, mean: 1_000 + delta, sd: sdB } });
      }
    }
    const reference = scipy<{ t: number; p: number; df: number }>(cases);
    cases.forEach((c, i) => {
      const ours = welchTTest({ n: c.a.n, mean: c.a.mean, variance: c.a.sd ** 2 }, { n: c.b.n, mean: c.b.mean, variance: c.b.sd ** 2 })!;
      const ref = reference[i]!;
      const label = JSON.stringify({ ...c, ref });
      expect(Math.abs(ours.pValue - ref.p), label).toBeLessThan(1e-6);
      expect(ours.pValue, label).toBeLessThanOrEqual(1);
      expect(Math.abs(ours.t - ref.t) / Math.abs(ref.t), label).toBeLessThan(1e-9);
      expect(Math.abs(ours.df - ref.df) / ref.df, label).toBeLessThan(1e-12);
    });
    // The case the audit found.
    const found = cases.findIndex((c) => c.a.n === 6e5 && c.b.mean === 1_000.02);
    expect(reference[found]!.p).toBeCloseTo(0.92726, 5);
  });

  it("an arm's 95 % interval uses Student's t quantile, right at large df too", () => {
    const dfs = [1, 2, 5, 30, 1e3, 1e4, 1e5, 6e5, 1e6, 5e6, 1e7 - 1, 2e7, 1e8];
    const reference = scipy<{ q: number }>(dfs.map((df) => ({ kind: 't_quantile', df })));
    dfs.forEach((df, i) => {
      const n = df + 1;
      const mean = 1_000;
      const variance = 14_400;
      // Sums that give exactly this mean and (n − 1) variance.
      const summary: ArmSummary = { units: n, runs: n, successes: n, valueCount: n, sum: n * mean, sumSquares: (n - 1) * variance + n * mean * mean };
      const { ci95, mean: m, variance: v } = armStatistics('DURATION', summary);
      const se = Math.sqrt(v! / n);
      const quantile = (ci95![1] - m!) / se;
      expect(Math.abs(quantile - reference[i]!.q), `df ${df}`).toBeLessThan(1e-6);
      expect((m! - ci95![0]) / se).toBeCloseTo(quantile, 9);
    });
  });

  it('two-proportion z-test and lift interval (SUCCESS_RATE)', () => {
    const cases = Array.from({ length: 12 }, (_, i) => {
      const g = generator(900 + i);
      const a = Array.from({ length: 50 + i * 90 }, () => (g.uniform() < 0.8 ? 1 : 0));
      const b = Array.from({ length: 60 + i * 70 }, () => (g.uniform() < 0.8 + i * 0.01 ? 1 : 0));
      return { kind: 'ztest', a, b };
    });
    const reference = scipy<{ z: number; p: number; lift: number; lo: number; hi: number }>(cases);
    cases.forEach((c, i) => {
      const sa = summaryOf(c.a, c.a.filter(Boolean).length);
      const sb = summaryOf(c.b, c.b.filter(Boolean).length);
      const ours = twoProportionZTest(sa, sb)!;
      const ref = reference[i]!;
      expect(Math.abs(ours.pValue - ref.p)).toBeLessThan(1e-6);
      expect(ours.z).toBeCloseTo(ref.z, 9);
      const analysis = analyseExperiment({ metric: 'SUCCESS_RATE', weights: [0.5, 0.5], minimumSampleSize: 10, alpha: 0.05, armKeys: ['a', 'b'] }, [sa, sb]);
      expect(Math.abs(analysis.primary!.pValue! - ref.p)).toBeLessThan(1e-6);
      expect(analysis.primary!.liftCi95![0]).toBeCloseTo(ref.lo, 9);
      expect(analysis.primary!.liftCi95![1]).toBeCloseTo(ref.hi, 9);
    });
  });

  it('sample-ratio chi-square against the configured weights', () => {
    const cases = [
      { kind: 'chisquare', observed: [500, 500], weights: [0.5, 0.5] },
      { kind: 'chisquare', observed: [530, 470], weights: [0.5, 0.5] },
      { kind: 'chisquare', observed: [600, 400], weights: [0.5, 0.5] },
      { kind: 'chisquare', observed: [310, 180, 520], weights: [0.3, 0.2, 0.5] },
      { kind: 'chisquare', observed: [12, 30], weights: [0.5, 0.5] },
      { kind: 'chisquare', observed: [1000, 1100, 950, 980], weights: [0.25, 0.25, 0.25, 0.25] },
    ];
    const reference = scipy<{ chi2: number; p: number }>(cases);
    cases.forEach((c, i) => {
      const ours = sampleRatioMismatch(c.observed, c.weights);
      expect(Math.abs(ours.pValue! - reference[i]!.p)).toBeLessThan(1e-6);
      expect(ours.chiSquare!).toBeCloseTo(reference[i]!.chi2, 9);
      expect(ours.alarm).toBe(reference[i]!.p < 0.001);
    });
  });
});

describe('the verdict', () => {
  const plan = { metric: 'DURATION' as const, weights: [0.5, 0.5], minimumSampleSize: 150, alpha: 0.05, armKeys: ['control', 'fast'] };
  const arm = (mean: number, n: number, seed: number, units = n) => {
    const g = generator(seed);
    return summaryOf(Array.from({ length: n }, () => g.normal(mean, 100)), 0, units);
  };

  it('a real effect with enough runs is significant and names the better (faster) arm', () => {
    const result = analyseExperiment(plan, [arm(1_000, 400, 1), arm(900, 400, 2)]);
    expect(result.significant).toBe(true);
    expect(result.winnerIndex).toBe(1);
    expect(result.recommendation).toMatch(/Conclude with fast/);
  });

  it('below minimumSampleSize nothing is significant, however small p is', () => {
    const result = analyseExperiment(plan, [arm(1_000, 100, 1, 250), arm(500, 400, 2, 250)]);
    expect(result.primary!.pValue!).toBeLessThan(1e-10);
    expect(result.significant).toBe(false);
    expect(result.winnerIndex).toBeNull();
    expect(result.recommendation).toMatch(/arm control has 100 of 150 runs/);
  });

  it('a skewed split raises the SRM alarm and no winner is recommended', () => {
    const result = analyseExperiment(plan, [arm(1_000, 400, 1, 300), arm(900, 400, 2, 400)]);
    expect(result.srm.alarm).toBe(true);
    expect(result.significant).toBe(true);
    expect(result.winnerIndex).toBeNull();
    expect(result.recommendation).toMatch(/Sample ratio mismatch/);
  });

  it('no alarm with fewer than 8 units in an arm, however skewed', () => {
    expect(sampleRatioMismatch([7, 400], [0.5, 0.5]).alarm).toBe(false);
    expect(sampleRatioMismatch([8, 400], [0.5, 0.5]).alarm).toBe(true);
  });

  it('a p-value too small to print says so, never "p = 0.00"', () => {
    // z ≈ 20: the two-sided normal tail underflows to 0 (jStat computes it as 1 − Φ, exact to ~1e-16 only).
    const runs = (n: number, rate: number): ArmSummary => ({ units: n, runs: n, successes: Math.round(n * rate), valueCount: n, sum: Math.round(n * rate), sumSquares: Math.round(n * rate) });
    const winner = analyseExperiment({ ...plan, metric: 'SUCCESS_RATE' }, [runs(1_000, 0.5), runs(1_000, 0.9)]);
    expect(winner.primary!.pValue!).toBeLessThan(1e-12);
    expect(winner.recommendation).toBe('Conclude with fast: p < 1e-12 < 0.0500.');
    const moderate = analyseExperiment(plan, [arm(1_000, 400, 1), arm(970, 400, 2)]);
    expect(moderate.primary!.pValue!).toBeGreaterThan(1e-12);
    expect(moderate.recommendation).toBe(`Conclude with fast: p = ${moderate.primary!.pValue!.toPrecision(3)} < 0.0500.`);
    // A chi-square far in the tail: 1 − CDF is 0 in floating point.
    const skewed = analyseExperiment(plan, [arm(1_000, 400, 1, 100), arm(900, 400, 2, 900)]);
    expect(skewed.srm.pValue!).toBeLessThan(1e-12);
    expect(skewed.recommendation).toMatch(/^Sample ratio mismatch \(chi-square p < 1e-12 < 0\.001\)/);
    const mild = analyseExperiment(plan, [arm(1_000, 400, 1, 300), arm(900, 400, 2, 400)]);
    expect(mild.recommendation).toMatch(/^Sample ratio mismatch \(chi-square p = 1\.57e-4 < 0\.001\)/);
  });

  it('higher is better for SUCCESS_RATE: a worse challenger makes the control the winner', () => {
    const runs = (n: number, rate: number): ArmSummary => ({ units: n, runs: n, successes: Math.round(n * rate), valueCount: n, sum: Math.round(n * rate), sumSquares: Math.round(n * rate) });
    const result = analyseExperiment({ ...plan, metric: 'SUCCESS_RATE' }, [runs(1_000, 0.9), runs(1_000, 0.8)]);
    expect(result.significant).toBe(true);
    expect(result.winnerIndex).toBe(0);
  });
});
