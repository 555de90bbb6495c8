// The interactive part of `tool-catalog new`: the legacy generator's seven steps as terminal
// prompts (@clack/prompts). Every prompt can be cancelled (Ctrl-C or Esc): the wizard then stops
// and nothing is written. Each step starts from the current answers (template, answers file, flags).
import * as p from '@clack/prompts';
import { KNOWN_COMPLETENESS, KNOWN_PLATFORMS, KNOWN_SCOPES } from '../catalog/vocabulary.js';
import { formatDiagnostic } from '../catalog/diagnostics.js';
import { blankPattern, PREFERENCE_KEYS, PREFERENCE_MEANING, type Answers, type InputAnswer, type PatternAnswers } from './answers.js';
import { checkAnswers, policyWarnings, previewEstimate, type EstimateKind } from './render.js';

export class WizardCancelled extends Error {
  override name = 'WizardCancelled';
}

const CATEGORIES = [
  'system', 'network', 'database', 'cloud', 'container', 'monitoring', 'security', 'automation', 'filesystem', 'logging',
  'storage', 'text-processing', 'process-management', 'communication', 'asset',
];

function answered<T>(value: T): Exclude<T, symbol> {
  if (p.isCancel(value)) throw new WizardCancelled('cancelled');
  return value as Exclude<T, symbol>;
}

async function ask(message: string, initialValue: string, validate?: (value: string) => string | undefined): Promise<string> {
  return answered(await p.text({ message, initialValue, validate: validate ? (v) => validate(v ?? '') : undefined })).trim();
}

async function choose(message: string, values: string[], current: string, otherLabel = 'something else…'): Promise<string> {
  const options = [...new Set([current, ...values].filter(Boolean))].map((value) => ({ value, label: value }));
  const picked = answered(await p.select({ message, options: [...options, { value: '\u0000other', label: otherLabel }], initialValue: current || values[0] }));
  if (picked !== '\u0000other') return picked;
  return ask(`${message} (type it)`, '', (v) => (v.trim() ? undefined : 'required'));
}

const required = (v: string) => (v.trim() ? undefined : 'required');
const list = (text: string) => text.split(',').map((s) => s.trim()).filter(Boolean);
const score = (v: string) => (/^\s*(0(\.\d+)?|1(\.0+)?)\s*$/.test(v) ? undefined : 'a number from 0 to 1');

/** `name:type=default` items, comma-separated. */
function parseInputs(text: string): InputAnswer[] {
  return list(text).map((item) => {
    const match = /^([^:=\s]+)(?::([^=\s]+))?(?:=(.*))?$/.exec(item);
    if (!match) throw new Error(`not name:type=default: ${item}`);
    const [, name, type = 'string', fallback] = match;
    const numeric = fallback !== undefined && fallback.trim() !== '' && Number.isFinite(Number(fallback)) ? Number(fallback) : undefined;
    const value = fallback === undefined ? undefined : numeric ?? (fallback === 'true' ? true : fallback === 'false' ? false : fallback);
    return { name: name!, type, ...(value === undefined ? {} : { default: value }) };
  });
}
const showInputs = (inputs: InputAnswer[]) =>
  inputs.map((i) => `${i.name}:${i.type}${i.default === undefined ? '' : `=${String(i.default)}`}`).join(', ');
