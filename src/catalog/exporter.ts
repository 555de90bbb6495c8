import { stringify } from 'yaml';
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
      content: `# Exported by tool-catalog (${CANONICAL_SCHEMA}); import with: tool-catalog import <dir>\n${stringify(document, { lineWidth: 0, aliasDuplicateObjects: false })}`,
    };
  });
}
