import { z } from 'zod';
import { compileEstimate, evaluateEstimate } from './expressions.js';

/**
 * The normalised form of one tool, whatever file shape or API input it came from. Everything the
 * database stores for a tool version passes through this schema first (see `validation.ts`, the one
 * entry point that every path uses).
 */

/**
 * Size limits of a definition, documented in the README ("Validation and limits"). A 10 MB
 * description made every uncached search 50× slower; these keep one tool small enough to read,
 * search and export quickly.
 */
export const DEFINITION_LIMITS = {
  name: 128,
  platform: 64,
  version: 64,
  category: 64,
  executionLocation: 128,
  successor: 200,
  /** Tool, capability and pattern descriptions. */
  description: 10_000,
  /** One item of typical use cases, limitations. */
  listItem: 2_000,
  /** Items in typical use cases, limitations, tags. */
  listItems: 200,
  tag: 64,
  scope: 64,
  completeness: 64,
  estimate: 1_024,
  /** Each JSON field (metadata, defaults, dependencies, examples, policy, preference match, inputs, outputs), as JSON text. */
  jsonBytes: 65_536,
  capabilities: 200,
  patternsPerCapability: 200,
} as const;

/** Letters, digits and `. + _ ~ -`, starting with a letter or digit: 1.0, 2.3.1-rc.1, 20240101. */
export const VERSION_PATTERN = /^[0-9A-Za-z][0-9A-Za-z.+_~-]*$/;

const NUL_MESSAGE = 'must not contain NUL characters (\\u0000)';

/** Text up to `max` characters, without NUL (PostgreSQL cannot store it in text). */
const text = (max: number) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .refine((value) => !value.includes('\u0000'), NUL_MESSAGE);

/** Where in a JSON value a NUL hides (in a key or a string), as a path below the value. */
function nulPath(value: unknown, path: Array<string | number> = []): Array<string | number> | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nulPath(value[i], [...path, i]);
      if (found) return found;
    }
  } else if (value && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      if (key.includes('\u0000')) return [...path, key];
      const found = nulPath(child, [...path, key]);
      if (found) return found;
    }
  }
  return undefined;
}

/** Checks shared by every JSON field: no NUL anywhere, and at most `jsonBytes` as JSON text. */
function checkJson(value: unknown, ctx: z.RefinementCtx) {
  const nul = nulPath(value);
  if (nul) {
    ctx.addIssue({ code: 'custom', message: NUL_MESSAGE, path: nul });
    return;
  }
  const bytes = Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
  if (bytes > DEFINITION_LIMITS.jsonBytes) {
    ctx.addIssue({ code: 'custom', message: `must be at most ${DEFINITION_LIMITS.jsonBytes} bytes as JSON, found ${bytes}` });
  }
}

const jsonObject = z.record(z.string(), z.unknown()).superRefine(checkJson);
const jsonList = z.array(z.unknown()).superRefine(checkJson);
const textList = (itemMax: number) =>
  z.array(text(itemMax)).max(DEFINITION_LIMITS.listItems, `must hold at most ${DEFINITION_LIMITS.listItems} items`);

/**
 * An estimate must parse as arithmetic; it is stored as written and never run through eval. One with
 * no variables is the same figure for every run, so it is checked now: a time or a cost below zero
 * (or a division by zero) is a mistake whatever the caller passes.
 */
const estimate = text(DEFINITION_LIMITS.estimate).superRefine((source, ctx) => {
  const compiled = compileEstimate(source);
  if (!compiled.ok) {
    ctx.addIssue({ code: 'custom', message: `malformed expression ${JSON.stringify(source)}: ${compiled.error}` });
    return;
  }
  if (compiled.variables.length === 0) {
    const value = evaluateEstimate(compiled, {});
    if (!value.ok) ctx.addIssue({ code: 'custom', message: `expression ${JSON.stringify(source)} has no finite value` });
    else if (value.value < 0) ctx.addIssue({ code: 'custom', message: `expression ${JSON.stringify(source)} is ${value.value}: an estimate is at least 0` });
  }
});

/** Names are trimmed, then checked: a name of spaces is no name. */
const identifier = (max: number) =>
  z
    .string()
    .trim()
    .min(1, 'must not be empty or only spaces')
    .max(max, `must be at most ${max} characters`)
    .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters');

