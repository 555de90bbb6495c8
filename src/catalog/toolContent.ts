import type { Prisma } from '../generated/prisma/client.js';
import type { ToolDefinition } from './definition.js';

/** What to load with a tool row to have its whole content: capabilities and patterns in source order. */
export const TOOL_CONTENT_INCLUDE = {
  capabilities: {
    include: { patterns: { orderBy: { position: 'asc' } } },
    orderBy: { position: 'asc' },
  },
} as const satisfies Prisma.ToolInclude;

export type ToolWithContent = Prisma.ToolGetPayload<{ include: typeof TOOL_CONTENT_INCLUDE }>;

type JsonObject = Record<string, unknown>;
const object = (value: unknown) => (value ?? {}) as JsonObject;
const list = (value: unknown) => (value ?? []) as unknown[];

/** A stored version back in definition form: what it was written from, field for field. */
export function definitionOf(row: ToolWithContent): ToolDefinition {
  return {
    name: row.name,
    platform: row.platform,
    version: row.version,
    description: row.description,
    category: row.category,
    status: row.status,
    enabled: row.enabled,
    successor: row.successor,
    executionLocation: row.executionLocation,
    defaults: object(row.defaults),
    dependencies: list(row.dependencies),
    metadata: object(row.metadata),
    examples: list(row.examples),
    tags: row.tags,
    capabilities: row.capabilities.map((capability) => ({
      name: capability.name,
      description: capability.description,
      metadata: object(capability.metadata),
      patterns: capability.patterns.map((pattern) => ({
        name: pattern.name,
        description: pattern.description,
        typicalUseCases: pattern.typicalUseCases,
        timeEstimateMs: pattern.timeEstimateMs,
        costEstimate: pattern.costEstimate,
        complexityScore: pattern.complexityScore,
        scope: pattern.scope,
        completeness: pattern.completeness,
        limitations: pattern.limitations,
        policy: object(pattern.policy),
        preferenceMatch: object(pattern.preferenceMatch),
        requiredInputs: list(pattern.requiredInputs),
        optionalInputs: list(pattern.optionalInputs),
        expectedOutputs: list(pattern.expectedOutputs),
        examples: list(pattern.examples),
        metadata: object(pattern.metadata),
      })),
    })),
  };
}
