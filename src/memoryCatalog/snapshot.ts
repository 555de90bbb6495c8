import type { Capability, Pattern, Tool } from '../generated/prisma/client.js';
import { compileEstimate, declaredEstimateVariables, type CompileResult } from '../catalog/expressions.js';

/**
 * One revision of the catalog held in memory: the latest version of every tool that is not deleted,
 * with its capabilities and patterns, compiled once. Every object in it is frozen, and a snapshot is
 * never changed after it is built: a reader holds one snapshot for its whole request, so it can never
 * see half of a change. A newer snapshot reuses the compiled tools that did not change.
 */

/** A tool row as Prisma returns it with its content (the shape the GraphQL Tool type resolves from). */
export type MemoryPatternRow = Pattern;
export type MemoryCapabilityRow = Capability & { patterns: readonly MemoryPatternRow[] };
export type MemoryToolRow = Tool & { capabilities: readonly MemoryCapabilityRow[]; _count: { capabilities: number } };

/** A pattern's policy as selection reads it: a value of another type counts as absent. */
export interface PatternPolicy {
  /** `policy.max_cost` when it is a finite number. */
  maxCost: number | null;
  /** False only when `policy.production_safe` is literally `false`. */
  productionSafe: boolean;
  /** True only when `policy.requires_approval` is literally `true`. */
  requiresApproval: boolean;
}

/** A pattern compiled for selection: its estimates parsed once per revision, never per request. */
export interface CompiledPattern {
  tool: MemoryTool;
  capability: MemoryCapabilityRow;
  pattern: MemoryPatternRow;
  /** null when the pattern has no such estimate. */
  time: CompileResult | null;
  cost: CompileResult | null;
  /** Globals overridden by the numeric defaults its inputs declare (estimateVariables' first two steps). */
  declaredVariables: Readonly<Record<string, number>>;
  policy: PatternPolicy;
  /** complexity_score, or null when absent. */
  complexityScore: number | null;
  /** preference_match.accuracy / .completeness when numbers, else null. */
  accuracy: number | null;
  completeness: number | null;
}

export interface MemoryTool {
  row: MemoryToolRow;
  patterns: readonly CompiledPattern[];
  /** What identifies this exact state of the row: a new version or lifecycle change makes a new one. */
  stamp: string;
  /** Name and description lower-cased once, for `tools(search:)` (case-insensitive substring). */
  searchName: string;
  searchDescription: string;
}

/**
 * Heap bytes per byte of a row's JSON text, as measured with 5,000 generated tools (objects, hidden
 * classes, Dates, the compiled expressions): an estimate for the memory gauge, not an exact figure.
 */
const HEAP_BYTES_PER_JSON_BYTE = 1.1;

const approximateSizes = new WeakMap<MemoryTool, number>();

/**
 * Approximate heap bytes of a compiled tool: its row's JSON size, scaled. Measured when first asked
 * (a scrape of the memory gauge), not while the catalog loads, and kept with the tool.
 */
export function approximateBytes(tool: MemoryTool): number {
  let bytes = approximateSizes.get(tool);
  if (bytes === undefined) {
    bytes = Math.round(JSON.stringify(tool.row).length * HEAP_BYTES_PER_JSON_BYTE);
    approximateSizes.set(tool, bytes);
  }
  return bytes;
}

export type SnapshotSource = 'database' | 'file';

export interface CatalogSnapshot {
  /** The catalog revision (event log) this snapshot reflects. */
  revision: bigint;
  builtAt: Date;
  /** Where it came from: the database, or the profiles snapshot file while the database was unreachable. */
  source: SnapshotSource;
  /** Every tool, by `name\u0000platform`. */
  byIdentity: ReadonlyMap<string, MemoryTool>;
  /** Tools by exact name, ordered by platform. */
  byName: ReadonlyMap<string, readonly MemoryTool[]>;
  /** Compiled patterns by lower-cased capability name. */
  byCapability: ReadonlyMap<string, readonly CompiledPattern[]>;
  /** Every tool, ordered by name then platform (code point order). */
  tools: readonly MemoryTool[];
  /** Every tool by the id of its latest version. */
  byId: ReadonlyMap<string, MemoryTool>;
  /** Stored versions of the tools that are not deleted (drafts and older versions included); null when unknown (a snapshot file). */
  versionCount: number | null;
}

