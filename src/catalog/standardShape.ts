import { z } from 'zod';
import { toolDefinition, type ToolDefinition } from './definition.js';

// The legacy "standard" file shape: tool_name, version, ..., capabilities as a map of
// capability name to { description, patterns: { pattern name: {...} } }.
// The importer for every legacy shape builds on this; here it serves start-up seeding.

const scalarString = z.union([z.string(), z.number()]).transform(String);
const record = z.record(z.string(), z.unknown());

const legacyPattern = z
  .object({
    description: z.string().optional(),
    typical_use_cases: z.array(z.string()).optional(),
    time_estimate_ms: scalarString.optional(),
    cost_estimate: scalarString.optional(),
    complexity_score: z.number().optional(),
    scope: z.string().optional(),
    completeness: z.string().optional(),
    limitations: z.array(z.string()).optional(),
    policy: record.optional(),
    preference_match: record.optional(),
    required_inputs: z.array(z.unknown()).optional(),
    optional_inputs: z.array(z.unknown()).optional(),
    expected_outputs: z.array(z.unknown()).optional(),
    examples: z.array(z.unknown()).optional(),
  })
  .catchall(z.unknown());

const legacyCapability = z
  .object({
    description: z.string().optional(),
    patterns: z.record(z.string(), legacyPattern).default({}),
  })
  .catchall(z.unknown());

export const standardToolFile = z
  .object({
    tool_name: z.string(),
    version: scalarString,
    description: z.string().optional(),
    platform: z.string(),
    category: z.string(),
    execution_location: z.string().optional(),
    defaults: record.optional(),
    capabilities: z.record(z.string(), legacyCapability),
    dependencies: z.array(z.unknown()).optional(),
    metadata: record.optional(),
    examples: z.array(z.unknown()).optional(),
  })
  .catchall(z.unknown());

type StandardToolFile = z.output<typeof standardToolFile>;

/** Keys of `source` that are not in `known`, kept so nothing in a file is lost. */
function extraKeys(source: Record<string, unknown>, known: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(source).filter(([key]) => !known.includes(key)));
}

const patternKeys = Object.keys(legacyPattern.shape);
const capabilityKeys = Object.keys(legacyCapability.shape);
const toolKeys = Object.keys(standardToolFile.shape);

export function fromStandardShape(file: StandardToolFile): ToolDefinition {
  const metadata = { ...(file.metadata ?? {}), ...extraKeys(file, toolKeys) };
  const rawTags = Array.isArray(file.metadata?.tags) ? file.metadata.tags : [];
  const tags = [...new Set(rawTags.filter((tag): tag is string => typeof tag === 'string'))];
  return toolDefinition.parse({
    name: file.tool_name,
    platform: file.platform,
    version: file.version,
    description: file.description ?? '',
    category: file.category,
    executionLocation: file.execution_location ?? null,
    defaults: file.defaults ?? {},
    dependencies: file.dependencies ?? [],
    metadata,
    examples: file.examples ?? [],
    tags,
    capabilities: Object.entries(file.capabilities).map(([name, capability]) => ({
      name,
      description: capability.description ?? '',
      metadata: extraKeys(capability, capabilityKeys),
      patterns: Object.entries(capability.patterns).map(([patternName, p]) => ({
        name: patternName,
        description: p.description ?? '',
        typicalUseCases: p.typical_use_cases ?? [],
        timeEstimateMs: p.time_estimate_ms ?? null,
        costEstimate: p.cost_estimate ?? null,
        complexityScore: p.complexity_score ?? null,
        scope: p.scope ?? null,
        completeness: p.completeness ?? null,
        limitations: p.limitations ?? [],
        policy: p.policy ?? {},
        preferenceMatch: p.preference_match ?? {},
        requiredInputs: p.required_inputs ?? [],
        optionalInputs: p.optional_inputs ?? [],
        expectedOutputs: p.expected_outputs ?? [],
        examples: p.examples ?? [],
        metadata: extraKeys(p, patternKeys),
      })),
    })),
  });
}
