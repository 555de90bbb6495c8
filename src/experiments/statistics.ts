import jStatModule from 'jstat';

/**
 * Experiment statistics from per-arm summaries. Distributions come from jStat; everything here is
 * the textbook formula on top, compared with SciPy in test/experiment-statistics.test.ts.
 */
const jStat = jStatModule.jStat ?? jStatModule;

export type ExperimentMetricKind = 'SUCCESS_RATE' | 'DURATION' | 'COST';

/**
 * What the statistics need of one arm. `runs` are the observations; `sum`/`sumSquares` are over
 * the metric's values (success as 0/1, duration in ms, or cost); `valueCount` is how many runs had
 * a value (a run reported without a cost has no COST value).
 */
export interface ArmSummary {
  units: number;
  runs: number;
  successes: number;
  valueCount: number;
  sum: number;
  sumSquares: number;
}

export const emptySummary = (): ArmSummary => ({ units: 0, runs: 0, successes: 0, valueCount: 0, sum: 0, sumSquares: 0 });

export interface ArmStatistics {
  units: number;
  runs: number;
  successRate: number | null;
  /** Mean of the metric (the success rate for SUCCESS_RATE). */
  mean: number | null;
  /** Sample variance (n − 1) of the metric's values; p(1 − p) for SUCCESS_RATE. */
  variance: number | null;
  /** 95 % confidence interval of the mean (normal approximation for rates, Student's t otherwise). */
  ci95: [number, number] | null;
}

export interface Comparison {
  /** Arm compared with the control (the first arm). */
  armIndex: number;
  /** Relative lift of the arm's mean over the control's: mean_arm / mean_control − 1. */
  relativeLift: number | null;
  /** 95 % confidence interval of the relative lift, by the delta method. */
  liftCi95: [number, number] | null;
  /** z (SUCCESS_RATE) or Welch's t statistic. */
  statistic: number | null;
  /** Welch–Satterthwaite degrees of freedom (DURATION, COST). */
  degreesOfFreedom: number | null;
  pValue: number | null;
}

export interface SampleRatio {
  chiSquare: number | null;
  pValue: number | null;
  alarm: boolean;
}

export interface ExperimentAnalysis {
  arms: ArmStatistics[];
  /** Each arm after the first, compared with the first. */
  comparisons: Comparison[];
  /** The comparison the verdict rests on: the best-performing challenger's. */
  primary: Comparison | null;
  srm: SampleRatio;
  significant: boolean;
  /** Index of the recommended winner, when there is one. */
  winnerIndex: number | null;
  recommendation: string;
}

export interface AnalysisPlan {
  metric: ExperimentMetricKind;
  weights: readonly number[];
  minimumSampleSize: number;
  alpha: number;
  armKeys: readonly string[];
}

/** SRM alarm threshold, and the fewest units per arm before the test is trusted to alarm. */
export const SRM_ALPHA = 0.001;
export const SRM_MIN_UNITS_PER_ARM = 8;

const Z_975 = jStat.normal.inv(0.975, 0, 1);
const clampProbability = (p: number) => Math.min(1, Math.max(0, p));
const twoSidedNormal = (z: number) => clampProbability(2 * jStat.normal.cdf(-Math.abs(z), 0, 1));

/** Past this many degrees of freedom Student's t is the normal to within 1e-7 on a two-sided p. */
const T_AS_NORMAL_ABOVE_DF = 1e7;

/**
 * Two-sided p-value of Student's t: P(|T| > |t|) = I_{df/(df+t²)}(df/2, 1/2), the regularized
 * incomplete beta (jStat.ibeta). Not jStat.studentt.cdf: its argument, (t + √(t²+df)) / 2√(t²+df),
 * is 1/2 plus a sliver at large df, and I_x(df/2, df/2) there loses digits (off by 4e-6 at
 * df = 1e5, above 1 from df = 1e6). Compared with SciPy, ibeta stays within 1e-8 up to df = 1e7;
 * past it the normal tail is used (the two differ by less than 1e-7 there, while ibeta's own
 * error grows: 1e-7 at df = 2e7, 5e-5 at 1e10).
 */
function twoSidedT(t: number, df: number): number {
  if (df > T_AS_NORMAL_ABOVE_DF) return twoSidedNormal(t);
  return clampProbability(jStat.ibeta(df / (df + t * t), df / 2, 0.5));
}
const finiteOrNull = (value: number) => (Number.isFinite(value) ? value : null);

/** Sample count and moments of an arm's metric. */
function moments(metric: ExperimentMetricKind, arm: ArmSummary): { n: number; mean: number; variance: number } | null {
  if (metric === 'SUCCESS_RATE') {
    if (!arm.runs) return null;
    const p = arm.successes / arm.runs;
    return { n: arm.runs, mean: p, variance: p * (1 - p) };
  }
  const n = arm.valueCount;
  if (!n) return null;
  const mean = arm.sum / n;
  // Two-pass-equivalent form; with n < 2 the sample variance is undefined.
  const variance = n < 2 ? NaN : Math.max(0, (arm.sumSquares - (arm.sum * arm.sum) / n) / (n - 1));
  return { n, mean, variance };
}

