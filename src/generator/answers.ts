// The answers of `tool-catalog new`: one tool, in the words of the standard tool file (the shape of
// catalog/linux/grep.yaml). Templates, answers files, flags and the wizard all fill the same object.
import { parse } from 'yaml';
import { z } from 'zod';
import { closestKey } from '../catalog/shapes/checks.js';

export interface InputAnswer {
  name: string;
  type: string;
  description?: string;
  default?: unknown;
}

export interface PatternAnswers {
  name: string;
  description: string;
  typical_use_cases: string[];
  time_estimate_ms: string;
  cost_estimate: string;
  complexity_score: number;
  scope: string;
  completeness: string;
  limitations: string[];
  policy: { requires_approval: boolean; production_safe: boolean; max_cost?: number; max_execution_time?: number };
  preference_match: Record<PreferenceKey, number>;
  required_inputs: InputAnswer[];
  optional_inputs: InputAnswer[];
  expected_outputs: InputAnswer[];
}

export interface CapabilityAnswers {
  name: string;
  description: string;
  patterns: PatternAnswers[];
}

export interface Answers {
  name: string;
  platform: string;
  category: string;
  description: string;
  version: string;
  execution_location?: string;
  defaults: Record<string, unknown>;
  dependencies: string[];
  capabilities: CapabilityAnswers[];
  metadata: { author?: string; tags?: string[]; documentation_url?: string } & Record<string, unknown>;
}

export const PREFERENCE_KEYS = ['speed', 'accuracy', 'cost', 'complexity', 'completeness'] as const;
export type PreferenceKey = (typeof PREFERENCE_KEYS)[number];

/** What each preference score says, shown by the wizard next to the question. */
export const PREFERENCE_MEANING: Record<PreferenceKey, string> = {
  speed: 'how well it suits a caller who wants the answer fast (1 = the fastest way)',
  accuracy: 'how exact its answer is (1 = authoritative, 0 = a rough guess)',
  cost: 'how well it suits a caller who wants it cheap (1 = costs next to nothing)',
  complexity: 'how simple it is to run and read (1 = trivial)',
  completeness: 'how much of the question it answers (1 = everything, 0 = a sample)',
};

export class AnswersError extends Error {
  override name = 'AnswersError';
}

/** An answers file may hold any part of the answers; unknown keys are refused so a typo is seen. */
const inputSchema = z.object({ name: z.string(), type: z.string(), description: z.string().optional(), default: z.unknown().optional() }).strict();
const patternSchema = z
  .object({
    name: z.string(),
    description: z.string(),
    typical_use_cases: z.array(z.string()),
    time_estimate_ms: z.union([z.string(), z.number()]).transform(String),
    cost_estimate: z.union([z.string(), z.number()]).transform(String),
    complexity_score: z.number(),
    scope: z.string(),
    completeness: z.string(),
    limitations: z.array(z.string()),
    policy: z
      .object({ requires_approval: z.boolean(), production_safe: z.boolean(), max_cost: z.number().optional(), max_execution_time: z.number().optional() })
      .partial()
      .strict(),
    preference_match: z.object(Object.fromEntries(PREFERENCE_KEYS.map((k) => [k, z.number()]))).partial().strict(),
    required_inputs: z.array(inputSchema),
    optional_inputs: z.array(inputSchema),
    expected_outputs: z.array(inputSchema),
  })
  .partial()
  .strict();
const answersSchema = z
  .object({
    name: z.string(),
    platform: z.string(),
    category: z.string(),
    description: z.string(),
    version: z.union([z.string(), z.number()]).transform(String),
    execution_location: z.string(),
    defaults: z.record(z.string(), z.unknown()),
    dependencies: z.array(z.string()),
    capabilities: z.array(z.object({ name: z.string(), description: z.string().optional(), patterns: z.array(patternSchema).optional() }).strict()),
    metadata: z.record(z.string(), z.unknown()),
  })
  .partial()
  .strict();

export type PartialAnswers = z.output<typeof answersSchema>;

/** The keys the answers schema knows at `path` (lists stepped through by position), for suggestions. */
function knownKeysAt(path: ReadonlyArray<PropertyKey>): string[] {
  let node: z.ZodType | undefined = answersSchema;
  for (const step of [...path, null]) {
    for (;;) {
      if (node instanceof z.ZodOptional) node = node.unwrap() as z.ZodType;
      else if (node instanceof z.ZodArray && step !== null && typeof step === 'number') {
        node = node.element as z.ZodType;
        break;
      } else break;
    }
    if (step === null) break;
    if (typeof step === 'number') continue;
    node = node instanceof z.ZodObject ? (node.shape as Record<string, z.ZodType>)[String(step)] : undefined;
  }
  return node instanceof z.ZodObject ? Object.keys(node.shape) : [];
}