/**
 * A tool name or platform also names a file on export (`<platform>/<name>.yaml`), so nothing that a
 * file system reads as a path is allowed: no `/` or `\\`, not `.` or `..`, no leading `.` (a hidden
 * file, or `../etc/passwd`). NUL and other control characters are refused by `identifier` already.
 */
export const FILE_NAME_MESSAGE = 'must not contain / or \\ nor start with . (it names a file on export)';
const fileNamePart = (max: number) => identifier(max).refine((value) => !/[/\\]/.test(value) && !value.startsWith('.'), FILE_NAME_MESSAGE);

export const patternDefinition = z.object({
  name: identifier(DEFINITION_LIMITS.name),
  description: text(DEFINITION_LIMITS.description).default(''),
  typicalUseCases: textList(DEFINITION_LIMITS.listItem).default([]),
  timeEstimateMs: estimate.nullable().default(null),
  costEstimate: estimate.nullable().default(null),
  complexityScore: z.number().min(0, 'expected a number from 0 to 1').max(1, 'expected a number from 0 to 1').nullable().default(null),
  scope: text(DEFINITION_LIMITS.scope).nullable().default(null),
  completeness: text(DEFINITION_LIMITS.completeness).nullable().default(null),
  limitations: textList(DEFINITION_LIMITS.listItem).default([]),
  policy: jsonObject.default({}),
  preferenceMatch: jsonObject.default({}),
  requiredInputs: jsonList.default([]),
  optionalInputs: jsonList.default([]),
  expectedOutputs: jsonList.default([]),
  examples: jsonList.default([]),
  metadata: jsonObject.default({}),
});

export const capabilityDefinition = z.object({
  name: identifier(DEFINITION_LIMITS.name),
  description: text(DEFINITION_LIMITS.description).default(''),
  metadata: jsonObject.default({}),
  patterns: z
    .array(patternDefinition)
    .max(DEFINITION_LIMITS.patternsPerCapability, `must hold at most ${DEFINITION_LIMITS.patternsPerCapability} patterns`)
    .default([]),
});

export const toolDefinition = z.object({
  // Control characters in a name would break logs, file names on export and URLs; path characters
  // would let an export write outside its directory.
  name: fileNamePart(DEFINITION_LIMITS.name),
  platform: fileNamePart(DEFINITION_LIMITS.platform).toLowerCase(),
  version: z
    .string()
    .min(1, 'must not be empty')
    .max(DEFINITION_LIMITS.version, `must be at most ${DEFINITION_LIMITS.version} characters`)
    .regex(VERSION_PATTERN, 'must start with a letter or digit and hold only letters, digits and . + _ ~ -'),
  description: text(DEFINITION_LIMITS.description).default(''),
  category: identifier(DEFINITION_LIMITS.category).toLowerCase(),
  status: z.enum(['DRAFT', 'ACTIVE', 'DEPRECATED', 'DISABLED']).default('ACTIVE'),
  enabled: z.boolean().default(true),
  /**
   * For a deprecated tool, the tool to use instead (`name` or `name@platform`). A property of the
   * tool: every new version keeps it until it is changed.
   */
  successor: identifier(DEFINITION_LIMITS.successor).nullable().default(null),
  executionLocation: text(DEFINITION_LIMITS.executionLocation).nullable().default(null),
  defaults: jsonObject.default({}),
  dependencies: jsonList.default([]),
  metadata: jsonObject.default({}),
  examples: jsonList.default([]),
  tags: z.array(identifier(DEFINITION_LIMITS.tag)).max(DEFINITION_LIMITS.listItems, `must hold at most ${DEFINITION_LIMITS.listItems} items`).default([]),
  capabilities: z
    .array(capabilityDefinition)
    .max(DEFINITION_LIMITS.capabilities, `must hold at most ${DEFINITION_LIMITS.capabilities} capabilities`)
    .default([]),
});

export type ToolDefinition = z.output<typeof toolDefinition>;
export type CapabilityDefinition = z.output<typeof capabilityDefinition>;
export type PatternDefinition = z.output<typeof patternDefinition>;
