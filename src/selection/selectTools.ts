import { evaluateEstimate, type CompiledEstimate } from '../catalog/expressions.js';
import { identityKey, type CatalogSnapshot, type CompiledPattern, type MemoryTool, type MemoryToolRow } from '../memoryCatalog/snapshot.js';
import { capabilityPlan, compareIdentity, planPatterns, type PlannedPattern, type SelectionPlan } from './selectionPlan.js';

/**
 * The pipeline's decision: which pattern of which tool to use for a capability. The rule is written
 * out in the README ("Selecting tools") so that any client can reproduce a ranking; this file is
 * that rule, step by step, over one in-memory catalog snapshot (no SQL). What does not depend on the
 * request (identity order, fixed features, compiled estimates, fixed exclusions) is planned once per
 * revision and capability (selectionPlan.ts); a request evaluates estimates and compares numbers, and
 * only the candidates it returns get their features, contributions and sentence written out.
 */

export const PREFERENCE_MODES = ['FAST', 'ACCURATE', 'THOROUGH', 'CHEAP', 'SIMPLE', 'BALANCED'] as const;
export type PreferenceMode = (typeof PREFERENCE_MODES)[number];
export const FEATURES = ['time', 'cost', 'complexity', 'accuracy', 'completeness'] as const;
export type Feature = (typeof FEATURES)[number];
export type FeatureVector = Record<Feature, number>;

export const EXCLUSION_REASONS = [
  'WRONG_PLATFORM',
  'DISABLED',
  'DEPRECATED',
  'MISSING_VARIABLE',
  'EXPRESSION_ERROR',
  'POLICY_MAX_COST',
  'OVER_COST_LIMIT',
  'OVER_TIME_LIMIT',
  'NOT_PRODUCTION_SAFE',
  'REQUIRES_APPROVAL',
] as const;
export type ExclusionReason = (typeof EXCLUSION_REASONS)[number];
export type Environment = 'PRODUCTION' | 'NON_PRODUCTION';
export type ExecutionHint = 'IMMEDIATE' | 'BACKGROUND' | 'APPROVAL_REQUIRED';
export type SlaClass = 'INTERACTIVE' | 'BATCH' | 'BACKGROUND';

export interface SelectToolsRequest {
  capability: string;
  variables?: Readonly<Record<string, unknown>> | null;
  preference?: PreferenceMode | null;
  weights?: FeatureVector | null;
  platform?: string | null;
  environment?: Environment | null;
  maxTimeMs?: number | null;
  maxCost?: number | null;
  allowApproval?: boolean | null;
  includeDeprecated?: boolean | null;
  limit?: number | null;
  /** Use observed run figures (last 7 days) in place of the estimates for patterns with at least `minRuns` runs. */
  useObserved?: boolean | null;
  /** Runs a pattern needs before its observed figures replace its estimates (default 30). */
  minRuns?: number | null;
  /** The unit (request, session, tenant) the decision is for: consults the running experiment for the capability. */
  unitId?: string | null;
}

/** Time and cost of one pattern, as the expressions give them or as runs showed them. */
export interface Estimate {
  timeMs: number;
  cost: number;
}

/** Where the figures a candidate was judged on came from. */
export type EstimateSourceKind = 'ESTIMATE' | 'OBSERVED';

/** What runs of one pattern showed over the last 7 days (what selection reads from the telemetry view). */
export interface ObservedFigures {
  runs: number;
  /** Median duration, ms. */
  p50TimeMs: number;
  /** Mean reported cost; null when no run reported one. */
  meanCost: number | null;
}

/**
 * The figures a candidate was ranked and checked on (`timeMs`, `cost`, `source`), with the
 * expressions' figures beside them (null when they could not be evaluated but observed figures
 * stood in) and, when `useObserved` was asked for, what the runs showed (null without runs).
 */
export interface UsedEstimate extends Estimate {
  source: EstimateSourceKind;
  expression: Estimate | null;
  observed: ObservedFigures | null;
}

/** Observed figures of one pattern of one tool version, or undefined without runs (a map lookup, no SQL). */
export type ObservedLookup = (toolId: string, capability: string, pattern: string) => ObservedFigures | undefined;

