import { Document, isScalar, parse, Scalar, visit } from 'yaml';
import type { PrismaClient } from '../generated/prisma/client.js';
import { CANONICAL_SCHEMA } from './shapes/index.js';
import { latestVisible } from './visibility.js';

export interface ExportedFile {
  /** `<platform>/<name>.yaml`, safe as a relative path on any file system. */
  path: string;
  content: string;
}

/** Keeps letters, digits, `.`, `_`, `-`; escapes everything else (and a leading dot) as %XX. */
export function safeFileName(name: string): string {
  return [...name]
    .map((ch, i) => (/[A-Za-z0-9_-]/.test(ch) || (ch === '.' && i > 0) ? ch : [...Buffer.from(ch)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('')))
    .join('');
}

const isEmpty = (value: unknown) =>
  value === null || value === undefined || (Array.isArray(value) && value.length === 0) ||
  (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0);

/** Drops absent and empty values: the importer reads them back as the same defaults. */
function compact(entries: Array<[string, unknown]>): Record<string, unknown> {
  return Object.fromEntries(entries.filter(([, value]) => !isEmpty(value)));
}

/**
 * Plain scalars that some YAML parser reads as something other than a string. YAML 1.2 (`yaml`)
 * quotes what it would misread; YAML 1.1 parsers — PyYAML, Go's yaml.v2, Ruby's Psych — also
 * read yes/no/on/off/y/n as booleans, `0o17`/`017`/`0x1F`/`0b1`/`1_000`/`190:20:30` as numbers,
 * dates as timestamps, and `<<` and `=` as special keys. These patterns are PyYAML's own resolvers.
 */
const YAML_11_PLAIN = [
  /^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/,
  /^(?:~|null|Null|NULL|)$/,
  /^[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+]?[0-9]+)?$/,
  /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/,
  /^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$/,
  /^[-+]?(?:0b[0-1_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?$/,
  /^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)?$/,
  /^(?:<<|=)$/,
];

/** True when a YAML 1.1 or 1.2 parser could read `text`, written plain, as anything but that string. */
export function needsQuotes(text: string): boolean {
  if (YAML_11_PLAIN.some((pattern) => pattern.test(text))) return true;
  for (const version of ['1.1', '1.2'] as const) {
    try {
      if (parse(text, { version }) !== text) return true;
    } catch {
      return true;
    }
  }
  return false;
}

/** YAML text of a document in which every string scalar (key or value) that could be misread is double-quoted. */
export function stringifyPortable(value: unknown): string {
  const document = new Document(value, { aliasDuplicateObjects: false });
  visit(document, {
    Scalar(_key, node: Scalar) {
      if (typeof node.value === 'string' && node.type !== 'BLOCK_LITERAL' && needsQuotes(node.value)) node.type = 'QUOTE_DOUBLE';
    },
    Pair(_key, pair) {
      if (isScalar(pair.key) && typeof pair.key.value === 'string' && needsQuotes(pair.key.value)) pair.key.type = 'QUOTE_DOUBLE';
    },
  });
  return document.toString({ lineWidth: 0 });
}

/** The latest version of every tool that is not deleted, as canonical YAML, one file per tool. */
export async function exportCatalog(prisma: PrismaClient): Promise<ExportedFile[]> {
  const tools = await prisma.tool.findMany({
    where: latestVisible,
    include: { capabilities: { include: { patterns: { orderBy: { position: 'asc' } } }, orderBy: { position: 'asc' } } },
    orderBy: [{ platform: 'asc' }, { name: 'asc' }],
  });
  return tools.map((tool) => {
    const document = {
      schema: CANONICAL_SCHEMA,
      name: tool.name,
      platform: tool.platform,
      version: tool.version,
      ...compact([
        ['description', tool.description],
        ['category', tool.category],
        ['status', tool.status.toLowerCase()],
        ['enabled', tool.enabled],
        ['successor', tool.successor],
        ['execution_location', tool.executionLocation],
        ['tags', tool.tags],
        ['defaults', tool.defaults],
        ['dependencies', tool.dependencies],
        [
          'capabilities',
          tool.capabilities.map((capability) =>
            compact([
              ['name', capability.name],
              ['description', capability.description],
              [
                'patterns',
                capability.patterns.map((p) =>
                  compact([
                    ['name', p.name],
                    ['description', p.description],
                    ['typical_use_cases', p.typicalUseCases],
                    ['time_estimate_ms', p.timeEstimateMs],
                    ['cost_estimate', p.costEstimate],
                    ['complexity_score', p.complexityScore],
                    ['scope', p.scope],
                    ['completeness', p.completeness],
                    ['limitations', p.limitations],
                    ['policy', p.policy],
                    ['preference_match', p.preferenceMatch],
                    ['required_inputs', p.requiredInputs],
                    ['optional_inputs', p.optionalInputs],
                    ['expected_outputs', p.expectedOutputs],
                    ['examples', p.examples],
                    ['metadata', p.metadata],
                  ]),
                ),
              ],
              ['metadata', capability.metadata],
            ]),
          ),
        ],
        ['examples', tool.examples],
        ['metadata', tool.metadata],
      ]),
    };
    return {
      path: `${safeFileName(tool.platform)}/${safeFileName(tool.name)}.yaml`,
      content: `# Exported by tool-catalog (${CANONICAL_SCHEMA}); import with: tool-catalog import <dir>\n${stringifyPortable(document)}`,
    };
  });
}
