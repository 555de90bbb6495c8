import type { InputFieldBuilder } from '@pothos/core';
import { builder } from './builder.js';
import { ToolStatusEnum } from './toolStatus.js';

/**
 * Inputs for tool, capability and pattern changes. Field names match the stored definition, so a
 * ValidationError's `fieldErrors.path` points straight at the input field. A null field counts as
 * not given.
 */

/** The fields of one input object that were given (graphql-js passes absent and null alike as "no value" here). */
export function givenFields(input: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value != null));
}

type CapabilityShaped = { patterns?: readonly object[] | null };

/** A capability input with only given fields, at every level (JSON values are left exactly as sent). */
export function capabilityFromInput(input: object & CapabilityShaped): Record<string, unknown> {
  const capability = givenFields(input);
  if (input.patterns) capability.patterns = input.patterns.map(givenFields);
  return capability;
}

/** A tool (or patch) input with only given fields, at every level. */
export function toolFromInput(input: object & { capabilities?: ReadonlyArray<object & CapabilityShaped> | null }): Record<string, unknown> {
  const tool = givenFields(input);
  if (input.capabilities) tool.capabilities = input.capabilities.map(capabilityFromInput);
  return tool;
}



type Types = typeof builder.$inferSchemaTypes;

function patternFields(t: InputFieldBuilder<Types, 'InputObject'>, nameRequired: boolean) {
  return {
    name: t.string({ required: nameRequired, description: 'Pattern name, unique within its capability.' }),
    description: t.string({ description: 'What this pattern does.' }),
    typicalUseCases: t.stringList({ description: 'Requests this pattern answers well.' }),
    timeEstimateMs: t.string({ description: 'Time estimate in ms as an arithmetic expression over inputs, e.g. `2000 + 0.5 * N`.' }),
    costEstimate: t.string({ description: 'Cost estimate as an arithmetic expression, e.g. `ceil(N/10)`.' }),
    complexityScore: t.float({ description: 'From 0 (trivial) to 1 (complex).' }),
    scope: t.string({ description: 'How much it covers (single_item, batch, exhaustive...).' }),
    completeness: t.string({ description: 'How complete its answer is.' }),
    limitations: t.stringList({ description: 'Known limitations.' }),
    policy: t.field({ type: 'JSON', description: 'Execution policy (an object).' }),
    preferenceMatch: t.field({ type: 'JSON', description: 'Preference scores (an object).' }),
    requiredInputs: t.field({ type: 'JSON', description: 'Inputs the caller must supply (a list).' }),
    optionalInputs: t.field({ type: 'JSON', description: 'Inputs the caller may supply (a list).' }),
    expectedOutputs: t.field({ type: 'JSON', description: 'What the pattern returns (a list).' }),
    examples: t.field({ type: 'JSON', description: 'Example requests (a list).' }),
    metadata: t.field({ type: 'JSON', description: 'Anything else (an object).' }),
  };
}

export const PatternInput = builder.inputType('PatternInput', {
  description: 'A pattern of a capability.',
  fields: (t) => patternFields(t, true),
});

export const PatternPatchInput = builder.inputType('PatternPatchInput', {
  description: 'Changes to a pattern; fields left out keep their value.',
  fields: (t) => patternFields(t, false),
});

export const CapabilityInput = builder.inputType('CapabilityInput', {
  description: 'A capability with its patterns.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Capability name, e.g. `text_search`.' }),
    description: t.string({ description: 'What the capability provides.' }),
    metadata: t.field({ type: 'JSON', description: 'Anything else (an object).' }),
    patterns: t.field({ type: [PatternInput], description: 'Ways of exercising it.' }),
  }),
});

export const CapabilityPatchInput = builder.inputType('CapabilityPatchInput', {
  description: 'Changes to a capability; fields left out keep their value. Patterns change through the pattern mutations.',
  fields: (t) => ({
    name: t.string({ description: 'A new name.' }),
    description: t.string({ description: 'What the capability provides.' }),
    metadata: t.field({ type: 'JSON', description: 'Anything else (an object).' }),
  }),
});

function toolContentFields(t: InputFieldBuilder<Types, 'InputObject'>) {
  return {
    description: t.string({ description: 'What the tool does.' }),
    executionLocation: t.string({ description: 'Where the tool runs.' }),
    tags: t.stringList({ description: 'Free-form tags.' }),
    defaults: t.field({ type: 'JSON', description: 'Default execution settings (an object).' }),
    dependencies: t.field({ type: 'JSON', description: 'What the tool needs (a list).' }),
    metadata: t.field({ type: 'JSON', description: 'Anything else (an object).' }),
    examples: t.field({ type: 'JSON', description: 'Example invocations (a list).' }),
    capabilities: t.field({ type: [CapabilityInput], description: 'What the tool can do; in an update, replaces the whole list.' }),
  };
}

export const ToolInput = builder.inputType('ToolInput', {
  description: 'A whole tool, as its first version.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Tool name: up to 128 characters, no control characters.' }),
    platform: t.string({ required: true, description: 'Platform; any spelling, stored lower-case.' }),
    version: t.string({ required: true, description: 'Version: letters, digits and `. + _ ~ -`, e.g. `1.0`.' }),
    category: t.string({ required: true, description: 'Category; stored lower-case.' }),
    status: t.field({ type: ToolStatusEnum, description: 'Lifecycle status; ACTIVE by default.' }),
    enabled: t.boolean({ description: 'Whether the pipeline may select it; true by default.' }),
    ...toolContentFields(t),
  }),
});

export const ToolPatchInput = builder.inputType('ToolPatchInput', {
  description: 'Changes for a new version; fields left out keep their value.',
  fields: (t) => ({
    category: t.string({ description: 'Category; stored lower-case.' }),
    ...toolContentFields(t),
  }),
});

/** Arguments every change to an existing tool takes. */
export const toolRefArgs = builder.args((t) => ({
  name: t.string({ required: true, description: 'Tool name.' }),
  platform: t.string({ required: true, description: 'Platform, any case.' }),
  revision: t.int({ required: true, description: 'The tool revision you last read (`Tool.revision` of its latest version).' }),
  reason: t.string({ description: 'Why, for the audit log.' }),
}));

/** Arguments of changes that publish a new version. */
export const newVersionArgs = builder.args((t) => ({
  version: t.string({ description: 'Version string of the new version; by default the last number of the latest plus one.' }),
  draft: t.boolean({ description: 'Store it as a draft: queryable in toolVersions, but not the latest until published.' }),
  breaking: t.boolean({
    description:
      'Acknowledges breaking changes (see `compatibility`) when versions are not semver. With semver versions a breaking change needs a new major version instead.',
  }),
}));