/** The arm of a running experiment that a unit belongs to, as selection needs it. */
export interface ExperimentArm {
  experimentKey: string;
  armKey: string;
  bucket: number;
  /** The arm's tool; a null version means the latest. */
  tool: { name: string; platform: string; version: string | null };
  /** The arm's pattern; null means the tool's best-ranked pattern for the capability. */
  pattern: string | null;
  /**
   * The pinned version, compiled, when the arm pins one (the in-memory catalog holds only latest
   * versions). When it is not the catalog's latest, its patterns join this decision's candidates.
   */
  pinnedTool?: MemoryTool | null;
}

export type ExperimentOutcome = 'ASSIGNED' | 'EXCLUDED' | 'NOT_IN_EXPERIMENT' | 'AMBIGUOUS_PLATFORM';

/** What the running experiment made of this decision's unit. */
export interface SelectionExperiment {
  key: string | null;
  arm: string | null;
  bucket: number | null;
  outcome: ExperimentOutcome;
  reason: string;
}

/** What the experiments say about the request's unit, looked up before the rule runs. */
export type ExperimentInput =
  | { status: 'ASSIGNED'; arm: ExperimentArm }
  | { status: 'NOT_IN_EXPERIMENT'; experimentKey: string; bucket: number; reason: string }
  | { status: 'AMBIGUOUS_PLATFORM'; reason: string };

export interface SelectionCandidate {
  rank: number;
  tool: MemoryToolRow;
  capability: string;
  pattern: string;
  score: number;
  estimate: UsedEstimate;
  features: FeatureVector;
  contributions: FeatureVector;
  executionHint: ExecutionHint;
  slaClass: SlaClass;
  why: string;
  /** Set on the one candidate put first because the request's unit is in that experiment arm. */
  experiment: { key: string; arm: string } | null;
}

export interface ExcludedCandidate {
  tool: MemoryToolRow;
  capability: string;
  pattern: string;
  reason: ExclusionReason;
  detail: string;
  /** For MISSING_VARIABLE: the variables no one supplied, sorted. */
  missingVariables: readonly string[];
  /** For limit exclusions: the limit and the estimated value that exceeded it. */
  limit: number | null;
  value: number | null;
}

export interface ToolSelection {
  revision: bigint;
  stale: boolean;
  ambiguous: boolean;
  /** The mode used; null when the request gave its own weights. */
  preference: PreferenceMode | null;
  weights: FeatureVector;
  candidates: SelectionCandidate[];
  excluded: ExcludedCandidate[];
  /** What the running experiment did with the request's unit; null without a unitId or without a running experiment. */
  experiment: SelectionExperiment | null;
  /**
   * Set (by the service, which holds the experiments' secrets) when the experiment put the unit's arm
   * first: reported with the runs, it counts them for that arm even without a unitId.
   */
  decisionId: string | null;
}

