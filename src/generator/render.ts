// From answers to the tool file: the YAML text, the importer's verdict on it, and the estimates
// worked out with sample numbers.
import { stringify } from 'yaml';
import { checkCatalog } from '../catalog/importer.js';
import type { Diagnostic } from '../catalog/diagnostics.js';
import { compileEstimate, estimateVariables, evaluateEstimate } from '../catalog/expressions.js';
import { safeFileName } from '../catalog/exporter.js';
import type { Answers, PatternAnswers } from './answers.js';

const blank = (value: unknown) =>
  value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0) ||
  (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0);
const compact = (entries: Array<[string, unknown]>) => Object.fromEntries(entries.filter(([, v]) => !blank(v)));

/** The answers as a standard tool file (the shape of catalog/linux/grep.yaml): capabilities and patterns by name. */
export function toolDocument(answers: Answers): Record<string, unknown> {
  return compact([
    ['tool_name', answers.name],
    ['version', answers.version],
    ['description', answers.description],
    ['platform', answers.platform],
    ['category', answers.category],
    ['execution_location', answers.execution_location],
    ['defaults', answers.defaults],
    ['dependencies', answers.dependencies],
    [
      'capabilities',
      Object.fromEntries(
        answers.capabilities.map((capability) => [
          capability.name,
          compact([
            ['description', capability.description],
            ['patterns', Object.fromEntries(capability.patterns.map((pattern) => [pattern.name, patternDocument(pattern)]))],
          ]),
        ]),
      ),
    ],
    ['metadata', compact(Object.entries(answers.metadata))],
  ]);
}

function patternDocument(pattern: PatternAnswers): Record<string, unknown> {
  const { name: _name, ...fields } = pattern;
  return compact(Object.entries(fields));
}

export function renderYaml(answers: Answers): string {
  const header = `# ${answers.name || 'new tool'} - written by tool-catalog new; check with: tool-catalog validate <file>\n`;
  return header + stringify(toolDocument(answers), { lineWidth: 0, aliasDuplicateObjects: false });
}

/** Where the file goes in a catalog directory: `<platform>/<name>.yaml`, as export names it. */
export function catalogPath(answers: Answers): string {
  return `${safeFileName(answers.platform.trim().toLowerCase() || 'custom')}/${safeFileName(answers.name)}.yaml`;
}

export interface Verdict {
  yaml: string;
  diagnostics: Diagnostic[];
  valid: boolean;
}

/**
 * The importer's own checks on the file the answers make, named as it will be written; `strict` as
 * the importer will be run (STRICT_IMPORT), so that nothing is written that it would refuse.
 */
export async function checkAnswers(answers: Answers, fileName: string, checks: { strict?: boolean } = {}): Promise<Verdict> {
  const yaml = renderYaml(answers);
  const { tools } = await checkCatalog({ documents: [{ name: fileName, content: yaml }] }, { strict: checks.strict });
  const diagnostics = tools.flatMap((t) => t.diagnostics);
  return { yaml, diagnostics, valid: tools.length === 1 && tools[0]!.action !== 'rejected' };
}

/** Sample value for a variable an estimate uses that nothing declares. */
export const SAMPLE_VALUE = 1000;

export type EstimateKind = 'time' | 'cost';

/** The policy limit an estimate is held to, in the estimate's unit (max_execution_time is in seconds). */
function policyLimit(kind: EstimateKind, policy: PatternAnswers['policy'] | undefined): { limit: number; text: string } | null {
  if (kind === 'cost') return policy?.max_cost === undefined ? null : { limit: policy.max_cost, text: `policy.max_cost ${policy.max_cost}` };
  const seconds = policy?.max_execution_time;
  return seconds === undefined ? null : { limit: seconds * 1000, text: `policy.max_execution_time ${seconds} s` };
}

/**
 * An estimate worked out the way selection will: the documented globals (N = 100…), then the
 * defaults the pattern's inputs declare. Undeclared variables get SAMPLE_VALUE and are named.
 * With `kind`, a result above the pattern's own policy limit (max_cost, or max_execution_time for
 * time) comes back as `warning`: selectTools would leave the pattern out at those values.
 */
export function previewEstimate(
  expression: string,
  pattern: Pick<PatternAnswers, 'required_inputs' | 'optional_inputs'> & { policy?: PatternAnswers['policy'] },
  kind?: EstimateKind,
): { ok: boolean; text: string; value?: number; warning?: string } {
  const compiled = compileEstimate(expression);
  if (!compiled.ok) return { ok: false, text: `not an estimate: ${compiled.error}` };
  const variables = estimateVariables({ requiredInputs: pattern.required_inputs, optionalInputs: pattern.optional_inputs }, {});
  const undeclared = compiled.variables.filter((v) => variables[v] === undefined);
  for (const v of undeclared) variables[v] = SAMPLE_VALUE;
  const result = evaluateEstimate(compiled, variables);
  if (!result.ok) return { ok: false, text: result.reason === 'EXPRESSION_ERROR' ? result.error : `missing ${result.missing.join(', ')}` };
  const value = Number(result.value.toPrecision(6));
  const used = compiled.variables.map((v) => `${v}=${variables[v]}${undeclared.includes(v) ? ' (sample)' : ''}`).join(', ');
  const note = undeclared.length ? `; declare ${undeclared.join(', ')} as an input with a default, or callers must pass it` : '';
  const limit = kind ? policyLimit(kind, pattern.policy) : null;
  const consequence = kind === 'cost' ? 'selectTools leaves this pattern out at these values (POLICY_MAX_COST)' : 'the pattern would run longer than its own limit';
  const warning =
    limit && result.value > limit.limit
      ? `${expression} = ${value}${kind === 'time' ? ' ms' : ''}${used ? ` with ${used}` : ''} is above ${limit.text}: ${consequence}; lower the estimate or raise the limit`
      : undefined;
  return { ok: true, text: `= ${value}${used ? ` with ${used}` : ''}${note}`, value, ...(warning ? { warning } : {}) };
}

/** Every pattern whose estimates, worked out as the preview does, are above its own policy limits. */
export function policyWarnings(answers: Answers): string[] {
  const warnings: string[] = [];
  for (const capability of answers.capabilities) {
    for (const pattern of capability.patterns) {
      for (const [kind, expression] of [['time', pattern.time_estimate_ms], ['cost', pattern.cost_estimate]] as const) {
        const preview = previewEstimate(String(expression), pattern, kind);
        if (preview.warning) warnings.push(`${capability.name}.${pattern.name}: ${preview.warning}`);
      }
    }
  }
  return warnings;
}
