import { evaluateEstimate, withSuppliedVariables, type CompileResult } from '../catalog/expressions.js';
import { compareCodePoints, identityKey, type CatalogSnapshot, type CompiledPattern, type MemoryTool, type MemoryToolRow } from '../memoryCatalog/snapshot.js';

/**
 * The pipeline's decision: which pattern of which tool to use for a capability. The rule is written
 * out in the README ("Selecting tools") so that any client can reproduce a ranking; this file is
 * that rule, step by step, over one in-memory catalog snapshot (no SQL).
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
  missingVariables: string[];
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

/**
 * Where estimates come from. The default evaluates the pattern's expressions; later sources (observed
 * run times, experiment arms) can wrap it and answer for some patterns themselves.
 */
export type EstimateSource = (pattern: CompiledPattern, variables: Readonly<Record<string, number>>) => EstimateOutcome;
export type EstimateOutcome =
  | { ok: true; estimate: Estimate }
  | { ok: false; reason: 'MISSING_VARIABLE'; missing: string[] }
  | { ok: false; reason: 'EXPRESSION_ERROR'; error: string };

/** Where candidates come from: by default every pattern of the capability in the snapshot. */
export type CandidateSource = (snapshot: CatalogSnapshot, capability: string) => readonly CompiledPattern[];

export interface SelectionHooks {
  candidates?: CandidateSource;
  estimates?: EstimateSource;
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

/** The five normalised features of an estimated pattern, each in [0, 1]. */
export function featuresOf(pattern: CompiledPattern, estimate: Estimate): FeatureVector {
  const t = clamp(estimate.timeMs, TIME_FLOOR_MS, TIME_CEILING_MS);
  const c = clamp(estimate.cost, 0, COST_CEILING);
  return {
    time: 1 - (Math.log(t) - Math.log(TIME_FLOOR_MS)) / (Math.log(TIME_CEILING_MS) - Math.log(TIME_FLOOR_MS)),
    cost: 1 - c / COST_CEILING,
    complexity: clamp(1 - (pattern.complexityScore ?? 0.5), 0, 1),
    accuracy: clamp(pattern.accuracy ?? 0.5, 0, 1),
    completeness: clamp(pattern.completeness ?? 0.5, 0, 1),
  };
}

/** The expressions' estimate with one set of variables (the default EstimateSource). */
export const expressionEstimates: EstimateSource = (pattern, variables) => {
  const parts: Array<[string, CompileResult | null, string | null]> = [
    ['time_estimate_ms', pattern.time, pattern.pattern.timeEstimateMs],
    ['cost_estimate', pattern.cost, pattern.pattern.costEstimate],
  ];
  for (const [field, compiled, source] of parts) {
    if (compiled === null) return { ok: false, reason: 'EXPRESSION_ERROR', error: `the pattern has no ${field}` };
    if (!compiled.ok) return { ok: false, reason: 'EXPRESSION_ERROR', error: `${field} ${JSON.stringify(source)}: ${compiled.error}` };
  }
  const time = pattern.time as Extract<CompileResult, { ok: true }>;
  const cost = pattern.cost as Extract<CompileResult, { ok: true }>;
  const missing = [...new Set([...time.variables, ...cost.variables])].filter((name) => !Number.isFinite(variables[name])).sort(compareCodePoints);
  if (missing.length) return { ok: false, reason: 'MISSING_VARIABLE', missing };
  const timeValue = evaluateEstimate(time, variables);
  if (!timeValue.ok) return { ok: false, reason: 'EXPRESSION_ERROR', error: `time_estimate_ms: ${timeValue.reason === 'EXPRESSION_ERROR' ? timeValue.error : timeValue.missing.join(', ')}` };
  const costValue = evaluateEstimate(cost, variables);
  if (!costValue.ok) return { ok: false, reason: 'EXPRESSION_ERROR', error: `cost_estimate: ${costValue.reason === 'EXPRESSION_ERROR' ? costValue.error : costValue.missing.join(', ')}` };
  return { ok: true, estimate: { timeMs: timeValue.value, cost: costValue.value } };
};

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
  const candidatesOf = options.hooks?.candidates ?? ((s: CatalogSnapshot, capability: string) => s.byCapability.get(capability.toLowerCase()) ?? []);
  const estimateOf = options.hooks?.estimates ?? expressionEstimates;
  const ranked: Array<Omit<SelectionCandidate, 'why' | 'rank' | 'experiment'> & { key: number }> = [];
  const excluded: ExcludedCandidate[] = [];