/** A request that breaks the rules of the input (weights, limit, variables); names the field. */
export class SelectionInputError extends Error {
  override name = 'SelectionInputError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** Where candidates come from: by default every pattern of the capability in the snapshot. */
export type CandidateSource = (snapshot: CatalogSnapshot, capability: string) => readonly CompiledPattern[];

export interface SelectionHooks {
  candidates?: CandidateSource;
}

export const DEFAULT_LIMIT = 5;
export const DEFAULT_MIN_RUNS = 30;
export const MAX_LIMIT = 50;
/** Top two scores at most this far apart make the choice ambiguous. */
export const AMBIGUITY_MARGIN = 0.08;
const SCALE = 1e12;
const TIME_FLOOR_MS = 50;
const TIME_CEILING_MS = 60_000;
const COST_CEILING = 10;
const LOG_TIME_FLOOR = Math.log(TIME_FLOOR_MS);
const LOG_TIME_RANGE = Math.log(TIME_CEILING_MS) - Math.log(TIME_FLOOR_MS);
const BACKGROUND_ABOVE_MS = 5_000;

/** Weights of each mode: 0.2 each for BALANCED; otherwise 0.4 on the mode's feature and 0.15 on each other. */
export function modeWeights(mode: PreferenceMode): FeatureVector {
  if (mode === 'BALANCED') return { time: 0.2, cost: 0.2, complexity: 0.2, accuracy: 0.2, completeness: 0.2 };
  const favoured: Record<Exclude<PreferenceMode, 'BALANCED'>, Feature> = {
    FAST: 'time',
    ACCURATE: 'accuracy',
    THOROUGH: 'completeness',
    CHEAP: 'cost',
    SIMPLE: 'complexity',
  };
  const weights = { time: 0.15, cost: 0.15, complexity: 0.15, accuracy: 0.15, completeness: 0.15 };
  weights[favoured[mode]] = 0.4;
  return weights;
}

const clamp = (value: number, low: number, high: number) => Math.min(high, Math.max(low, value));

const timeFeature = (timeMs: number) => 1 - (Math.log(clamp(timeMs, TIME_FLOOR_MS, TIME_CEILING_MS)) - LOG_TIME_FLOOR) / LOG_TIME_RANGE;
const costFeature = (cost: number) => 1 - clamp(cost, 0, COST_CEILING) / COST_CEILING;

/** The five normalised features of an estimated pattern, each in [0, 1]. */
function featuresOf(planned: PlannedPattern, estimate: Estimate): FeatureVector {
  return { time: timeFeature(estimate.timeMs), cost: costFeature(estimate.cost), complexity: planned.complexity, accuracy: planned.accuracy, completeness: planned.completeness };
}

/** Checks the request and fills in its defaults; a broken rule is a SelectionInputError naming the field. */
export function normaliseRequest(request: SelectToolsRequest) {
  const capability = request.capability.trim();
  if (!capability) throw new SelectionInputError('capability', 'capability must not be empty');
  const limit = request.limit ?? DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new SelectionInputError('limit', `limit must be an integer from 1 to ${MAX_LIMIT}, found ${limit}`);
  const variables: Record<string, number> = {};
  if (request.variables !== null && request.variables !== undefined) {
    if (typeof request.variables !== 'object' || Array.isArray(request.variables)) {
      throw new SelectionInputError('variables', 'variables must be an object of numbers by name, e.g. {"N": 1000}');
    }
    for (const [name, value] of Object.entries(request.variables)) {
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new SelectionInputError(`variables.${name}`, `variable ${JSON.stringify(name)} must be a finite number, found ${JSON.stringify(value)}`);
      }
      variables[name] = value;
    }
  }
  let weights: FeatureVector;
  let preference: PreferenceMode | null;
  if (request.weights) {
    for (const feature of FEATURES) {
      const weight = request.weights[feature];
      if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0 || weight > 1) {
        throw new SelectionInputError(`weights.${feature}`, `weight ${feature} must be a number from 0 to 1, found ${weight}`);
      }
    }
    const sum = FEATURES.reduce((total, feature) => total + request.weights![feature], 0);
    if (Math.abs(sum - 1) > 0.01 + 1e-12) throw new SelectionInputError('weights', `weights must sum to 1 (± 0.01), found ${Number(sum.toFixed(6))}`);
    weights = { ...request.weights };
    preference = null;
  } else {
    preference = request.preference ?? 'BALANCED';
    weights = modeWeights(preference);
  }
  for (const [field, value] of [['maxTimeMs', request.maxTimeMs], ['maxCost', request.maxCost]] as const) {
    if (value !== null && value !== undefined && (!Number.isFinite(value) || value < 0)) {
      throw new SelectionInputError(field, `${field} must be a number of at least 0, found ${value}`);
    }
  }
  const minRuns = request.minRuns ?? DEFAULT_MIN_RUNS;
  if (!Number.isInteger(minRuns) || minRuns < 1) throw new SelectionInputError('minRuns', `minRuns must be an integer of at least 1, found ${minRuns}`);
  const unitId = request.unitId ?? null;
  if (unitId !== null && (!unitId.trim() || unitId.length > 256)) throw new SelectionInputError('unitId', 'unitId must be 1 to 256 characters, not only spaces');
  return {
    capability,
    variables,
    weights,
    preference,
    platform: request.platform?.trim() ? request.platform.trim().toLowerCase() : null,
    environment: request.environment ?? 'PRODUCTION',
    maxTimeMs: request.maxTimeMs ?? null,
    maxCost: request.maxCost ?? null,
    allowApproval: request.allowApproval ?? true,
    includeDeprecated: request.includeDeprecated ?? false,
    limit,
    useObserved: request.useObserved ?? false,
    minRuns,
    unitId,
  };
}