const validInputs = (v: string) => {
  try {
    parseInputs(v);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
};
/** Keeps what the file said about each input (descriptions) when only names, types and defaults are edited. */
const keepDescriptions = (edited: InputAnswer[], before: InputAnswer[]) =>
  edited.map((input) => {
    const old = before.find((b) => b.name === input.name);
    return old?.description ? { ...input, description: old.description } : input;
  });

async function basics(answers: Answers) {
  p.log.step('1/7 Basic information');
  answers.name = await ask('Tool name (as operators call it, e.g. grep or Get-Process)', answers.name, (v) =>
    !v.trim() ? 'required' : /[\p{Cc}]/u.test(v) ? 'no control characters' : undefined,
  );
  answers.platform = await choose('Platform', [...KNOWN_PLATFORMS], answers.platform);
  answers.category = await choose('Category', CATEGORIES, answers.category);
  answers.description = await ask('Description (one sentence: what it does)', answers.description, required);
  answers.version = await ask('Version', answers.version || '1.0', (v) => (/^[0-9A-Za-z][0-9A-Za-z.+_~-]*$/.test(v.trim()) ? undefined : 'letters, digits and . + _ ~ -, e.g. 1.0'));
}

async function defaults(answers: Answers) {
  p.log.step('2/7 Defaults (what holds for every pattern unless it says otherwise)');
  answers.execution_location = await ask('Where it runs (execution_location)', answers.execution_location ?? 'remote-agent');
  for (const key of Object.keys(answers.defaults)) {
    answers.defaults[key] = await ask(`Default ${key}`, String(answers.defaults[key] ?? ''));
  }
  const extra = await ask('More defaults as key=value, comma-separated (empty: none)', '');
  for (const pair of list(extra)) {
    const [key, ...value] = pair.split('=');
    if (key && value.length) answers.defaults[key.trim()] = value.join('=').trim();
  }
}

async function dependencies(answers: Answers) {
  p.log.step('3/7 Dependencies');
  answers.dependencies = list(await ask('What it needs to run, comma-separated (empty: nothing)', answers.dependencies.join(', ')));
}

async function estimate(message: string, current: string, pattern: PatternAnswers, kind: EstimateKind): Promise<string> {
  for (;;) {
    const expression = await ask(message, current, (v) => (v.trim() ? undefined : 'required (a number is fine)'));
    const preview = previewEstimate(expression, pattern, kind);
    if (preview.ok) {
      p.log.info(`${expression} ${preview.text}`);
      if (preview.warning) p.log.warn(preview.warning);
      return expression;
    }
    p.log.error(preview.text);
    current = expression;
  }
}

async function patternStep(pattern: PatternAnswers, capability: string): Promise<PatternAnswers> {
  pattern.name = await ask(`Pattern name (a way to do ${capability})`, pattern.name, required);
  pattern.description = await ask('Pattern description', pattern.description, required);
  pattern.typical_use_cases = list(await ask('Typical use cases, comma-separated', pattern.typical_use_cases.join(', ')));
  const required_inputs = await ask('Required inputs as name:type, comma-separated', showInputs(pattern.required_inputs), validInputs);
  pattern.required_inputs = keepDescriptions(parseInputs(required_inputs), pattern.required_inputs);
  const optional_inputs = await ask('Optional inputs as name:type=default (numeric defaults feed the estimates)', showInputs(pattern.optional_inputs), validInputs);
  pattern.optional_inputs = keepDescriptions(parseInputs(optional_inputs), pattern.optional_inputs);
  p.log.info('Estimates are arithmetic on numbers and variables (N = items, pages, p95_latency, or your inputs), e.g. 200 + 0.5 * N or ceil(N / 10).');
  pattern.time_estimate_ms = await estimate('Time estimate in ms', pattern.time_estimate_ms, pattern, 'time');
  pattern.cost_estimate = await estimate('Cost estimate (relative units)', pattern.cost_estimate, pattern, 'cost');
  pattern.complexity_score = Number(await ask('Complexity score, 0 (trivial) to 1 (hard)', String(pattern.complexity_score), score));
  pattern.scope = await choose('Scope', [...KNOWN_SCOPES], pattern.scope);
  pattern.completeness = await choose('Completeness', [...KNOWN_COMPLETENESS], pattern.completeness);
  pattern.limitations = list(await ask('Limitations, comma-separated', pattern.limitations.join(', ')));
  p.log.info('Policy: what the pipeline must respect before running this pattern.');
  pattern.policy.requires_approval = answered(await p.confirm({ message: 'Requires a human approval before it runs?', initialValue: pattern.policy.requires_approval }));
  pattern.policy.production_safe = answered(await p.confirm({ message: 'Safe to run in production?', initialValue: pattern.policy.production_safe }));
  const maxCost = await ask('Most it may cost (policy.max_cost; empty: no limit)', pattern.policy.max_cost === undefined ? '' : String(pattern.policy.max_cost), (v) =>
    v.trim() === '' || Number.isFinite(Number(v)) ? undefined : 'a number, or empty',
  );
  if (maxCost === '') delete pattern.policy.max_cost;
  else pattern.policy.max_cost = Number(maxCost);
  // The limit may have changed after the cost was worked out: held against it again.
  const cost = previewEstimate(pattern.cost_estimate, pattern, 'cost');
  if (cost.warning) p.log.warn(cost.warning);
  p.log.info('Preference scores, 0 to 1: how well this pattern fits a caller who prefers…');
  for (const key of PREFERENCE_KEYS) {
    pattern.preference_match[key] = Number(await ask(`${key}: ${PREFERENCE_MEANING[key]}`, String(pattern.preference_match[key] ?? 0.5), score));
  }
  const outputs = await ask('Outputs as name:type, comma-separated', showInputs(pattern.expected_outputs), validInputs);
  pattern.expected_outputs = keepDescriptions(parseInputs(outputs), pattern.expected_outputs);
  return pattern;
}

async function capabilities(answers: Answers) {
  p.log.step('4/7 Capabilities and patterns');
  const result: Answers['capabilities'] = [];
  let index = 0;
  for (;;) {
    const current = answers.capabilities[index] ?? { name: '', description: '', patterns: [blankPattern()] };
    const name = await ask('Capability name (what it can do, e.g. text_search)', current.name, required);
    const description = await ask('Capability description', current.description, required);
    const patterns: PatternAnswers[] = [];
    let patternIndex = 0;
    for (;;) {
      patterns.push(await patternStep(structuredClone(current.patterns[patternIndex] ?? blankPattern(`pattern_${patternIndex + 1}`)), name));
      patternIndex++;
      const more = answered(await p.confirm({ message: `Another pattern for ${name}?`, initialValue: patternIndex < current.patterns.length }));
      if (!more) break;
    }
    result.push({ name, description, patterns });
    index++;
    const more = answered(await p.confirm({ message: 'Another capability?', initialValue: index < answers.capabilities.length }));
    if (!more) break;
  }
  answers.capabilities = result;
}

async function metadata(answers: Answers) {
  p.log.step('5/7 Metadata');
  answers.metadata.author = await ask('Author (team or person to ask)', String(answers.metadata.author ?? ''), required);
  answers.metadata.tags = list(await ask('Tags, comma-separated', (answers.metadata.tags ?? []).join(', ')));
  const url = await ask('Documentation URL (empty: none)', String(answers.metadata.documentation_url ?? ''));
  if (url) answers.metadata.documentation_url = url;
  else delete answers.metadata.documentation_url;
}

const STEPS = [basics, defaults, dependencies, capabilities, metadata];
const STEP_NAMES = ['basic information', 'defaults', 'dependencies', 'capabilities and patterns', 'metadata'];

export interface WizardChecks {
  strict?: boolean;
  /**
   * True when saving would meet a file already there (and it was not replaced with --force): the
   * review then offers to replace it, after a confirmation, or to change the name first.
   */
  exists?: (file: string) => boolean;
}

/**
 * Runs the steps, then the review (step 6) until the operator saves a valid tool; returns the
 * answers, the checked YAML and whether the operator chose to replace an existing file. Throws
 * WizardCancelled when cancelled at any prompt.
 */
export async function runWizard(answers: Answers, fileName: () => string, intro: string, checks: WizardChecks = {}): Promise<{ answers: Answers; yaml: string; replace: boolean }> {
  p.intro(intro);
  for (const step of STEPS) await step(answers);
  for (;;) {
    p.log.step('6/7 Review');
    const file = fileName();
    const verdict = await checkAnswers(answers, file, { strict: checks.strict });
    p.note(verdict.yaml.trimEnd(), file);
    if (verdict.diagnostics.length) {
      for (const d of verdict.diagnostics) (d.severity === 'error' ? p.log.error : p.log.warn)(formatDiagnostic(d));
    } else {
      p.log.success('The importer accepts it: no problems.');
    }
    for (const warning of policyWarnings(answers)) p.log.warn(warning);
    // Asked here, not found out at the write: an existing file would otherwise cost every answer.
    const exists = verdict.valid && (checks.exists?.(file) ?? false);
    if (exists) p.log.warn(`${file} already exists.`);
    const options = [
      ...(verdict.valid && !exists ? [{ value: 'save', label: 'Save', hint: '7/7' }] : []),
      ...(exists ? [{ value: 'replace', label: 'Replace it', hint: 'asks first; the file there is overwritten' }] : []),
      ...STEP_NAMES.map((name, i) => ({ value: String(i), label: `Change ${name}`, ...(exists && i === 0 ? { hint: 'another name or platform: another file' } : {}) })),
      { value: 'cancel', label: 'Cancel (write nothing)' },
    ];
    const message = !verdict.valid ? 'Fix the errors above first' : exists ? `${file} exists: replace it, or change the name?` : 'Save it?';
    const choice = answered(await p.select({ message, options, ...(exists ? { initialValue: '0' } : {}) }));
    if (choice === 'save') return { answers, yaml: verdict.yaml, replace: false };
    if (choice === 'replace') {
      const sure = answered(await p.confirm({ message: `Replace ${file}? What it holds now is lost.`, initialValue: false }));
      if (sure) return { answers, yaml: verdict.yaml, replace: true };
      continue;
    }
    if (choice === 'cancel') throw new WizardCancelled('cancelled');
    await STEPS[Number(choice)]!(answers);
  }
}

export function wizardCancelled() {
  p.cancel('Cancelled: nothing was written.');
}

export function wizardDone(message: string) {
  p.outro(message);
}