export function armStatistics(metric: ExperimentMetricKind, arm: ArmSummary): ArmStatistics {
  const m = moments(metric, arm);
  const successRate = arm.runs ? arm.successes / arm.runs : null;
  if (!m) return { units: arm.units, runs: arm.runs, successRate, mean: null, variance: null, ci95: null };
  let ci95: [number, number] | null = null;
  if (Number.isFinite(m.variance) && m.n >= 2) {
    const se = Math.sqrt(m.variance / m.n);
    const q = metric === 'SUCCESS_RATE' ? Z_975 : studentQuantile975(m.n - 1);
    ci95 = [m.mean - q * se, m.mean + q * se];
  }
  return { units: arm.units, runs: arm.runs, successRate, mean: m.mean, variance: finiteOrNull(m.variance), ci95 };
}

/**
 * 97.5 % quantile of Student's t: where the two-sided p of `twoSidedT` falls to 0.05, by bisection
 * (jStat's own inverse is less precise). The same tail as the tests, normal past 1e7 df.
 */
function studentQuantile975(df: number): number {
  let low = 0;
  let high = 1_000;
  for (let i = 0; i < 100; i++) {
    const mid = (low + high) / 2;
    if (twoSidedT(mid, df) > 0.05) low = mid;
    else high = mid;
  }
  return (low + high) / 2;
}

/** Two-proportion z-test with the pooled proportion; two-sided p-value. */
export function twoProportionZTest(control: { runs: number; successes: number }, treatment: { runs: number; successes: number }) {
  const pooled = (control.successes + treatment.successes) / (control.runs + treatment.runs);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / control.runs + 1 / treatment.runs));
  const z = (treatment.successes / treatment.runs - control.successes / control.runs) / se;
  return Number.isFinite(z) ? { z, pValue: twoSidedNormal(z) } : null;
}

/** Welch's t-test from means, sample variances and counts; Welch–Satterthwaite degrees of freedom. */
export function welchTTest(control: { n: number; mean: number; variance: number }, treatment: { n: number; mean: number; variance: number }) {
  const a = control.variance / control.n;
  const b = treatment.variance / treatment.n;
  const t = (treatment.mean - control.mean) / Math.sqrt(a + b);
  const df = (a + b) ** 2 / (a ** 2 / (control.n - 1) + b ** 2 / (treatment.n - 1));
  return Number.isFinite(t) && Number.isFinite(df) ? { t, df, pValue: twoSidedT(t, df) } : null;
}

/**
 * Relative lift mean_t / mean_c − 1 and its 95 % interval by the delta method:
 * Var(m_t / m_c) ≈ Var(m_t)/m_c² + m_t² Var(m_c)/m_c⁴, with Var(m) = s²/n.
 */
export function relativeLift(control: { n: number; mean: number; variance: number }, treatment: { n: number; mean: number; variance: number }) {
  if (control.mean === 0) return null;
  const lift = treatment.mean / control.mean - 1;
  const varianceOfRatio =
    treatment.variance / treatment.n / control.mean ** 2 + (treatment.mean ** 2 * (control.variance / control.n)) / control.mean ** 4;
  const half = Z_975 * Math.sqrt(varianceOfRatio);
  return { lift, ci95: Number.isFinite(half) ? ([lift - half, lift + half] as [number, number]) : null };
}

/** Pearson's chi-square of observed units per arm against the configured weights. */
export function sampleRatioMismatch(units: readonly number[], weights: readonly number[]): SampleRatio {
  const total = units.reduce((sum, n) => sum + n, 0);
  const weightSum = weights.reduce((sum, w) => sum + w, 0);
  if (!total || units.length < 2) return { chiSquare: null, pValue: null, alarm: false };
  const chiSquare = units.reduce((sum, observed, i) => {
    const expected = (total * weights[i]!) / weightSum;
    return sum + (observed - expected) ** 2 / expected;
  }, 0);
  // The upper tail as 1 − CDF: exact to ~1e-16 absolute, which the SRM threshold (0.001) needs; see formatP.
  const pValue = clampProbability(1 - jStat.chisquare.cdf(chiSquare, units.length - 1));
  const alarm = pValue < SRM_ALPHA && units.every((n) => n >= SRM_MIN_UNITS_PER_ARM);
  return { chiSquare, pValue, alarm };
}

/**
 * Below this a p-value is printed as "p < 1e-12". The z-test's and chi-square's tails come from
 * jStat as 1 − CDF, exact to about 1e-16 absolute: a smaller p is 0 or noise in its leading digits
 * (z = 8 gives 1.22e-15 for 1.24e-15). The numbers themselves are returned as computed.
 */