type Normalised = ReturnType<typeof normaliseRequest>;

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
}

function describeFigures(estimate: UsedEstimate, request: Normalised): string {
  const { expression, observed } = estimate;
  if (estimate.source === 'ESTIMATE') {
    const figures = `is estimated at ${formatNumber(estimate.timeMs)} ms and cost ${formatNumber(estimate.cost)}`;
    return observed ? `${figures} (only ${observed.runs} observed runs in the last 7 days, fewer than minRuns ${request.minRuns})` : figures;
  }
  const runs = observed!;
  const time = `observed at ${formatNumber(runs.p50TimeMs)} ms (median of ${runs.runs} runs in the last 7 days${expression ? `; estimate ${formatNumber(expression.timeMs)} ms` : ''})`;
  const cost = runs.meanCost !== null
    ? `cost ${formatNumber(runs.meanCost)} (mean of those runs${expression ? `; estimate ${formatNumber(expression.cost)}` : ''})`
    : `cost ${formatNumber(estimate.cost)} (estimated: no run reported a cost)`;
  return `${time} and ${cost}`;
}

function why(candidate: Omit<SelectionCandidate, 'why' | 'rank' | 'experiment'>, rank: number, request: Normalised): string {
  const strongest = FEATURES.reduce((best, feature) => (candidate.contributions[feature] > candidate.contributions[best] ? feature : best), FEATURES[0]);
  const mode = request.preference ? `${request.preference} weights` : 'the given weights';
  return (
    `Ranked ${rank} with score ${candidate.score.toFixed(4)} under ${mode}: ${candidate.tool.name} (${candidate.tool.platform}) ` +
    `${candidate.capability}/${candidate.pattern} ${describeFigures(candidate.estimate, request)}, ` +
    `and its largest contribution is ${strongest} (${candidate.contributions[strongest].toFixed(4)}).`
  );
}

/** A candidate that passed every exclusion: what ordering needs, before it is written out. */
interface RankedCandidate {
  planned: PlannedPattern;
  tool: MemoryToolRow;
  capability: string;
  pattern: string;
  score: number;
  /** The score rounded to 12 decimal places, as an integer: what the order compares. */
  key: number;
  estimate: UsedEstimate;
}

const NO_VARIABLES: readonly string[] = Object.freeze([]);

function exclusion(planned: PlannedPattern, reason: ExclusionReason, detail: string, limit: number | null = null, value: number | null = null): ExcludedCandidate {
  return { tool: planned.tool, capability: planned.capability, pattern: planned.pattern, reason, detail, missingVariables: NO_VARIABLES, limit, value };
}

/** An exclusion whose text never changes for this pattern in this revision: made once, then shared. */
function fixedExclusion(planned: PlannedPattern, reason: ExclusionReason, detail: string): ExcludedCandidate {
  return (planned.fixed[reason] ??= Object.freeze(exclusion(planned, reason, detail)));
}

function missingExclusion(planned: PlannedPattern, missing: string[]): ExcludedCandidate {
  const last = planned.lastMissing;
  if (last && last.missingVariables.length === missing.length && last.missingVariables.every((name, i) => name === missing[i])) return last;
  const made = exclusion(planned, 'MISSING_VARIABLE', `needs ${missing.join(', ')}, which neither the request nor the pattern's inputs give`);
  made.missingVariables = Object.freeze(missing);
  return (planned.lastMissing = Object.freeze(made));
}

/** The message of an estimate that evaluated to no finite number, as evaluateEstimate words it. */
function notFinite(field: string, estimate: CompiledEstimate, variables: Readonly<Record<string, number>>): string {
  const value = evaluateEstimate(estimate, variables);
  return `${field}: ${value.ok ? `${JSON.stringify(estimate.source)} gives ${value.value}` : value.reason === 'EXPRESSION_ERROR' ? value.error : value.missing.join(', ')}`;
}

