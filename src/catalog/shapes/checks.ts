import { closest, distance } from 'fastest-levenshtein';
import type { FileReport, SourcePath } from '../diagnostics.js';
import { describeValue } from '../yamlSource.js';
import { isMap, type Json, type MapReader } from './reader.js';

/**
 * Checks of values inside a pattern that the model stores as JSON (policy, preference scores,
 * inputs, outputs) and of keys nobody models. They run on every path (files, API, generator),
 * because every path reads its definition through the shape readers.
 */

/** Typed policy keys of the legacy corpus. Other keys are kept, with a warning naming the closest known key. */
const POLICY_KEYS: Record<string, 'boolean' | 'number' | 'text'> = {
  requires_approval: 'boolean',
  approval_required: 'boolean',
  production_safe: 'boolean',
  max_execution_time: 'number',
  timeout_seconds: 'number',
  max_cost: 'number',
  requires_background_if: 'text',
};

/** Preference scores: how well a pattern serves each preference, every one from 0 to 1. */
export const PREFERENCE_KEYS = ['speed', 'accuracy', 'cost', 'complexity', 'completeness'] as const;

/** The known key closest to `key` when it is near enough to be a typo. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  if (!known.length) return undefined;
  const best = closest(key, known as string[]);
  const d = distance(key.toLowerCase(), best.toLowerCase());
  return d <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

function unknownKeyMessage(key: string, known: readonly string[], keptIn: string) {
  // A key known to another shape (`name` next to `tool_name`, `schema` in a legacy file) is not a
  // typo: say that this file's shape does not read it rather than suggest the key itself.
  if (known.includes(key)) return `key ${JSON.stringify(key)} is not read in a file of this shape; kept in ${keptIn}`;
  const suggestion = closestKey(key, known);
  return `unknown key ${JSON.stringify(key)}${suggestion ? ` (did you mean \`${suggestion}\`?)` : ''}; kept in ${keptIn}`;
}

/** Reports every key of `reader` not read so far: a warning (error when strict) naming the closest known key. */
export function reportUnknownKeys(reader: MapReader, known: readonly string[], keptIn = 'metadata') {
  for (const key of Object.keys(reader.rest())) reader.report.unknownKey(reader.at(key), unknownKeyMessage(key, known, keptIn));
}

export function checkPolicy(policy: Json, path: SourcePath, report: FileReport) {
  for (const [key, value] of Object.entries(policy)) {
    const at = [...path, key];
    const type = POLICY_KEYS[key];
    if (!type) {
      report.unknownKey(at, unknownKeyMessage(key, Object.keys(POLICY_KEYS), 'policy'));
      continue;
    }
    if (value === null || value === undefined) continue;
    if (type === 'boolean' && typeof value !== 'boolean') report.error(at, `expected true or false, found ${describeValue(value)}`);
    if (type === 'number' && !(typeof value === 'number' && Number.isFinite(value) && value >= 0)) {
      report.error(at, `expected a number of at least 0, found ${describeValue(value)}`);
    }
    if (type === 'text' && typeof value !== 'string') report.error(at, `expected text, found ${describeValue(value)}`);
  }
}

export function checkPreferences(preferences: Json, path: SourcePath, report: FileReport) {
  for (const [key, value] of Object.entries(preferences)) {
    const at = [...path, key];
    if (!(PREFERENCE_KEYS as readonly string[]).includes(key)) report.unknownKey(at, unknownKeyMessage(key, PREFERENCE_KEYS, 'preference_match'));
    if (!(typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 1)) {
      report.error(at, `expected a score from 0 to 1, found ${describeValue(value)}`);
    }
  }
}

/**
 * Inputs and outputs are lists of maps with a `name` (unique in the list), an optional text `type`
 * and, for inputs, an optional boolean `required`: breaking-change detection and estimate variables
 * match them by name.
 */
export function checkParameters(list: unknown[], path: SourcePath, report: FileReport, what: 'input' | 'output') {
  const seen = new Set<string>();
  list.forEach((item, index) => {
    const at = [...path, index];
    if (!isMap(item)) {
      report.error(at, `expected an ${what} as a map with a name, found ${describeValue(item)}`);
      return;
    }
    if (typeof item.name !== 'string' || !item.name.trim()) {
      report.error([...at, 'name'], `expected the ${what}'s name as text, found ${describeValue(item.name)}`);
      return;
    }
    if (seen.has(item.name)) report.error([...at, 'name'], `${what} ${JSON.stringify(item.name)} appears twice`);
    seen.add(item.name);
    if (item.type !== undefined && item.type !== null && typeof item.type !== 'string') {
      report.error([...at, 'type'], `expected the type as text, found ${describeValue(item.type)}`);
    }
    if (what === 'input' && item.required !== undefined && item.required !== null && typeof item.required !== 'boolean') {
      report.error([...at, 'required'], `expected true or false, found ${describeValue(item.required)}`);
    }
  });
}
