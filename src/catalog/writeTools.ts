import { randomUUID } from 'node:crypto';
import type { Prisma } from '../generated/prisma/client.js';
import type { ToolDefinition } from './definition.js';

type Json = Prisma.InputJsonValue;

export interface NewVersion {
  definition: ToolDefinition;
  contentHash: string;
  parentId: string | null;
  revision: number;
  /** `directory` for tools from CATALOG_DIR (prunable), else null. */
  loadedFrom?: string | null;
}

/** Rows for one new tool version and its capabilities and patterns, with ids assigned here. */
export function rowsFor(version: NewVersion, actor: string) {
  const { definition } = version;
  const toolId = randomUUID();
  const tool: Prisma.ToolCreateManyInput = {
    id: toolId,
    name: definition.name,
    platform: definition.platform,
    version: definition.version,
    description: definition.description,
    category: definition.category,
    status: definition.status,
    enabled: definition.enabled,
    successor: definition.successor,
    isLatest: definition.status !== 'DRAFT',
    revision: version.revision,
    parentId: version.parentId,
    contentHash: version.contentHash,
    loadedFrom: version.loadedFrom ?? null,
    executionLocation: definition.executionLocation,
    defaults: definition.defaults as Json,
    dependencies: definition.dependencies as Json,
    metadata: definition.metadata as Json,
    examples: definition.examples as Json,
    tags: definition.tags,
    createdBy: actor,
    updatedBy: actor,
  };
  const capabilities: Prisma.CapabilityCreateManyInput[] = [];
  const patterns: Prisma.PatternCreateManyInput[] = [];
  definition.capabilities.forEach((capability, capabilityPosition) => {
    const capabilityId = randomUUID();
    capabilities.push({
      id: capabilityId,
      toolId,
      name: capability.name,
      description: capability.description,
      position: capabilityPosition,
      metadata: capability.metadata as Json,
    });
    capability.patterns.forEach((pattern, position) => {
      patterns.push({
        ...pattern,
        id: randomUUID(),
        capabilityId,
        position,
        policy: pattern.policy as Json,
        preferenceMatch: pattern.preferenceMatch as Json,
        requiredInputs: pattern.requiredInputs as Json,
        optionalInputs: pattern.optionalInputs as Json,
        expectedOutputs: pattern.expectedOutputs as Json,
        examples: pattern.examples as Json,
        metadata: pattern.metadata as Json,
      });
    });
  });
  return { tool, capabilities, patterns };
}