/** What judging one plan's patterns for one request needs. */
interface Judging {
  request: Normalised;
  observed: ObservedLookup | undefined;
  excluded: ExcludedCandidate[];
  /** The request's variables merged over each of the plan's declared sets, made on first use. */
  variables: Array<Readonly<Record<string, number>> | undefined>;
}

/**
 * The rule's steps for one pattern: lifecycle, estimates (or observed figures), exclusions in
 * order. Pushes the exclusion and returns null, or returns the figures the pattern is scored on.
 */
function judge(planned: PlannedPattern, judging: Judging): UsedEstimate | null {
  const { request, excluded } = judging;
  if (request.platform !== null && planned.platform !== request.platform) {
    excluded.push(exclusion(planned, 'WRONG_PLATFORM', `the tool runs on ${planned.tool.platform}, not ${request.platform}`));
    return null;
  }
  if (planned.switchedOff !== null) {
    excluded.push(fixedExclusion(planned, 'DISABLED', planned.switchedOff));
    return null;
  }
  if (planned.deprecated !== null && !request.includeDeprecated) {
    excluded.push(fixedExclusion(planned, 'DEPRECATED', planned.deprecated));
    return null;
  }
  if (planned.badStatus !== null) {
    excluded.push(fixedExclusion(planned, 'DISABLED', planned.badStatus));
    return null;
  }
  // The expressions' figures, or why there are none.
  let expression: Estimate | null = null;
  let failure: ExcludedCandidate | null = null;
  if (planned.estimateError !== null) {
    failure = fixedExclusion(planned, 'EXPRESSION_ERROR', planned.estimateError);
  } else {
    const variables = (judging.variables[planned.declaredSet] ??= { ...planned.declared, ...request.variables });
    let missing: string[] | null = null;
    for (const name of planned.undeclared) if (typeof variables[name] !== 'number') (missing ??= []).push(name);
    if (missing) {
      failure = missingExclusion(planned, missing);
    } else {
      const timeMs = planned.time!.evaluate(variables);
      const cost = planned.cost!.evaluate(variables);
      if (!Number.isFinite(timeMs)) failure = exclusion(planned, 'EXPRESSION_ERROR', notFinite('time_estimate_ms', planned.time!, variables));
      else if (!Number.isFinite(cost)) failure = exclusion(planned, 'EXPRESSION_ERROR', notFinite('cost_estimate', planned.cost!, variables));
      else expression = { timeMs, cost };
    }
  }
  const observed = request.useObserved ? (judging.observed?.(planned.tool.id, planned.capability, planned.pattern) ?? null) : null;
  // Observed figures stand in for the estimates from minRuns runs on; without a reported cost the
  // expression still gives the cost, so then the expressions must evaluate.
  let estimate: UsedEstimate;
  if (observed && observed.runs >= request.minRuns && (observed.meanCost !== null || expression)) {
    estimate = { timeMs: observed.p50TimeMs, cost: observed.meanCost ?? expression!.cost, source: 'OBSERVED', expression, observed };
  } else if (failure !== null) {
    excluded.push(failure);
    return null;
  } else {
    estimate = { timeMs: expression!.timeMs, cost: expression!.cost, source: 'ESTIMATE', expression, observed };
  }
  const { policy } = planned.compiled;
  if (policy.maxCost !== null && estimate.cost > policy.maxCost) {
    excluded.push(exclusion(planned, 'POLICY_MAX_COST', `estimated cost ${formatNumber(estimate.cost)} is above the pattern's policy.max_cost ${formatNumber(policy.maxCost)}`, policy.maxCost, estimate.cost));
    return null;
  }
  if (request.maxCost !== null && estimate.cost > request.maxCost) {
    excluded.push(exclusion(planned, 'OVER_COST_LIMIT', `estimated cost ${formatNumber(estimate.cost)} is above maxCost ${formatNumber(request.maxCost)}`, request.maxCost, estimate.cost));
    return null;
  }
  if (request.maxTimeMs !== null && estimate.timeMs > request.maxTimeMs) {
    excluded.push(exclusion(planned, 'OVER_TIME_LIMIT', `estimated time ${formatNumber(estimate.timeMs)} ms is above maxTimeMs ${formatNumber(request.maxTimeMs)}`, request.maxTimeMs, estimate.timeMs));
    return null;
  }
  if (!policy.productionSafe && request.environment === 'PRODUCTION') {
    excluded.push(fixedExclusion(planned, 'NOT_PRODUCTION_SAFE', 'policy.production_safe is false and the environment is PRODUCTION'));
    return null;
  }
  if (policy.requiresApproval && !request.allowApproval) {
    excluded.push(fixedExclusion(planned, 'REQUIRES_APPROVAL', 'policy.requires_approval is true and the request does not allow approval'));
    return null;
  }
  return estimate;
}