export const identityKey = (name: string, platform: string) => `${name}\u0000${platform}`;

/**
 * Plain string comparison by code point (not UTF-16 unit, not locale). UTF-16 units order like code
 * points except that a surrogate (U+D800–U+DFFF, half of a character above U+FFFF) must sort after
 * the units U+E000–U+FFFF: only the first differing unit is compared, lifted accordingly.
 */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    let left = a.charCodeAt(i);
    let right = b.charCodeAt(i);
    if (left === right) continue;
    if (left >= 0xd800) left += left >= 0xe000 ? -0x800 : 0x2000;
    if (right >= 0xd800) right += right >= 0xe000 ? -0x800 : 0x2000;
    return left < right ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/**
 * Estimates compiled once per distinct expression text, shared by every pattern that uses it (a
 * catalog repeats a few hundred expressions over tens of thousands of patterns; each compiled form is
 * a tree of closures, ~1 KB). A compiled estimate is pure and frozen, so sharing is safe. Bounded:
 * emptied when full, which only costs compiling again.
 */
const compiledEstimates = new Map<string, CompileResult>();
const COMPILED_ESTIMATES_LIMIT = 50_000;

function sharedEstimate(source: string): CompileResult {
  let compiled = compiledEstimates.get(source);
  if (!compiled) {
    compiled = compileEstimate(source);
    if (compiled.ok) Object.freeze(compiled.variables);
    Object.freeze(compiled);
    if (compiledEstimates.size >= COMPILED_ESTIMATES_LIMIT) compiledEstimates.clear();
    compiledEstimates.set(source, compiled);
  }
  return compiled;
}

/**
 * Equal values held once. The rows of a catalog repeat the same texts and the same small JSON values
 * (an input `{name: "timeout_seconds", type: "integer", ...}`, a policy, a list of use cases)
 * thousands of times, and each row read from the database brings its own copies: with 5,000
 * generated tools, patterns held 384,000 JSON objects and arrays of which 72,000 were distinct.
 * Within one build of a snapshot, a string or JSON value equal to one already seen is replaced by
 * that one. Shared values are frozen, so rows can share them safely; fewer objects also make every
 * full garbage collection, which marks the whole catalog, cheaper. One instance lives for one build
 * and is dropped with it, so nothing is held between changes (a tool compiled later shares only
 * within its own build).
 */
export class SharedValues {
  readonly #strings = new Map<string, string>();
  readonly #values = new Map<string, object>();
  /** Each shared value's number: a parent's key names its children by number instead of by text. */
  readonly #numbers = new Map<object, number>();

  string(value: string): string {
    const known = this.#strings.get(value);
    if (known !== undefined) return known;
    this.#strings.set(value, value);
    return value;
  }

