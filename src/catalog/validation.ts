import type { ToolDefinition } from './definition.js';
import { FileReport, type Diagnostic } from './diagnostics.js';
import type { FieldProblem } from './errors.js';
import { PATTERN_SOURCE_KEYS } from './shapes/capabilities.js';
import { CANONICAL_SCHEMA, normaliseDocument, type Normalised, type NormaliseContext } from './shapes/index.js';
import { isMap } from './shapes/reader.js';
import { parseYamlText } from './yamlSource.js';

/**
 * The one validation of a tool definition. The importer (CLI, `importCatalog`, reloads, seeding),
 * `validateTool`, `createTool`/`updateTool` and any generator read a definition through the same
 * shape readers and the same model, so one definition gets one verdict — the same errors and
 * warnings — whichever way it arrives.
 */

export interface CheckOptions extends NormaliseContext {
  /** Unknown keys are errors, not warnings (`--strict`, `STRICT_IMPORT=true`). */
  strict?: boolean;
}

/** Literal `{{…}}` left in text is almost always an unfilled template placeholder. */
function warnPlaceholders(value: unknown, report: FileReport) {
  const visit = (item: unknown, path: Array<string | number>) => {
    if (typeof item === 'string') {
      if (/\{\{[^}]*\}\}/.test(item)) report.warn(path, `literal {{…}} placeholder kept as written: ${JSON.stringify(item.slice(0, 60))}`);
    } else if (Array.isArray(item)) {
      item.forEach((child, index) => visit(child, [...path, index]));
    } else if (item && typeof item === 'object') {
      for (const [key, child] of Object.entries(item)) visit(child, [...path, key]);
    }
  };
  visit(value, []);
}

/** Checks one parsed document of any shape, reporting into `report` (which knows its lines). */
export function checkDefinitionDocument(value: unknown, report: FileReport, options: CheckOptions = {}): Normalised {
  report.strict = options.strict ?? false;
  const normalised = normaliseDocument(value, report, options);
  warnPlaceholders(value, report);
  // A document with errors yields no definition, whichever check found them.
  return report.hasErrors ? { ...normalised, definition: undefined } : normalised;
}

export interface DefinitionCheck extends Normalised {
  diagnostics: Diagnostic[];
}

/**
 * Checks the YAML text of one definition exactly as `import` would (size and alias limits, syntax,
 * shapes, model, expressions, unknown keys) without touching a database: for generators and editors.
 */
export function checkDefinitionYaml(name: string, text: string, options: CheckOptions = {}): DefinitionCheck {
  const source = parseYamlText(name, text);
  const normalised = source.value === undefined ? {} : checkDefinitionDocument(source.value, source.report, options);
  return { ...normalised, diagnostics: source.report.diagnostics };
}

/** API field name → document key, for tool-level and pattern-level fields that differ. */
const TOOL_INPUT_KEYS: Record<string, string> = { executionLocation: 'execution_location' };
const invert = (map: Record<string, string>) => Object.fromEntries(Object.entries(map).map(([a, b]) => [b, a]));
const TOOL_DOCUMENT_KEYS = invert(TOOL_INPUT_KEYS);
const PATTERN_DOCUMENT_KEYS = invert(PATTERN_SOURCE_KEYS);

const renameKeys = (value: unknown, names: Record<string, string>) =>
  isMap(value) ? Object.fromEntries(Object.entries(value).map(([key, item]) => [names[key] ?? key, item])) : value;

/** An API input (field names as in `ToolInput`) as the canonical document the importer reads. */
export function documentFromInput(raw: Record<string, unknown>): Record<string, unknown> {
  const document: Record<string, unknown> = { schema: CANONICAL_SCHEMA, ...(renameKeys(raw, TOOL_INPUT_KEYS) as object) };
  if (Array.isArray(raw.capabilities)) {
    document.capabilities = raw.capabilities.map((capability) =>
      isMap(capability) && Array.isArray(capability.patterns)
        ? { ...capability, patterns: capability.patterns.map((pattern) => renameKeys(pattern, PATTERN_SOURCE_KEYS)) }
        : capability,
    );
  }
  return document;
}

/** A document path (`capabilities.0.patterns.1.complexity_score`) as the API input path (`…complexityScore`). */
export function inputPath(field: string | undefined): string {
  if (!field) return '';
  const parts = field.split('.');
  if (parts.length === 1 || parts[0] !== 'capabilities') parts[0] = TOOL_DOCUMENT_KEYS[parts[0]!] ?? parts[0]!;
  if (parts[0] === 'capabilities' && parts[2] === 'patterns' && parts[4] !== undefined) parts[4] = PATTERN_DOCUMENT_KEYS[parts[4]] ?? parts[4];
  return parts.join('.');
}

export interface InputCheck {
  definition?: ToolDefinition;
  problems: FieldProblem[];
  warnings: FieldProblem[];
}

/** Checks an API input: the same readers and model as a file, with problems at input paths. */
export function checkDefinitionInput(raw: Record<string, unknown>, options: CheckOptions = {}): InputCheck {
  const report = new FileReport('input');
  const { definition } = checkDefinitionDocument(documentFromInput(raw), report, options);
  const as = (severity: Diagnostic['severity']) =>
    report.diagnostics.filter((d) => d.severity === severity).map((d) => ({ path: inputPath(d.field), message: d.message }));
  return { definition, problems: as('error'), warnings: as('warning') };
}

/**
 * A canonical document (as `export` writes it) as an API input (`ToolInput` field names): the
 * inverse of `documentFromInput`, for callers that hold YAML and want `validateTool`/`createTool`.
 */
export function inputFromDocument(document: Record<string, unknown>): Record<string, unknown> {
  const { schema: _schema, ...rest } = document;
  const input = renameKeys(rest, TOOL_DOCUMENT_KEYS) as Record<string, unknown>;
  if (Array.isArray(rest.capabilities)) {
    input.capabilities = rest.capabilities.map((capability) =>
      isMap(capability) && Array.isArray(capability.patterns)
        ? { ...capability, patterns: capability.patterns.map((pattern) => renameKeys(pattern, PATTERN_DOCUMENT_KEYS)) }
        : capability,
    );
  }
  return input;
}
