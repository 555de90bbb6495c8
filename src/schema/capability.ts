import { queryFromInfo } from '@pothos/plugin-prisma';
import { capabilityOfferings, toolsOffering } from '../memoryCatalog/toolQueries.js';
import type { ToolQuery } from '../loaders.js';
import type { Tool } from '../generated/prisma/client.js';
import {
  addCapability,
  addPattern,
  removeCapability,
  removePattern,
  updateCapability,
  updatePattern,
} from '../catalog/toolCommands.js';
import { changeOrigin } from '../context.js';
import { builder } from './builder.js';
import { currentCatalog, memoryServes } from './memoryRows.js';
import {
  CapabilityInput,
  capabilityFromInput,
  CapabilityPatchInput,
  newVersionArgs,
  givenFields,
  PatternInput,
  PatternPatchInput,
  toolRefArgs,
} from './toolInputs.js';
import { changedTool, toolChangeErrors, ToolRef } from './tool.js';

builder.prismaObject('Capability', {
  // Whole rows, as Tool.
  description: 'Something a tool version can do, such as `text_search`, exercised through patterns.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Identifier.' }),
    name: t.exposeString('name', { description: 'Capability name, shared across tools that offer the same thing.' }),
    description: t.exposeString('description', { description: 'What the capability provides.' }),
    metadata: t.expose('metadata', { type: 'JSON', description: 'Source keys not modelled elsewhere.' }),
    tool: t.relation('tool', { description: 'The tool version offering this capability.' }),
    patterns: t.relation('patterns', {
      description: 'Ways of exercising this capability.',
      query: { orderBy: [{ position: 'asc' }, { name: 'asc' }] },
    }),
  }),
});

builder.prismaObject('Pattern', {
  // Whole rows, as Tool.
  description: 'One way of exercising a capability, with estimates, scope, policy, inputs and outputs.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Identifier.' }),
    name: t.exposeString('name', { description: 'Pattern name, unique within its capability.' }),
    description: t.exposeString('description', { description: 'What this pattern does.' }),
    typicalUseCases: t.exposeStringList('typicalUseCases', { description: 'Requests this pattern answers well.' }),
    timeEstimateMs: t.exposeString('timeEstimateMs', {
      nullable: true,
      description: 'Time estimate in milliseconds as an expression over inputs, exactly as written (e.g. `2000 + 0.5 * N`).',
    }),
    costEstimate: t.exposeString('costEstimate', {
      nullable: true,
      description: 'Cost estimate as an expression over inputs, exactly as written (e.g. `ceil(N/10)`).',
    }),
    complexityScore: t.exposeFloat('complexityScore', { nullable: true, description: 'Complexity from 0 (trivial) to 1.' }),
    scope: t.exposeString('scope', { nullable: true, description: 'How much it covers (single_item, batch, exhaustive...).' }),
    completeness: t.exposeString('completeness', { nullable: true, description: 'How complete its answer is (complete, partial...).' }),
    limitations: t.exposeStringList('limitations', { description: 'Known limitations.' }),
    policy: t.expose('policy', { type: 'JSON', description: 'Execution policy: max cost, approval, production safety, time limit.' }),
    preferenceMatch: t.expose('preferenceMatch', {
      type: 'JSON',
      description: 'Scores from 0 to 1 for speed, accuracy, cost, complexity and completeness preferences.',
    }),
    requiredInputs: t.expose('requiredInputs', { type: 'JSON', description: 'Inputs the caller must supply.' }),
    optionalInputs: t.expose('optionalInputs', { type: 'JSON', description: 'Inputs the caller may supply.' }),
    expectedOutputs: t.expose('expectedOutputs', { type: 'JSON', description: 'What the pattern returns.' }),
    examples: t.expose('examples', { type: 'JSON', description: 'Example requests.' }),
    metadata: t.expose('metadata', { type: 'JSON', description: 'Source keys not modelled elsewhere.' }),
    capability: t.relation('capability', { description: 'The capability this pattern belongs to.' }),
  }),
});

interface CapabilityOfferingShape {
  name: string;
  toolCount: number;
}

const CapabilityOffering = builder.objectRef<CapabilityOfferingShape>('CapabilityOffering').implement({
  description: 'A capability name and the latest tools that offer it.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Capability name.' }),
    toolCount: t.exposeInt('toolCount', { description: 'Number of latest, non-deleted tools offering it.' }),
    tools: t.field({
      type: [ToolRef],
      description: 'The tools offering it, by name then platform.',
      resolve: async (offering, _args, ctx, info) => {
        // Planned even when answered from memory: the plan tells the nested fields their rows are loaded.
        const query = queryFromInfo({ context: ctx, info, typeName: 'Tool' }) as ToolQuery;
        if (!memoryServes(info)) return ctx.loaders.toolsOfferingCapability(query).load(offering.name);
        return toolsOffering((await currentCatalog(ctx)).snapshot, offering.name).map((tool) => tool.row as Tool);
      },
    }),
  }),
});