  /** The shared copy of a JSON value, its children shared first. Values already frozen are kept as they are. */
  json<T>(value: T): T {
    if (typeof value === 'string') return this.string(value) as T;
    if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
    const record = value as Record<string, unknown>;
    const array = Array.isArray(value) ? (value as unknown[]) : undefined;
    // Arrays by index: their keys would be made as strings one by one.
    const names = array ? [] : Object.keys(record);
    let nested = false;
    if (array) {
      for (let i = 0; i < array.length; i++) {
        const item = this.json(array[i]);
        array[i] = item;
        if (item !== null && typeof item === 'object') nested = true;
      }
    } else {
      for (const name of names) {
        const item = this.json(record[name]);
        record[name] = item;
        if (item !== null && typeof item === 'object') nested = true;
      }
    }
    // Most values hold only strings, numbers and booleans: their key is their JSON text, which the
    // engine writes fastest. A value holding others names each by its shared number (`#n`), which
    // cannot be confused with JSON text, where `#` appears only inside strings.
    let key: string;
    if (!nested) key = JSON.stringify(value);
    else if (array) key = `[${array.map((item) => this.#part(item)).join(',')}]`;
    else key = `{${names.map((name) => `${JSON.stringify(name)}:${this.#part(record[name])}`).join(',')}}`;
    const known = this.#values.get(key);
    if (known) return known as T;
    Object.freeze(value);
    this.#numbers.set(value, this.#numbers.size);
    this.#values.set(key, value);
    return value;
  }

  #part(item: unknown): string {
    if (item !== null && typeof item === 'object') {
      const number = this.#numbers.get(item);
      // A frozen value from elsewhere is not shared: its key is its text.
      return number === undefined ? `=${JSON.stringify(item)}` : `#${number}`;
    }
    return item === undefined ? 'u' : JSON.stringify(item);
  }
}

const TOOL_JSON_FIELDS = ['defaults', 'dependencies', 'metadata', 'examples', 'tags'] as const;
const PATTERN_JSON_FIELDS = [
  'typicalUseCases',
  'limitations',
  'policy',
  'preferenceMatch',
  'requiredInputs',
  'optionalInputs',
  'expectedOutputs',
  'examples',
  'metadata',
] as const;

/** Shares the JSON columns and every string of a row (not yet frozen) through `shared`; returns the row. */
function shareRow(row: MemoryToolRow, shared: SharedValues): MemoryToolRow {
  const tool = row as unknown as Record<string, unknown>;
  for (const field of TOOL_JSON_FIELDS) tool[field] = shared.json(tool[field]);
  for (const capability of row.capabilities) {
    const capabilityRecord = capability as unknown as Record<string, unknown>;
    capabilityRecord.metadata = shared.json(capabilityRecord.metadata);
    for (const pattern of capability.patterns) {
      const patternRecord = pattern as unknown as Record<string, unknown>;
      for (const field of PATTERN_JSON_FIELDS) patternRecord[field] = shared.json(patternRecord[field]);
      shareStrings(patternRecord, shared);
    }
    shareStrings(capabilityRecord, shared);
  }
  shareStrings(tool, shared);
  return row;
}

/**
 * A pattern's declared variables as one shared object per distinct set (most patterns declare none
 * beyond the globals): selection merges the request's variables once per distinct set, not once per
 * pattern. Names in code-point order, so that the order inputs were written in does not matter.
 */
function declaredSet(variables: Record<string, number>, shared: SharedValues): Readonly<Record<string, number>> {
  return shared.json(Object.fromEntries(Object.entries(variables).sort(([a], [b]) => compareCodePoints(a, b))));
}

/** Replaces the string values directly in `record` with their shared copies. */
function shareStrings(record: Record<string, unknown>, shared: SharedValues): void {
  for (const key of Object.keys(record)) {
    const item = record[key];
    if (typeof item === 'string') record[key] = shared.string(item);
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value as object)) deepFreeze(child);
  }
  return value;
}

const finite = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);
const asObject = (value: unknown): Record<string, unknown> =>
  value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

function stampOf(row: Tool): string {
  return `${row.id}:${row.revision}:${row.updatedAt.getTime()}:${row.enabled}:${row.status}:${row.successor ?? ''}`;
}

/**
 * Compiles one tool row (already frozen or not) into its in-memory form. A row not yet frozen shares
 * its values with the other rows compiled with the same `shared` (one build of a snapshot).
 */