/** Σ weight × feature in the order time, cost, complexity, accuracy, completeness (as featuresOf and the README). */
function scoreOf(planned: PlannedPattern, estimate: Estimate, weights: FeatureVector): number {
  let score = 0;
  score += weights.time * timeFeature(estimate.timeMs);
  score += weights.cost * costFeature(estimate.cost);
  score += weights.complexity * planned.complexity;
  score += weights.accuracy * planned.accuracy;
  score += weights.completeness * planned.completeness;
  return score;
}

/** The rule, over one snapshot: candidates, exclusions in order, features, weighted score, order. */
export function selectTools(
  snapshot: CatalogSnapshot,
  input: SelectToolsRequest,
  options: {
    stale: boolean;
    hooks?: SelectionHooks;
    /** Observed figures per pattern; read only when the request sets `useObserved`. */
    observed?: ObservedLookup;
    /** What the running experiment says about the request's unit (absent: no unitId or no running experiment). */
    experiment?: ExperimentInput;
  },
): ToolSelection {
  const request = normaliseRequest(input);
  const plan = options.hooks?.candidates ? planPatterns(options.hooks.candidates(snapshot, request.capability)) : capabilityPlan(snapshot, request.capability);
  const pinned = pinnedCandidates(snapshot, options.experiment, request.capability);
  const excluded: ExcludedCandidate[] = [];
  const { weights } = request;
  const assigned = options.experiment?.status === 'ASSIGNED' ? options.experiment.arm : null;
  const isArm = assigned ? armMatcher(assigned) : null;
  // Only the best `limit` candidates are kept (at least two, for `ambiguous`): the plan is walked in
  // identity order, so a later pattern with an equal score ranks after every one already kept. An
  // assigned arm's best candidate is kept aside (the others behind it are the first `limit` - 1 of
  // the kept), and its place in the whole ranking counted from every key. Only an arm pinned to an
  // older version (a second plan, in another order) keeps the whole ranking.
  const keep = pinned.plan ? Infinity : Math.max(request.limit, 2);
  const ranked: RankedCandidate[] = [];
  // The arm's best candidate is sought, and every key counted, only when the ranking is bounded.
  const seekArm = isArm !== null && keep !== Infinity;
  const everyKey: number[] = [];
  const everyOrdinal: number[] = [];
  let armBest: RankedCandidate | null = null;
  const judgePlan = (planned: SelectionPlan) => {
    const judging: Judging = { request, observed: options.observed, excluded, variables: new Array(planned.declaredSets.length) };
    for (const pattern of planned.patterns) {
      const estimate = judge(pattern, judging);
      if (estimate === null) continue;
      const score = scoreOf(pattern, estimate, weights);
      const key = Math.round(score * SCALE);
      const arm = seekArm && isArm(pattern);
      if (seekArm) {
        everyKey.push(key);
        everyOrdinal.push(pattern.ordinal);
      }
      const full = ranked.length >= keep;
      const entersRanking = !full || key > ranked[ranked.length - 1]!.key;
      if (!entersRanking && !(arm && (armBest === null || key > armBest.key))) continue;
      const candidate = { planned: pattern, tool: pattern.tool, capability: pattern.capability, pattern: pattern.pattern, score, key, estimate };
      // Walked in identity order: an equal key never displaces the arm's best so far.
      if (arm && (armBest === null || key > armBest.key)) armBest = candidate;
      if (!entersRanking) continue;
      if (full) ranked.pop();
      if (keep === Infinity) {
        ranked.push(candidate);
        continue;
      }
      let at = ranked.length;
      while (at > 0 && ranked[at - 1]!.key < key) at--;
      ranked.splice(at, 0, candidate);
    }
  };
  judgePlan(plan);
  if (pinned.plan) {
    // A pinned older version's patterns come after the plan's: order both lists by identity.
    judgePlan(pinned.plan);
    ranked.sort((a, b) => b.key - a.key || compareIdentity(a, b));
    excluded.sort(compareIdentity);
  }
  /** Where the arm's candidate stands in the rule's whole ranking (-1: none passed the request). */
  const armPlace = (): number => {
    if (keep === Infinity) return ranked.findIndex((candidate) => isArm!(candidate.planned));
    if (armBest === null) return -1;
    let before = 0;
    for (let i = 0; i < everyKey.length; i++) if (everyKey[i]! > armBest.key || (everyKey[i] === armBest.key && everyOrdinal[i]! < armBest.planned.ordinal)) before++;
    return before;
  };
  // Ambiguity is the rule's over the catalog's own versions: a pinned older version added for one unit does not change it.
  const [first, second] = pinned.tool ? ranked.filter((c) => c.tool !== pinned.tool.row) : ranked;
  const applied = options.experiment ? applyExperiment(options.experiment, armPlace, excluded, request) : null;
  const moved = applied?.moved ?? null;
  const armCandidate = moved === null ? null : keep === Infinity ? ranked[moved]! : armBest!;
  const ordered = armCandidate === null ? ranked.slice(0, request.limit) : [armCandidate, ...ranked.filter((candidate) => candidate !== armCandidate)].slice(0, request.limit);
  return {
    revision: snapshot.revision,
    stale: options.stale,
    ambiguous: first !== undefined && second !== undefined && first.key - second.key <= AMBIGUITY_MARGIN * SCALE,
    preference: request.preference,
    weights,
    candidates: ordered.map((ranked, index) => {
      const candidate = writeOut(ranked, index + 1, request);
      if (moved === null || index > 0) return candidate;
      // The sentence about the score gives the rank the rule alone would have given.
      const experiment = applied!.experiment;
      return {
        ...candidate,
        why: `First because unit ${JSON.stringify(request.unitId)} is in arm ${experiment.arm} of experiment ${experiment.key} (bucket ${experiment.bucket}); by score alone: ${why(candidate, moved + 1, request)}`,
        experiment: { key: experiment.key!, arm: experiment.arm! },
      };
    }),
    excluded,
    experiment: applied?.experiment ?? null,
    decisionId: null,
  };
}