builder.queryFields((t) => ({
  capabilities: t.field({
    type: [CapabilityOffering],
    description: 'Capability names offered by the latest tools, each with the tools that offer it, by name.',
    args: {
      names: t.arg.stringList({ description: 'Only these capability names.' }),
    },
    resolve: async (_root, args, ctx) => capabilityOfferings((await currentCatalog(ctx)).snapshot, args.names),
  }),
}));


/** Capability and pattern changes: each publishes a new version of the tool (or a draft). */
builder.mutationFields((t) => ({
  addCapability: t.prismaField({
    type: 'Tool',
    errors: toolChangeErrors,
    description: 'Publishes a new version of the tool with one more capability.',
    args: { ...toolRefArgs, ...newVersionArgs, capability: t.arg({ type: CapabilityInput, required: true, description: 'The capability.' }) },
    resolve: async (query, _root, args, ctx) => {
      return changedTool(ctx, query, await addCapability(ctx.prisma, args, capabilityFromInput(args.capability), { ...args, strict: ctx.strictImport }, changeOrigin(ctx, args.reason)));
    },
  }),
  updateCapability: t.prismaField({
    type: 'Tool',
    errors: toolChangeErrors,
    description: 'Publishes a new version of the tool with one capability changed.',
    args: {
      ...toolRefArgs,
      ...newVersionArgs,
      capabilityName: t.arg.string({ required: true, description: 'The capability to change.' }),
      changes: t.arg({ type: CapabilityPatchInput, required: true, description: 'What to change.' }),
    },
    resolve: async (query, _root, args, ctx) => {
      return changedTool(ctx, query, await updateCapability(ctx.prisma, args, args.capabilityName, givenFields(args.changes), { ...args, strict: ctx.strictImport }, changeOrigin(ctx, args.reason)));
    },
  }),
  removeCapability: t.prismaField({
    type: 'Tool',
    errors: toolChangeErrors,
    description: 'Publishes a new version of the tool without one capability.',
    args: { ...toolRefArgs, ...newVersionArgs, capabilityName: t.arg.string({ required: true, description: 'The capability to remove.' }) },
    resolve: async (query, _root, args, ctx) => {
      return changedTool(ctx, query, await removeCapability(ctx.prisma, args, args.capabilityName, args, changeOrigin(ctx, args.reason)));
    },
  }),
  addPattern: t.prismaField({
    type: 'Tool',
    errors: toolChangeErrors,
    description: 'Publishes a new version of the tool with one more pattern in a capability.',
    args: {
      ...toolRefArgs,
      ...newVersionArgs,
      capabilityName: t.arg.string({ required: true, description: 'The capability the pattern belongs to.' }),
      pattern: t.arg({ type: PatternInput, required: true, description: 'The pattern.' }),
    },
    resolve: async (query, _root, args, ctx) => {
      return changedTool(ctx, query, await addPattern(ctx.prisma, args, args.capabilityName, givenFields(args.pattern), { ...args, strict: ctx.strictImport }, changeOrigin(ctx, args.reason)));
    },
  }),
  updatePattern: t.prismaField({
    type: 'Tool',
    errors: toolChangeErrors,
    description: 'Publishes a new version of the tool with one pattern changed.',
    args: {
      ...toolRefArgs,
      ...newVersionArgs,
      capabilityName: t.arg.string({ required: true, description: 'The capability the pattern belongs to.' }),
      patternName: t.arg.string({ required: true, description: 'The pattern to change.' }),
      changes: t.arg({ type: PatternPatchInput, required: true, description: 'What to change.' }),
    },
    resolve: async (query, _root, args, ctx) => {
      return changedTool(ctx, query, await updatePattern(
        ctx.prisma,
        args,
        args.capabilityName,
        args.patternName,
        givenFields(args.changes),
        { ...args, strict: ctx.strictImport },
        changeOrigin(ctx, args.reason),
      ));
    },
  }),
  removePattern: t.prismaField({
    type: 'Tool',
    errors: toolChangeErrors,
    description: 'Publishes a new version of the tool without one pattern.',
    args: {
      ...toolRefArgs,
      ...newVersionArgs,
      capabilityName: t.arg.string({ required: true, description: 'The capability the pattern belongs to.' }),
      patternName: t.arg.string({ required: true, description: 'The pattern to remove.' }),
    },
    resolve: async (query, _root, args, ctx) => {
      return changedTool(ctx, query, await removePattern(ctx.prisma, args, args.capabilityName, args.patternName, args, changeOrigin(ctx, args.reason)));
    },
  }),
}));
