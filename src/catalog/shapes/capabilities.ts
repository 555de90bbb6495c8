import type { CapabilityDefinition, PatternDefinition } from '../definition.js';
import { GLOBAL_ESTIMATE_VARIABLES, parseEstimate } from '../expressions.js';
import { KNOWN_COMPLETENESS, KNOWN_SCOPES } from '../vocabulary.js';
import { checkParameters, checkPolicy, checkPreferences, reportUnknownKeys } from './checks.js';
import type { FileReport, SourcePath } from '../diagnostics.js';
import { describeValue } from '../yamlSource.js';
import { isMap, MapReader, type Json } from './reader.js';

type PatternInput = Omit<PatternDefinition, never>;

/** Keys a pattern may have; any other goes to its metadata with a warning. */
export const PATTERN_KEYS = [
  'name', 'pattern_name', 'description', 'typical_use_cases', 'time_estimate_ms', 'cost_estimate', 'complexity_score', 'scope',
  'completeness', 'limitations', 'policy', 'preference_match', 'required_inputs', 'optional_inputs', 'expected_outputs', 'examples', 'metadata',
];
export const CAPABILITY_KEYS = ['name', 'capability_name', 'description', 'metadata', 'patterns'];

/** Where each normalised capability and pattern came from, to report model errors at the source. */
export const sourcePaths = new WeakMap<object, SourcePath>();

/** The source key of each modelled pattern field. */
export const PATTERN_SOURCE_KEYS: Record<string, string> = {
  typicalUseCases: 'typical_use_cases',
  timeEstimateMs: 'time_estimate_ms',
  costEstimate: 'cost_estimate',
  complexityScore: 'complexity_score',
  preferenceMatch: 'preference_match',
  requiredInputs: 'required_inputs',
  optionalInputs: 'optional_inputs',
  expectedOutputs: 'expected_outputs',
};

function checkLength(reader: MapReader, key: string, value: string | null | undefined, max: number) {
  if (value && value.length > max) reader.report.error(reader.at(key), `must be at most ${max} characters, found ${value.length}`);
}

/** Entries of a map keyed by name, or of a list whose items carry their name under `nameKeys`. */
export function namedEntries(
  value: unknown,
  path: SourcePath,
  report: FileReport,
  nameKeys: string[],
  what: string,
): Array<{ name: string; body: Json; path: SourcePath; nameKey?: string }> {
  if (value === undefined || value === null) return [];
  if (isMap(value)) {
    return Object.entries(value).flatMap(([name, body]) => {
      if (body === null || body === undefined) return [{ name, body: {}, path: [...path, name] }];
      if (!isMap(body)) {
        report.error([...path, name], `expected ${what} as a map, found ${describeValue(body)}`);
        return [];
      }
      return [{ name, body, path: [...path, name] }];
    });
  }
  if (Array.isArray(value)) {
    return value.flatMap((body, index) => {
      const itemPath = [...path, index];
      if (!isMap(body)) {
        report.error(itemPath, `expected ${what} as a map, found ${describeValue(body)}`);
        return [];
      }
      const nameKey = nameKeys.find((key) => typeof body[key] === 'string' && body[key]);
      if (!nameKey) {
        report.error(itemPath, `${what} has no name (expected one of: ${nameKeys.join(', ')})`);
        return [];
      }
      return [{ name: body[nameKey] as string, body, path: itemPath, nameKey }];
    });
  }
  const plural = what.endsWith('y') ? `${what.slice(0, -1)}ies` : `${what}s`;
  report.error(path, `expected ${plural} as a map or a list, found ${describeValue(value)}`);
  return [];
}

export function inputNames(inputs: unknown[] | undefined): string[] {
  return (inputs ?? []).flatMap((input) => (isMap(input) && typeof input.name === 'string' ? [input.name] : []));
}

function estimate(reader: MapReader, key: string, declared: Set<string>): string | null {
  const text = reader.string(key);
  if (text === undefined) return null;
  const parsed = parseEstimate(text);
  if (!parsed.ok) {
    reader.report.error(reader.at(key), `malformed expression ${JSON.stringify(text)}: ${parsed.error}`);
    return text;
  }
  const undeclared = parsed.variables.filter((v) => !declared.has(v));
  if (undeclared.length) {
    reader.report.warn(
      reader.at(key),
      `expression ${JSON.stringify(text)} uses ${undeclared.join(', ')}, which no input declares`,
    );
  }
  return text;
}

