import type { CompiledEstimate, CompileResult } from '../catalog/expressions.js';
import { compareCodePoints, type CatalogSnapshot, type CompiledPattern, type MemoryToolRow } from '../memoryCatalog/snapshot.js';
import type { ExcludedCandidate, ExclusionReason } from './selectTools.js';

/**
 * What selection can know about a candidate pattern before any request: worked out once per
 * catalog revision and capability, so that a request only evaluates estimates and compares numbers.
 * Everything here follows from the snapshot alone; nothing depends on a request.
 */

/** The switch and lifecycle a candidate answers to (a pinned older version answers to its tool's latest row). */
export interface Lifecycle {
  enabled: boolean;
  status: MemoryToolRow['status'];
  successor: string | null;
}

export interface PlannedPattern {
  compiled: CompiledPattern;
  tool: MemoryToolRow;
  capability: string;
  pattern: string;
  /** The tool's platform, lower-cased, for the request's platform filter. */
  platform: string;
  /** Position in identity order (tool name, platform, capability, pattern, version, by code point) within its plan. */
  ordinal: number;
  /** Why the tool is out whatever the request: switched off, or a status that is never a candidate. */
  switchedOff: string | null;
  /** Set when the candidate is deprecated: the detail naming its successor. */
  deprecated: string | null;
  /** A version status other than ACTIVE and DEPRECATED (checked after deprecation, as the rule orders it). */
  badStatus: string | null;
  /** Both estimates, compiled; null when either is absent or does not compile (see estimateError). */
  time: CompiledEstimate | null;
  cost: CompiledEstimate | null;
  estimateError: string | null;
  /**
   * The variables both estimates read that the pattern's declared ones (globals and input defaults)
   * do not give, in code point order: only these can be missing from a request.
   */
  undeclared: readonly string[];
  /** The pattern's declared variables (shared by the snapshot among patterns declaring the same). */
  declared: Readonly<Record<string, number>>;
  /** Index of `declared` in its plan's `declaredSets`: a request merges its variables once per set. */
  declaredSet: number;
  /** The three features that do not depend on the request, each in [0, 1]. */
  complexity: number;
  accuracy: number;
  completeness: number;
  /** Exclusions whose text is the same for every request: made on first use, then shared (frozen). */
  fixed: Partial<Record<ExclusionReason, ExcludedCandidate>>;
  /** The last MISSING_VARIABLE exclusion made, reused while requests miss the same variables. */
  lastMissing: ExcludedCandidate | null;
}

const clamp = (value: number, low: number, high: number) => Math.min(high, Math.max(low, value));

function estimateProblem(field: string, compiled: CompileResult | null, source: string | null): string | null {
  if (compiled === null) return `the pattern has no ${field}`;
  return compiled.ok ? null : `${field} ${JSON.stringify(source)}: ${compiled.error}`;
}

function planPattern(compiled: CompiledPattern, lifecycle: Lifecycle): PlannedPattern {
  const tool = compiled.tool.row;
  const estimateError =
    estimateProblem('time_estimate_ms', compiled.time, compiled.pattern.timeEstimateMs) ?? estimateProblem('cost_estimate', compiled.cost, compiled.pattern.costEstimate);
  const time = estimateError === null ? (compiled.time as CompiledEstimate) : null;
  const cost = estimateError === null ? (compiled.cost as CompiledEstimate) : null;
  const switchedOff = !lifecycle.enabled ? 'the tool is switched off (enabled: false)' : tool.status === 'DISABLED' ? 'the tool version has status DISABLED' : null;
  return {
    compiled,
    tool,
    capability: compiled.capability.name,
    pattern: compiled.pattern.name,
    platform: tool.platform.toLowerCase(),
    ordinal: 0,
    switchedOff,
    deprecated: lifecycle.status === 'DEPRECATED' ? (lifecycle.successor ? `deprecated; use ${lifecycle.successor} instead` : 'deprecated; no successor named') : null,
    // A draft is never the latest version; should one be, it is not a candidate either.
    badStatus: tool.status !== 'ACTIVE' && tool.status !== 'DEPRECATED' ? `the tool version has status ${tool.status}` : null,
    time,
    cost,
    estimateError,
    undeclared: time && cost ? [...new Set([...time.variables, ...cost.variables])].filter((name) => !Object.hasOwn(compiled.declaredVariables, name)).sort(compareCodePoints) : [],
    declared: compiled.declaredVariables,
    declaredSet: 0,
    complexity: clamp(1 - (compiled.complexityScore ?? 0.5), 0, 1),
    accuracy: clamp(compiled.accuracy ?? 0.5, 0, 1),
    completeness: clamp(compiled.completeness ?? 0.5, 0, 1),
    fixed: {},
    lastMissing: null,
  };
}

/** The rule's tie-break after the score: tool name, platform, capability, pattern, then version. */
export function compareIdentity(a: { tool: MemoryToolRow; capability: string; pattern: string }, b: typeof a): number {
  return (
    compareCodePoints(a.tool.name, b.tool.name) ||
    compareCodePoints(a.tool.platform, b.tool.platform) ||
    compareCodePoints(a.capability, b.capability) ||
    compareCodePoints(a.pattern, b.pattern) ||
    compareCodePoints(a.tool.version, b.tool.version)
  );
}

/** The planned candidates of one capability, and the distinct declared-variable sets they use. */
export interface SelectionPlan {
  patterns: readonly PlannedPattern[];
  declaredSets: ReadonlyArray<Readonly<Record<string, number>>>;
}

/**
 * Plans patterns in identity order. `lifecycle` gives the switch and deprecation each answers to:
 * its own row, unless told otherwise (a pinned older version).
 */
export function planPatterns(patterns: readonly CompiledPattern[], lifecycle: (compiled: CompiledPattern) => Lifecycle = (c) => c.tool.row): SelectionPlan {
  const planned = patterns.map((compiled) => planPattern(compiled, lifecycle(compiled)));
  planned.sort(compareIdentity);
  const sets = new Map<Readonly<Record<string, number>>, number>();
  planned.forEach((entry, index) => {
    entry.ordinal = index;
    let set = sets.get(entry.declared);
    if (set === undefined) sets.set(entry.declared, (set = sets.size));
    entry.declaredSet = set;
  });
  return Object.freeze({ patterns: Object.freeze(planned), declaredSets: Object.freeze([...sets.keys()]) });
}

const EMPTY_PLAN: SelectionPlan = Object.freeze({ patterns: Object.freeze([]), declaredSets: Object.freeze([]) });

/** Plans per snapshot, by lower-cased capability; they go with the snapshot. */
const plans = new WeakMap<CatalogSnapshot, Map<string, SelectionPlan>>();

/**
 * The planned candidates for a capability in one revision: made on the first request for it, then
 * shared by every request on that revision. A capability the catalog does not offer plans nothing
 * and is not remembered (request strings cannot grow the map).
 */
export function capabilityPlan(snapshot: CatalogSnapshot, capability: string): SelectionPlan {
  const key = capability.toLowerCase();
  const patterns = snapshot.byCapability.get(key);
  if (!patterns) return EMPTY_PLAN;
  let byCapability = plans.get(snapshot);
  if (!byCapability) plans.set(snapshot, (byCapability = new Map()));
  let plan = byCapability.get(key);
  if (!plan) byCapability.set(key, (plan = planPatterns(patterns)));
  return plan;
}