  const pinned = pinnedCandidates(snapshot, options.experiment, request.capability);
  for (const compiled of [...candidatesOf(snapshot, request.capability), ...pinned.patterns]) {
    const tool = compiled.tool.row;
    const exclude = (reason: ExclusionReason, detail: string, extra: Partial<Pick<ExcludedCandidate, 'missingVariables' | 'limit' | 'value'>> = {}) =>
      excluded.push({ tool, capability: compiled.capability.name, pattern: compiled.pattern.name, reason, detail, missingVariables: [], limit: null, value: null, ...extra });
    if (request.platform !== null && tool.platform.toLowerCase() !== request.platform) {
      exclude('WRONG_PLATFORM', `the tool runs on ${tool.platform}, not ${request.platform}`);
      continue;
    }
    // A pinned older version answers to its tool's switch and deprecation, held on the latest row.
    const lifecycle = compiled.tool === pinned.tool ? pinned.lifecycle! : tool;
    if (!lifecycle.enabled || tool.status === 'DISABLED') {
      exclude('DISABLED', !lifecycle.enabled ? 'the tool is switched off (enabled: false)' : 'the tool version has status DISABLED');
      continue;
    }
    if (lifecycle.status === 'DEPRECATED' && !request.includeDeprecated) {
      exclude('DEPRECATED', lifecycle.successor ? `deprecated; use ${lifecycle.successor} instead` : 'deprecated; no successor named');
      continue;
    }
    if (tool.status !== 'ACTIVE' && tool.status !== 'DEPRECATED') {
      // A draft is never the latest version; should one be, it is not a candidate either.
      exclude('DISABLED', `the tool version has status ${tool.status}`);
      continue;
    }
    const variables = withSuppliedVariables(compiled.declaredVariables, request.variables);
    const outcome = estimateOf(compiled, variables);
    const observed = request.useObserved ? (options.observed?.(tool.id, compiled.capability.name, compiled.pattern.name) ?? null) : null;
    // Observed figures stand in for the estimates from minRuns runs on; without a reported cost the
    // expression still gives the cost, so then the expressions must evaluate.
    const expression = outcome.ok ? { timeMs: outcome.estimate.timeMs, cost: outcome.estimate.cost } : null;
    let estimate: UsedEstimate;
    if (observed && observed.runs >= request.minRuns && (observed.meanCost !== null || expression)) {
      estimate = { timeMs: observed.p50TimeMs, cost: observed.meanCost ?? expression!.cost, source: 'OBSERVED', expression, observed };
    } else if (!outcome.ok) {
      if (outcome.reason === 'MISSING_VARIABLE') {
        exclude('MISSING_VARIABLE', `needs ${outcome.missing.join(', ')}, which neither the request nor the pattern's inputs give`, { missingVariables: outcome.missing });
      } else {
        exclude('EXPRESSION_ERROR', outcome.error);
      }
      continue;
    } else {
      estimate = { ...expression!, source: 'ESTIMATE', expression, observed };
    }
    const { policy } = compiled;
    if (policy.maxCost !== null && estimate.cost > policy.maxCost) {
      exclude('POLICY_MAX_COST', `estimated cost ${formatNumber(estimate.cost)} is above the pattern's policy.max_cost ${formatNumber(policy.maxCost)}`, { limit: policy.maxCost, value: estimate.cost });
      continue;
    }
    if (request.maxCost !== null && estimate.cost > request.maxCost) {
      exclude('OVER_COST_LIMIT', `estimated cost ${formatNumber(estimate.cost)} is above maxCost ${formatNumber(request.maxCost)}`, { limit: request.maxCost, value: estimate.cost });
      continue;
    }
    if (request.maxTimeMs !== null && estimate.timeMs > request.maxTimeMs) {
      exclude('OVER_TIME_LIMIT', `estimated time ${formatNumber(estimate.timeMs)} ms is above maxTimeMs ${formatNumber(request.maxTimeMs)}`, { limit: request.maxTimeMs, value: estimate.timeMs });
      continue;
    }
    if (!policy.productionSafe && request.environment === 'PRODUCTION') {
      exclude('NOT_PRODUCTION_SAFE', 'policy.production_safe is false and the environment is PRODUCTION');
      continue;
    }
    if (policy.requiresApproval && !request.allowApproval) {
      exclude('REQUIRES_APPROVAL', 'policy.requires_approval is true and the request does not allow approval');
      continue;
    }
    const features = featuresOf(compiled, estimate);
    const contributions = {} as FeatureVector;
    let score = 0;
    for (const feature of FEATURES) {
      contributions[feature] = request.weights[feature] * features[feature];
      score += contributions[feature];
    }
    ranked.push({
      tool,
      capability: compiled.capability.name,
      pattern: compiled.pattern.name,
      score,
      key: Math.round(score * SCALE),
      estimate,
      features,
      contributions,
      executionHint: policy.requiresApproval ? 'APPROVAL_REQUIRED' : estimate.timeMs > BACKGROUND_ABOVE_MS ? 'BACKGROUND' : 'IMMEDIATE',
      slaClass: estimate.timeMs < 1_000 ? 'INTERACTIVE' : estimate.timeMs < 10_000 ? 'BATCH' : 'BACKGROUND',
    });
  }

