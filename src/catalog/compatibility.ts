import type { PatternDefinition, ToolDefinition } from './definition.js';

/**
 * Breaking changes between two versions of a tool: what a caller written against the older
 * version would trip over. Inputs and outputs are matched by name within the pattern of the same
 * capability and name, never by position.
 */

export type BreakingKind = 'INPUT_REMOVED' | 'INPUT_REQUIRED_ADDED' | 'INPUT_TYPE_CHANGED' | 'OUTPUT_REMOVED' | 'OUTPUT_TYPE_CHANGED';

export interface BreakingChange {
  kind: BreakingKind;
  /** Dotted path of the input or output, capabilities and patterns by name: `capabilities.search.patterns.basic.requiredInputs.pattern`. */
  path: string;
  message: string;
}

interface Parameter {
  name: string;
  type?: string;
  required: boolean;
  hasDefault: boolean;
}

function parameters(list: unknown[], required: boolean): Parameter[] {
  return list.flatMap((item) => {
    if (!item || typeof item !== 'object' || Array.isArray(item)) return [];
    const entry = item as Record<string, unknown>;
    if (typeof entry.name !== 'string') return [];
    return [{ name: entry.name, type: typeof entry.type === 'string' ? entry.type : undefined, required, hasDefault: entry.default !== undefined && entry.default !== null }];
  });
}

const inputsOf = (pattern: PatternDefinition) =>
  new Map([...parameters(pattern.optionalInputs, false), ...parameters(pattern.requiredInputs, true)].map((p) => [p.name, p]));
const outputsOf = (pattern: PatternDefinition) => new Map(parameters(pattern.expectedOutputs, false).map((p) => [p.name, p]));

function comparePatterns(before: PatternDefinition, after: PatternDefinition, at: string): BreakingChange[] {
  const changes: BreakingChange[] = [];
  const inputsBefore = inputsOf(before);
  const inputsAfter = inputsOf(after);
  for (const [name, old] of inputsBefore) {
    const now = inputsAfter.get(name);
    if (!now) {
      if (old.required) changes.push({ kind: 'INPUT_REMOVED', path: `${at}.requiredInputs.${name}`, message: `required input ${JSON.stringify(name)} was removed or renamed` });
    } else if (old.type !== now.type) {
      changes.push({ kind: 'INPUT_TYPE_CHANGED', path: `${at}.${now.required ? 'requiredInputs' : 'optionalInputs'}.${name}`, message: `input ${JSON.stringify(name)} changed type from ${old.type ?? 'none'} to ${now.type ?? 'none'}` });
    }
  }
  for (const [name, now] of inputsAfter) {
    const old = inputsBefore.get(name);
    if (now.required && !now.hasDefault && !old?.required) {
      changes.push({
        kind: 'INPUT_REQUIRED_ADDED',
        path: `${at}.requiredInputs.${name}`,
        message: `${old ? 'optional' : 'new'} input ${JSON.stringify(name)} is required and has no default`,
      });
    }
  }
  const outputsAfter = outputsOf(after);
  for (const [name, old] of outputsOf(before)) {
    const now = outputsAfter.get(name);
    if (!now) changes.push({ kind: 'OUTPUT_REMOVED', path: `${at}.expectedOutputs.${name}`, message: `output ${JSON.stringify(name)} was removed or renamed` });
    else if (old.type !== now.type) {
      changes.push({ kind: 'OUTPUT_TYPE_CHANGED', path: `${at}.expectedOutputs.${name}`, message: `output ${JSON.stringify(name)} changed type from ${old.type ?? 'none'} to ${now.type ?? 'none'}` });
    }
  }
  return changes;
}

/** Every breaking change from `before` to `after`, pattern by pattern (patterns present in both). */
export function breakingChanges(before: ToolDefinition, after: ToolDefinition): BreakingChange[] {
  const changes: BreakingChange[] = [];
  for (const capability of before.capabilities) {
    const next = after.capabilities.find((c) => c.name === capability.name);
    if (!next) continue;
    for (const pattern of capability.patterns) {
      const nextPattern = next.patterns.find((p) => p.name === pattern.name);
      if (nextPattern) changes.push(...comparePatterns(pattern, nextPattern, `capabilities.${capability.name}.patterns.${pattern.name}`));
    }
  }
  return changes;
}

/** `1`, `1.2`, `1.2.3`, each with an optional `-prerelease` and `+build`: versions whose first number is the major. */
const SEMVER_LIKE = /^(\d+)(?:\.\d+){0,2}(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

export function majorOf(version: string): bigint | undefined {
  const match = SEMVER_LIKE.exec(version);
  return match ? BigInt(match[1]!) : undefined;
}

export interface CompatibilityVerdict {
  breaking: boolean;
  changes: BreakingChange[];
  /** Allowed as a new version: no breaking change, or a new major version, or acknowledged with `breaking: true`. */
  allowed: boolean;
  /** Why a breaking change is not allowed, when it is not. */
  reason?: string;
}

/**
 * Whether `after` may follow `before`: breaking changes need a new major version when both
 * versions are semver-like, otherwise an explicit acknowledgement (`breaking: true`).
 */
export function judgeCompatibility(before: ToolDefinition, after: ToolDefinition, acknowledged = false): CompatibilityVerdict {
  const changes = breakingChanges(before, after);
  if (!changes.length) return { breaking: false, changes, allowed: true };
  const from = majorOf(before.version);
  const to = majorOf(after.version);
  if (from !== undefined && to !== undefined) {
    if (to > from) return { breaking: true, changes, allowed: true };
    return { breaking: true, changes, allowed: false, reason: `breaking changes need a new major version (${from + 1n}.0 or later), not ${after.version}` };
  }
  if (acknowledged) return { breaking: true, changes, allowed: true };
  return { breaking: true, changes, allowed: false, reason: `breaking changes between ${before.version} and ${after.version} need \`breaking: true\` (the versions are not semver)` };
}

/** The refusal of a breaking change that is not allowed: one field error per breaking change. */
export function breakingRefusal(verdict: CompatibilityVerdict): { message: string; problems: Array<{ path: string; message: string }> } {
  return {
    message: `${verdict.reason}: ${verdict.changes.map((c) => c.message).join('; ')}`,
    problems: verdict.changes.map((c) => ({ path: c.path, message: `${c.message} (${verdict.reason})` })),
  };
}
