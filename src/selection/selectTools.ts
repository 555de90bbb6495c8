import { evaluateEstimate, withSuppliedVariables, type CompileResult } from '../catalog/expressions.js';
import { compareCodePoints, type CatalogSnapshot, type CompiledPattern, type MemoryToolRow } from '../memoryCatalog/snapshot.js';

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
}

export interface Estimate {
  timeMs: number;
  cost: number;
}

export interface SelectionCandidate {
  rank: number;
  tool: MemoryToolRow;
  capability: string;
  pattern: string;
  score: number;
  estimate: Estimate;
  features: FeatureVector;
  contributions: FeatureVector;
  executionHint: ExecutionHint;
  slaClass: SlaClass;
  why: string;
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
  };
}

type Normalised = ReturnType<typeof normaliseRequest>;

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
}

function why(candidate: Omit<SelectionCandidate, 'why' | 'rank'>, rank: number, request: Normalised): string {
  const strongest = FEATURES.reduce((best, feature) => (candidate.contributions[feature] > candidate.contributions[best] ? feature : best), FEATURES[0]);
  const mode = request.preference ? `${request.preference} weights` : 'the given weights';
  return (
    `Ranked ${rank} with score ${candidate.score.toFixed(4)} under ${mode}: ${candidate.tool.name} (${candidate.tool.platform}) ` +
    `${candidate.capability}/${candidate.pattern} is estimated at ${formatNumber(candidate.estimate.timeMs)} ms and cost ${formatNumber(candidate.estimate.cost)}, ` +
    `and its largest contribution is ${strongest} (${candidate.contributions[strongest].toFixed(4)}).`
  );
}

/** The rule, over one snapshot: candidates, exclusions in order, features, weighted score, order. */
export function selectTools(
  snapshot: CatalogSnapshot,
  input: SelectToolsRequest,
  options: { stale: boolean; hooks?: SelectionHooks },
): ToolSelection {
  const request = normaliseRequest(input);
  const candidatesOf = options.hooks?.candidates ?? ((s: CatalogSnapshot, capability: string) => s.byCapability.get(capability.toLowerCase()) ?? []);
  const estimateOf = options.hooks?.estimates ?? expressionEstimates;
  const ranked: Array<Omit<SelectionCandidate, 'why' | 'rank'> & { key: number }> = [];
  const excluded: ExcludedCandidate[] = [];

  for (const compiled of candidatesOf(snapshot, request.capability)) {
    const tool = compiled.tool.row;
    const exclude = (reason: ExclusionReason, detail: string, extra: Partial<Pick<ExcludedCandidate, 'missingVariables' | 'limit' | 'value'>> = {}) =>
      excluded.push({ tool, capability: compiled.capability.name, pattern: compiled.pattern.name, reason, detail, missingVariables: [], limit: null, value: null, ...extra });
    if (request.platform !== null && tool.platform.toLowerCase() !== request.platform) {
      exclude('WRONG_PLATFORM', `the tool runs on ${tool.platform}, not ${request.platform}`);
      continue;
    }
    if (!tool.enabled || tool.status === 'DISABLED') {
      exclude('DISABLED', tool.enabled ? 'the tool version has status DISABLED' : 'the tool is switched off (enabled: false)');
      continue;
    }
    if (tool.status === 'DEPRECATED' && !request.includeDeprecated) {
      exclude('DEPRECATED', tool.successor ? `deprecated; use ${tool.successor} instead` : 'deprecated; no successor named');
      continue;
    }
    if (tool.status !== 'ACTIVE' && tool.status !== 'DEPRECATED') {
      // A draft is never the latest version; should one be, it is not a candidate either.
      exclude('DISABLED', `the tool version has status ${tool.status}`);
      continue;
    }
    const variables = withSuppliedVariables(compiled.declaredVariables, request.variables);
    const outcome = estimateOf(compiled, variables);
    if (!outcome.ok) {
      if (outcome.reason === 'MISSING_VARIABLE') {
        exclude('MISSING_VARIABLE', `needs ${outcome.missing.join(', ')}, which neither the request nor the pattern's inputs give`, { missingVariables: outcome.missing });
      } else {
        exclude('EXPRESSION_ERROR', outcome.error);
      }
      continue;
    }
    const { estimate } = outcome;
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
    compareCodePoints(a.pattern, b.pattern);
  ranked.sort((a, b) => b.key - a.key || byIdentity(a, b));
  excluded.sort(byIdentity);
  const [first, second] = ranked;
  return {
    revision: snapshot.revision,
    stale: options.stale,
    ambiguous: first !== undefined && second !== undefined && first.key - second.key <= AMBIGUITY_MARGIN * SCALE,
    preference: request.preference,
    weights: request.weights,
    candidates: ranked.slice(0, request.limit).map(({ key: _key, ...candidate }, index) => ({ ...candidate, rank: index + 1, why: why(candidate, index + 1, request) })),
    excluded,
  };
}