/** One schema problem as a sentence: the unknown key and the closest known one, or the field and what is wrong. */
function describeIssue(issue: z.core.$ZodIssue): { path: string[]; text: string } {
  const at = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const suggestion = closestKey(key, knownKeysAt(issue.path));
    return { path: [...at, key], text: `unknown key ${JSON.stringify(key)}${at.length ? ` in ${at.join('.')}` : ''}${suggestion ? ` (did you mean \`${suggestion}\`?)` : ''}` };
  }
  return { path: at, text: `${at.join('.') || '(top)'}: ${issue.message}` };
}

/** Reads an answers file (YAML or JSON: YAML reads both). */
export function parseAnswers(text: string, file: string): PartialAnswers {
  let value: unknown;
  try {
    value = parse(text, { schema: 'core', uniqueKeys: true });
  } catch (error) {
    throw new AnswersError(`${file}: not YAML or JSON: ${(error as Error).message.split('\n')[0]}`);
  }
  const parsed = answersSchema.safeParse(value ?? {});
  if (!parsed.success) throw new AnswersError(`${file}: ${describeIssue(parsed.error.issues[0]!).text}`);
  return parsed.data;
}

/**
 * The answers from every source (template, answers file, flags, `--set`), held to the answers
 * file's own strictness: an unknown key anywhere — a typo in a `--set` path — is an error naming
 * it and the `--set` that made it, never dropped or passed on with a warning. Fields a `--set`
 * created without the rest (a new capability or pattern) get the neutral values a file would.
 */
export function checkedAnswers(answers: Answers, assignments: readonly string[] = []): Answers {
  const parsed = answersSchema.safeParse(answers);
  if (!parsed.success) {
    const { path, text } = describeIssue(parsed.error.issues[0]!);
    const assignment = assignments.find((a) => {
      const keys = a.slice(0, Math.max(0, a.indexOf('='))).split('.');
      return path.every((key, i) => keys[i] === key) || keys.every((key, i) => path[i] === key);
    });
    throw new AnswersError(assignment ? `--set ${assignment}: ${text}` : text);
  }
  return mergeAnswers({ ...answers, capabilities: [] }, parsed.data);
}

/** A blank pattern, filled with neutral values the wizard offers as defaults. */
export function blankPattern(name = 'default'): PatternAnswers {
  return {
    name,
    description: '',
    typical_use_cases: [],
    time_estimate_ms: '1000',
    cost_estimate: '1',
    complexity_score: 0.3,
    scope: 'single_item',
    completeness: 'complete',
    limitations: [],
    policy: { requires_approval: false, production_safe: true },
    preference_match: { speed: 0.5, accuracy: 0.5, cost: 0.5, complexity: 0.5, completeness: 0.5 },
    required_inputs: [],
    optional_inputs: [],
    expected_outputs: [],
  };
}

/** `base` with every answer of `over` on top; capabilities and patterns merge by position. */
export function mergeAnswers(base: Answers, over: PartialAnswers): Answers {
  const merged: Answers = { ...base, ...(over as Partial<Answers>), defaults: { ...base.defaults, ...(over.defaults ?? {}) }, metadata: { ...base.metadata, ...(over.metadata ?? {}) } };
  if (over.capabilities) {
    merged.capabilities = over.capabilities.map((capability, i) => {
      const baseCapability = base.capabilities[i];
      return {
        name: capability.name,
        description: capability.description ?? baseCapability?.description ?? '',
        patterns: (capability.patterns ?? baseCapability?.patterns ?? [blankPattern()]).map((pattern, j) => {
          const basePattern = baseCapability?.patterns[j] ?? blankPattern();
          return {
            ...basePattern,
            ...(pattern as Partial<PatternAnswers>),
            policy: { ...basePattern.policy, ...(pattern.policy ?? {}) },
            preference_match: { ...basePattern.preference_match, ...(pattern.preference_match ?? {}) },
          };
        }),
      };
    });
  }
  return merged;
}

/**
 * Sets one answer by its path (`capabilities.0.patterns.0.time_estimate_ms`), the value read as
 * YAML (`0.5` a number, `true` a boolean, `[a, b]` a list, `"1.0"` a string). Missing lists and
 * maps on the way are created.
 */
export function setAnswer(answers: Answers, assignment: string): void {
  const at = assignment.indexOf('=');
  if (at <= 0) throw new AnswersError(`--set ${assignment}: expected path=value`);
  const path = assignment.slice(0, at).split('.');
  const text = assignment.slice(at + 1);
  let value: unknown;
  try {
    value = parse(text, { schema: 'core' });
  } catch {
    value = text;
  }
  const last = path.pop()!;
  let node: Record<string, unknown> | unknown[] = answers as unknown as Record<string, unknown>;
  const position = (key: string, at: number) => {
    if (Array.isArray(node) && !/^\d+$/.test(key)) {
      throw new AnswersError(`--set ${assignment}: ${path.slice(0, at).join('.')} is a list: give a position (0, 1, …), not ${JSON.stringify(key)}`);
    }
  };
  path.forEach((key, i) => {
    position(key, i);
    const container = node as Record<string, unknown>;
    if (container[key] === undefined || container[key] === null) {
      container[key] = /^\d+$/.test(path[i + 1] ?? last) ? [] : {};
    }
    const next = container[key];
    if (typeof next !== 'object' || next === null) throw new AnswersError(`--set ${assignment}: ${path.slice(0, i + 1).join('.')} is not a list or map`);
    node = next as Record<string, unknown>;
  });
  position(last, path.length);
  (node as Record<string, unknown>)[last] = value;
}

/** `key=value` flags (defaults, metadata) as a map, values read as YAML. */
export function keyValues(pairs: string[], flag: string): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new AnswersError(`${flag} ${pair}: expected key=value`);
    result[pair.slice(0, at)] = parse(pair.slice(at + 1), { schema: 'core' });
  }
  return result;
}