/** A ranked candidate as the answer gives it: its features, contributions, hints and sentence. */
function writeOut(ranked: RankedCandidate, rank: number, request: Normalised): SelectionCandidate {
  const { estimate } = ranked;
  const features = featuresOf(ranked.planned, estimate);
  const contributions = {} as FeatureVector;
  for (const feature of FEATURES) contributions[feature] = request.weights[feature] * features[feature];
  const candidate = {
    rank,
    tool: ranked.tool,
    capability: ranked.capability,
    pattern: ranked.pattern,
    score: ranked.score,
    estimate,
    features,
    contributions,
    executionHint: ranked.planned.compiled.policy.requiresApproval ? ('APPROVAL_REQUIRED' as const) : estimate.timeMs > BACKGROUND_ABOVE_MS ? ('BACKGROUND' as const) : ('IMMEDIATE' as const),
    slaClass: estimate.timeMs < 1_000 ? ('INTERACTIVE' as const) : estimate.timeMs < 10_000 ? ('BATCH' as const) : ('BACKGROUND' as const),
    why: '',
    experiment: null,
  };
  candidate.why = why(candidate, rank, request);
  return candidate;
}

const sameName = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/**
 * The patterns of an assigned arm's pinned version for the capability, when that version is not the
 * one the in-memory catalog holds (the latest): they are this decision's extra candidates, ranked by
 * the same rule. They answer to the tool's latest row (its switch and deprecation), or to a stand-in
 * that excludes the version when the tool is gone from the catalog. A version deprecated on its own
 * (an experiment found a newer one better) is deprecated as a deprecated tool is.
 */