  const byIdentity = (a: { tool: MemoryToolRow; capability: string; pattern: string }, b: typeof a) =>
    compareCodePoints(a.tool.name, b.tool.name) ||
    compareCodePoints(a.tool.platform, b.tool.platform) ||
    compareCodePoints(a.capability, b.capability) ||
    compareCodePoints(a.pattern, b.pattern) ||
    compareCodePoints(a.tool.version, b.tool.version);
  ranked.sort((a, b) => b.key - a.key || byIdentity(a, b));
  excluded.sort(byIdentity);
  // Ambiguity is the rule's over the catalog's own versions: a pinned older version added for one unit does not change it.
  const [first, second] = pinned.tool ? ranked.filter((c) => c.tool !== pinned.tool.row) : ranked;
  const candidates: SelectionCandidate[] = ranked.map(({ key: _key, ...candidate }) => ({ ...candidate, rank: 0, why: '', experiment: null }));
  const applied = options.experiment ? applyExperiment(options.experiment, candidates, excluded, request) : null;
  const experiment = applied?.experiment ?? null;
  return {
    revision: snapshot.revision,
    stale: options.stale,
    ambiguous: first !== undefined && second !== undefined && first.key - second.key <= AMBIGUITY_MARGIN * SCALE,
    preference: request.preference,
    weights: request.weights,
    candidates: candidates.slice(0, request.limit).map((candidate, index) => {
      const rank = index + 1;
      if (!candidate.experiment) return { ...candidate, rank, why: why(candidate, rank, request) };
      // The sentence about the score gives the rank the rule alone would have given.
      const reason = why(candidate, applied!.ruleRank, request);
      return {
        ...candidate,
        rank,
        why: `First because unit ${JSON.stringify(request.unitId)} is in arm ${candidate.experiment.arm} of experiment ${candidate.experiment.key} (bucket ${experiment!.bucket}); by score alone: ${reason}`,
      };
    }),
    excluded,
    experiment,
    decisionId: null,
  };
}