export function compileTool(input: MemoryToolRow, shared: SharedValues = new SharedValues()): MemoryTool {
  const row = deepFreeze(Object.isFrozen(input) ? input : shareRow(input, shared));
  const tool = {
    row,
    patterns: [] as CompiledPattern[],
    stamp: stampOf(row),
    searchName: row.name.toLowerCase(),
    searchDescription: row.description.toLowerCase(),
  };
  for (const capability of row.capabilities) {
    for (const pattern of capability.patterns) {
      const policy = asObject(pattern.policy);
      const preference = asObject(pattern.preferenceMatch);
      tool.patterns.push(
        Object.freeze({
          tool,
          capability,
          pattern,
          time: pattern.timeEstimateMs === null ? null : sharedEstimate(pattern.timeEstimateMs),
          cost: pattern.costEstimate === null ? null : sharedEstimate(pattern.costEstimate),
          declaredVariables: declaredSet(
            declaredEstimateVariables({ requiredInputs: pattern.requiredInputs as unknown[], optionalInputs: pattern.optionalInputs as unknown[] }),
            shared,
          ),
          policy: Object.freeze({
            maxCost: finite(policy.max_cost),
            productionSafe: policy.production_safe !== false,
            requiresApproval: policy.requires_approval === true,
          }),
          complexityScore: finite(pattern.complexityScore),
          accuracy: finite(preference.accuracy),
          completeness: finite(preference.completeness),
        }),
      );
    }
  }
  Object.freeze(tool.patterns);
  return Object.freeze(tool);
}

/**
 * Builds a snapshot from every tool of a revision. `previous` lends its compiled tools to rows that
 * did not change (same id, revision, lifecycle), so a rebuild compiles only what changed.
 */
export function buildSnapshot(
  revision: bigint,
  tools: Iterable<MemoryTool>,
  source: SnapshotSource = 'database',
  versionCount: number | null = null,
): CatalogSnapshot {
  const sorted = [...tools].sort((a, b) => compareCodePoints(a.row.name, b.row.name) || compareCodePoints(a.row.platform, b.row.platform));
  const byIdentity = new Map<string, MemoryTool>();
  const byName = new Map<string, MemoryTool[]>();
  const byCapability = new Map<string, CompiledPattern[]>();
  const byId = new Map<string, MemoryTool>();
  for (const tool of sorted) {
    byId.set(tool.row.id, tool);
    byIdentity.set(identityKey(tool.row.name, tool.row.platform), tool);
    const named = byName.get(tool.row.name);
    if (named) named.push(tool);
    else byName.set(tool.row.name, [tool]);
    for (const compiled of tool.patterns) {
      const key = compiled.capability.name.toLowerCase();
      const list = byCapability.get(key);
      if (list) list.push(compiled);
      else byCapability.set(key, [compiled]);
    }
  }
  for (const list of byName.values()) Object.freeze(list);
  for (const list of byCapability.values()) Object.freeze(list);
  return Object.freeze({
    revision,
    builtAt: new Date(),
    source,
    byIdentity,
    byName,
    byCapability,
    tools: Object.freeze(sorted),
    byId,
    versionCount,
  });
}

/** Reuses the compiled form of a row when `previous` holds the same state of it. */
export function compileOrReuse(row: MemoryToolRow, previous: CatalogSnapshot | undefined, shared: SharedValues): MemoryTool {
  const existing = previous?.byIdentity.get(identityKey(row.name, row.platform));
  return existing && existing.stamp === stampOf(row) ? existing : compileTool(row, shared);
}

/** What `tool(name, platform)` reads without a version: the latest enabled version(s) of that name, at most two. */
export function latestEnabledByName(snapshot: CatalogSnapshot, name: string, platform?: string | null): MemoryToolRow[] {
  const wanted = platform?.toLowerCase();
  return (snapshot.byName.get(name) ?? [])
    .filter((tool) => tool.row.enabled && (!wanted || tool.row.platform.toLowerCase() === wanted))
    .slice(0, 2)
    .map((tool) => tool.row);
}