const P_PRINT_FLOOR = 1e-12;
function formatP(p: number | null | undefined, digits: (p: number) => string = (x) => x.toPrecision(3)): string {
  if (p === null || p === undefined) return 'p = n/a';
  return p < P_PRINT_FLOOR ? `p < ${P_PRINT_FLOOR.toExponential()}` : `p = ${digits(p)}`;
}

const LOWER_IS_BETTER: Record<ExperimentMetricKind, boolean> = { SUCCESS_RATE: false, DURATION: true, COST: true };

function compare(metric: ExperimentMetricKind, control: ArmSummary, treatment: ArmSummary, armIndex: number): Comparison {
  const empty: Comparison = { armIndex, relativeLift: null, liftCi95: null, statistic: null, degreesOfFreedom: null, pValue: null };
  const c = moments(metric, control);
  const t = moments(metric, treatment);
  if (!c || !t) return empty;
  const lift = relativeLift(c, t);
  const base = { ...empty, relativeLift: lift?.lift ?? null, liftCi95: lift?.ci95 ?? null };
  if (metric === 'SUCCESS_RATE') {
    const test = twoProportionZTest(control, treatment);
    return test ? { ...base, statistic: test.z, pValue: test.pValue } : base;
  }
  if (c.n < 2 || t.n < 2) return base;
  const test = welchTTest(c, t);
  return test ? { ...base, statistic: test.t, degreesOfFreedom: test.df, pValue: test.pValue } : base;
}

/**
 * The verdict. Arm 0 is the control; every other arm is compared with it, at alpha / (arms − 1)
 * (Bonferroni) when there are several challengers. A result is significant only when every arm has
 * `minimumSampleSize` runs and the deciding p-value is below the (corrected) alpha; no winner is
 * recommended while the sample ratio alarms.
 */
export function analyseExperiment(plan: AnalysisPlan, summaries: readonly ArmSummary[]): ExperimentAnalysis {
  const arms = summaries.map((arm) => armStatistics(plan.metric, arm));
  const comparisons = summaries.slice(1).map((arm, i) => compare(plan.metric, summaries[0]!, arm, i + 1));
  const srm = sampleRatioMismatch(summaries.map((arm) => arm.units), plan.weights);
  const lowerIsBetter = LOWER_IS_BETTER[plan.metric];
  const better = (lift: number | null) => lift !== null && (lowerIsBetter ? lift < 0 : lift > 0);
  const correctedAlpha = plan.alpha / Math.max(1, comparisons.length);
  const enoughRuns = summaries.every((arm) => arm.runs >= plan.minimumSampleSize);
  const decisive = (c: Comparison) => c.pValue !== null && c.pValue < correctedAlpha;

  // The deciding comparison: the challenger that does best against the control.
  const ranked = [...comparisons].filter((c) => c.relativeLift !== null).sort((x, y) => (lowerIsBetter ? x.relativeLift! - y.relativeLift! : y.relativeLift! - x.relativeLift!));
  const primary = ranked[0] ?? comparisons[0] ?? null;
  const significant = enoughRuns && primary !== null && decisive(primary);

  let winnerIndex: number | null = null;
  if (significant && !srm.alarm && primary) {
    if (better(primary.relativeLift)) winnerIndex = primary.armIndex;
    // The best challenger is significantly worse: the control wins only if every challenger is.
    else if (comparisons.every((c) => decisive(c) && !better(c.relativeLift))) winnerIndex = 0;
  }

  const key = (index: number) => plan.armKeys[index] ?? String(index);
  const short = summaries.map((arm, i) => ({ i, runs: arm.runs })).filter((arm) => arm.runs < plan.minimumSampleSize);
  let recommendation: string;
  if (srm.alarm) {
    recommendation = `Sample ratio mismatch (chi-square ${formatP(srm.pValue, (p) => p.toExponential(2))} < ${SRM_ALPHA}): units do not follow the configured weights, so the results cannot be trusted; find the cause before deciding.`;
  } else if (short.length) {
    recommendation = `Keep running: ${short.map(({ i, runs }) => `arm ${key(i)} has ${runs} of ${plan.minimumSampleSize} runs`).join(', ')}.`;
  } else if (winnerIndex !== null) {
    recommendation = `Conclude with ${key(winnerIndex)}: ${formatP(primary!.pValue)} < ${correctedAlpha.toPrecision(3)}.`;
  } else if (significant) {
    recommendation = 'The arms differ significantly, but no arm is better than every other; keep running or conclude by judgement.';
  } else {
    recommendation = `No significant difference yet (${formatP(primary?.pValue)}, alpha ${correctedAlpha.toPrecision(3)}); keep running or conclude that the arms are equivalent.`;
  }
  return { arms, comparisons, primary, srm, significant, winnerIndex, recommendation };
}