const sameName = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/**
 * The patterns of an assigned arm's pinned version for the capability, when that version is not the
 * one the in-memory catalog holds (the latest): they are this decision's extra candidates, ranked by
 * the same rule. `lifecycle` is the tool's latest row (its switch and deprecation), or a stand-in
 * that excludes the version when the tool is gone from the catalog.
 */
function pinnedCandidates(snapshot: CatalogSnapshot, input: ExperimentInput | undefined, capability: string) {
  const none = { tool: null, patterns: [] as readonly CompiledPattern[], lifecycle: null };
  const pinned = input?.status === 'ASSIGNED' ? input.arm.pinnedTool : null;
  if (!pinned) return none;
  const latest = snapshot.byIdentity.get(identityKey(pinned.row.name, pinned.row.platform));
  if (latest?.row.version === pinned.row.version) return none;
  const wanted = capability.toLowerCase();
  return {
    tool: pinned,
    patterns: pinned.patterns.filter((p) => p.capability.name.toLowerCase() === wanted),
    lifecycle: latest?.row ?? { enabled: false, status: pinned.row.status, successor: null },
  };
}

/**
 * A unit in a running experiment gets its arm's tool first, when that arm's tool (and pattern)
 * survived the rule for this request: it is moved to the front of `candidates` (in place) and the
 * others keep their order. Otherwise the unit is left out of the experiment for this decision and
 * the answer says why; the ranking stays as the rule made it.
 */
function applyExperiment(
  input: ExperimentInput,
  candidates: SelectionCandidate[],
  excluded: readonly ExcludedCandidate[],
  request: Normalised,
): { experiment: SelectionExperiment; ruleRank: number } {
  if (input.status === 'AMBIGUOUS_PLATFORM') return { experiment: { key: null, arm: null, bucket: null, outcome: 'AMBIGUOUS_PLATFORM', reason: input.reason }, ruleRank: 0 };
  if (input.status === 'NOT_IN_EXPERIMENT') {
    return { experiment: { key: input.experimentKey, arm: null, bucket: input.bucket, outcome: 'NOT_IN_EXPERIMENT', reason: input.reason }, ruleRank: 0 };
  }
  const { arm } = input;
  const left = (reason: string) => ({ experiment: { key: arm.experimentKey, arm: arm.armKey, bucket: arm.bucket, outcome: 'EXCLUDED' as const, reason }, ruleRank: 0 });
  const isArmTool = (c: { tool: MemoryToolRow; pattern: string }) =>
    sameName(c.tool.name, arm.tool.name) &&
    sameName(c.tool.platform, arm.tool.platform) &&
    (arm.tool.version === null || c.tool.version === arm.tool.version) &&
    (arm.pattern === null || sameName(c.pattern, arm.pattern));
  const armName = `${arm.tool.name} (${arm.tool.platform})${arm.pattern ? ` pattern ${arm.pattern}` : ''}`;
  const index = candidates.findIndex(isArmTool);
  if (index < 0) {
    const out = excluded.find(isArmTool);
    if (out) return left(`arm ${arm.armKey}'s tool ${armName} does not pass this request: ${out.reason} (${out.detail})`);
    if (arm.tool.version !== null && !arm.pinnedTool) {
      return left(`arm ${arm.armKey} pins ${arm.tool.name} version ${arm.tool.version}, which the catalog does not hold (deleted, or not loaded yet)`);
    }
    return left(`arm ${arm.armKey}'s tool ${armName} offers no pattern of ${request.capability} in the catalog`);
  }
  const candidate = candidates[index]!;
  candidates.splice(index, 1);
  candidates.unshift({ ...candidate, experiment: { key: arm.experimentKey, arm: arm.armKey } });
  return {
    experiment: { key: arm.experimentKey, arm: arm.armKey, bucket: arm.bucket, outcome: 'ASSIGNED', reason: `unit is in arm ${arm.armKey} (bucket ${arm.bucket}); its tool ${armName} comes first` },
    ruleRank: index + 1,
  };
}