function pinnedCandidates(snapshot: CatalogSnapshot, input: ExperimentInput | undefined, capability: string) {
  const none = { tool: null, plan: null };
  const pinned = input?.status === 'ASSIGNED' ? input.arm.pinnedTool : null;
  if (!pinned) return none;
  const latest = snapshot.byIdentity.get(identityKey(pinned.row.name, pinned.row.platform));
  if (latest?.row.version === pinned.row.version) return none;
  const wanted = capability.toLowerCase();
  const tool = latest?.row ?? { enabled: false, status: pinned.row.status, successor: null };
  const lifecycle =
    pinned.row.status === 'DEPRECATED' && tool.status !== 'DEPRECATED' ? { enabled: tool.enabled, status: pinned.row.status, successor: pinned.row.successor } : tool;
  return {
    tool: pinned,
    plan: planPatterns(
      pinned.patterns.filter((p) => p.capability.name.toLowerCase() === wanted),
      () => lifecycle,
    ),
  };
}

/** Whether a pattern (of a tool version) is the one an experiment arm names. */
function armMatcher(arm: ExperimentArm): (candidate: { tool: MemoryToolRow; pattern: string }) => boolean {
  return (candidate) =>
    sameName(candidate.tool.name, arm.tool.name) &&
    sameName(candidate.tool.platform, arm.tool.platform) &&
    (arm.tool.version === null || candidate.tool.version === arm.tool.version) &&
    (arm.pattern === null || sameName(candidate.pattern, arm.pattern));
}

/**
 * A unit in a running experiment gets its arm's tool first, when that arm's tool (and pattern)
 * survived the rule for this request: `moved` is its place in the rule's ranking, and the others
 * keep their order behind it. Otherwise the unit is left out of the experiment for this decision
 * and the answer says why; the ranking stays as the rule made it.
 */
function applyExperiment(
  input: ExperimentInput,
  armPlace: () => number,
  excluded: readonly ExcludedCandidate[],
  request: Normalised,
): { experiment: SelectionExperiment; moved: number | null } {
  if (input.status === 'AMBIGUOUS_PLATFORM') return { experiment: { key: null, arm: null, bucket: null, outcome: 'AMBIGUOUS_PLATFORM', reason: input.reason }, moved: null };
  if (input.status === 'NOT_IN_EXPERIMENT') {
    return { experiment: { key: input.experimentKey, arm: null, bucket: input.bucket, outcome: 'NOT_IN_EXPERIMENT', reason: input.reason }, moved: null };
  }
  const { arm } = input;
  const left = (reason: string) => ({ experiment: { key: arm.experimentKey, arm: arm.armKey, bucket: arm.bucket, outcome: 'EXCLUDED' as const, reason }, moved: null });
  const isArmTool = armMatcher(arm);
  const armName = `${arm.tool.name} (${arm.tool.platform})${arm.pattern ? ` pattern ${arm.pattern}` : ''}`;
  const index = armPlace();
  if (index < 0) {
    const out = excluded.find(isArmTool);
    if (out) return left(`arm ${arm.armKey}'s tool ${armName} does not pass this request: ${out.reason} (${out.detail})`);
    if (arm.tool.version !== null && !arm.pinnedTool) {
      return left(`arm ${arm.armKey} pins ${arm.tool.name} version ${arm.tool.version}, which the catalog does not hold (deleted, or not loaded yet)`);
    }
    return left(`arm ${arm.armKey}'s tool ${armName} offers no pattern of ${request.capability} in the catalog`);
  }
  return {
    experiment: { key: arm.experimentKey, arm: arm.armKey, bucket: arm.bucket, outcome: 'ASSIGNED', reason: `unit is in arm ${arm.armKey} (bucket ${arm.bucket}); its tool ${armName} comes first` },
    moved: index,
  };
}