/** A legacy pattern body (standard or list shape) as a normalised pattern. */
export function readPattern(name: string, reader: MapReader): PatternInput {
  const requiredInputs = reader.list('required_inputs') ?? [];
  const optionalInputs = reader.list('optional_inputs') ?? [];
  checkParameters(requiredInputs, reader.at('required_inputs'), reader.report, 'input');
  checkParameters(optionalInputs, reader.at('optional_inputs'), reader.report, 'input');
  const declared = new Set([...Object.keys(GLOBAL_ESTIMATE_VARIABLES), ...inputNames(requiredInputs), ...inputNames(optionalInputs)]);
  const complexity = reader.number('complexity_score');
  if (complexity !== undefined && (complexity < 0 || complexity > 1)) {
    reader.report.error(reader.at('complexity_score'), `expected a number from 0 to 1, found ${complexity}`);
  }
  const scope = reader.string('scope') ?? null;
  checkLength(reader, 'scope', scope, 64);
  if (scope !== null && !KNOWN_SCOPES.has(scope)) {
    reader.report.warn(reader.at('scope'), `unknown scope ${JSON.stringify(scope)} (known: ${[...KNOWN_SCOPES].join(', ')}); kept as written`);
  }
  const completeness = reader.string('completeness') ?? null;
  checkLength(reader, 'completeness', completeness, 64);
  if (completeness !== null && !KNOWN_COMPLETENESS.has(completeness)) {
    reader.report.warn(
      reader.at('completeness'),
      `unknown completeness ${JSON.stringify(completeness)} (known: ${[...KNOWN_COMPLETENESS].join(', ')}); kept as written`,
    );
  }
  const pattern: PatternInput = {
    name,
    description: reader.string('description') ?? '',
    typicalUseCases: reader.stringList('typical_use_cases') ?? [],
    timeEstimateMs: estimate(reader, 'time_estimate_ms', declared),
    costEstimate: estimate(reader, 'cost_estimate', declared),
    complexityScore: complexity ?? null,
    scope,
    completeness,
    limitations: reader.stringList('limitations') ?? [],
    policy: reader.map('policy') ?? {},
    preferenceMatch: reader.map('preference_match') ?? {},
    requiredInputs,
    optionalInputs,
    expectedOutputs: reader.list('expected_outputs') ?? [],
    examples: reader.list('examples') ?? [],
    metadata: {},
  };
  checkPolicy(pattern.policy, reader.at('policy'), reader.report);
  checkPreferences(pattern.preferenceMatch, reader.at('preference_match'), reader.report);
  checkParameters(pattern.expectedOutputs, reader.at('expected_outputs'), reader.report, 'output');
  // A `metadata` map (our canonical shape writes one) and every key not modelled above.
  pattern.metadata = reader.map('metadata') ?? {};
  reportUnknownKeys(reader, PATTERN_KEYS);
  pattern.metadata = { ...pattern.metadata, ...reader.rest() };
  return pattern;
}

/** Capabilities as a map or a list (`capability_name`/`name`), each with patterns as a map or a list. */
export function readCapabilities(value: unknown, path: SourcePath, report: FileReport): CapabilityDefinition[] {
  const seen = new Set<string>();
  return namedEntries(value, path, report, ['capability_name', 'name'], 'capability').map((entry) => {
    if (seen.has(entry.name)) report.error(entry.path, `capability ${JSON.stringify(entry.name)} appears twice`);
    seen.add(entry.name);
    const reader = new MapReader(entry.body, entry.path, report);
    if (entry.nameKey) reader.consume(entry.nameKey);
    const description = reader.string('description') ?? '';
    const patternSeen = new Set<string>();
    const patterns = namedEntries(reader.has('patterns') ? entry.body.patterns : undefined, reader.at('patterns'), report, ['pattern_name', 'name'], 'pattern').map(
      (p) => {
        if (patternSeen.has(p.name)) report.error(p.path, `pattern ${JSON.stringify(p.name)} appears twice`);
        patternSeen.add(p.name);
        const patternReader = new MapReader(p.body, p.path, report);
        if (p.nameKey) patternReader.consume(p.nameKey);
        if (p.name.length > 128) report.error(p.path, `pattern name must be at most 128 characters, found ${p.name.length}`);
        const pattern = readPattern(p.name, patternReader);
        sourcePaths.set(pattern, p.path);
        return pattern;
      },
    );
    reader.consume('patterns');
    if (entry.name.length > 128) report.error(entry.path, `capability name must be at most 128 characters, found ${entry.name.length}`);
    const metadata = reader.map('metadata') ?? {};
    reportUnknownKeys(reader, CAPABILITY_KEYS);
    const capability = { name: entry.name, description, metadata: { ...metadata, ...reader.rest() }, patterns };
    sourcePaths.set(capability, entry.path);
    return capability;
  });
}
