import { PothosValidationError } from '@pothos/core';
import { queryFromInfo } from '@pothos/plugin-prisma';
import { identityKey, type ToolQuery } from '../loaders.js';
import { TOOL_CONTENT_INCLUDE, definitionOf } from '../catalog/toolContent.js';
import { diffDefinitions, type ToolChange } from '../catalog/toolDiff.js';
import { successorIdentity } from '../catalog/catalogWrites.js';
import { judgeCompatibility, type BreakingChange, type CompatibilityVerdict } from '../catalog/compatibility.js';
import { latestEnabledByName } from '../memoryCatalog/snapshot.js';
import type { Tool } from '../generated/prisma/client.js';
import {
  createTool,
  deleteTool,
  deprecateTool,
  publishDraft,
  restoreTool,
  rollbackTool,
  setToolEnabled,
  updateTool,
  validateTool,
  type ValidationOutcome,
} from '../catalog/toolCommands.js';
import { changeOrigin, type Context } from '../context.js';
import { visibleActor } from './actors.js';
import { builder } from './builder.js';
import { answeredFromMemory, currentCatalog, memoryServes } from './memoryRows.js';
import { latestByIdentity, matchingTools, pageOf, type OrderColumns, type PageQuery, type ToolListOrder } from '../memoryCatalog/toolQueries.js';
import { FieldErrorRef, TOOL_CHANGE_ERRORS } from './errors.js';
import { newVersionArgs, toolFromInput, ToolInput, ToolPatchInput, toolRefArgs } from './toolInputs.js';
import { ToolStatusEnum } from './toolStatus.js';
import { checkedMaxPageSize, DEFAULT_PAGE_SIZE } from './paging.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const ChangeKindEnum = builder.enumType('ChangeKind', {
  description: 'How a field differs between two versions.',
  values: {
    ADDED: { description: 'Only in the newer version.' },
    REMOVED: { description: 'Only in the older version.' },
    CHANGED: { description: 'In both, with different values.' },
  } as const,
});

const ToolChangeRef = builder.objectRef<ToolChange>('ToolChange').implement({
  description: 'One difference between two versions of a tool.',
  fields: (t) => ({
    path: t.exposeString('path', {
      description: 'Dotted path; capabilities and patterns by name, e.g. `capabilities.text_search.patterns.basic.complexityScore`.',
    }),
    kind: t.field({ type: ChangeKindEnum, resolve: (change) => change.kind, description: 'Added, removed or changed.' }),
    before: t.field({ type: 'JSON', nullable: true, resolve: (change) => change.before ?? null, description: 'The older value.' }),
    after: t.field({ type: 'JSON', nullable: true, resolve: (change) => change.after ?? null, description: 'The newer value.' }),
  }),
});

const BreakingKindEnum = builder.enumType('BreakingChangeKind', {
  description: 'What kind of breaking change.',
  values: {
    INPUT_REMOVED: { description: 'A required input was removed or renamed.' },
    INPUT_REQUIRED_ADDED: { description: 'An input is newly required and has no default.' },
    INPUT_TYPE_CHANGED: { description: 'An input changed type.' },
    OUTPUT_REMOVED: { description: 'An output was removed or renamed.' },
    OUTPUT_TYPE_CHANGED: { description: 'An output changed type.' },
  } as const,
});

const BreakingChangeRef = builder.objectRef<BreakingChange>('BreakingChange').implement({
  description: 'One change that breaks callers of the older version.',
  fields: (t) => ({
    kind: t.field({ type: BreakingKindEnum, resolve: (change) => change.kind, description: 'What kind of change.' }),
    path: t.exposeString('path', { description: 'The input or output, by name: `capabilities.<capability>.patterns.<pattern>.requiredInputs.<input>`.' }),
    message: t.exposeString('message', { description: 'The change in words.' }),
  }),
});

const CompatibilityRef = builder.objectRef<CompatibilityVerdict>('Compatibility').implement({
  description: 'Whether one version of a tool breaks callers of another.',
  fields: (t) => ({
    breaking: t.exposeBoolean('breaking', { description: 'True when there is at least one breaking change.' }),
    allowed: t.exposeBoolean('allowed', {
      description: 'True when the newer version may follow the older one without `breaking: true`: no breaking change, or a new major version (semver).',
    }),
    reason: t.exposeString('reason', { nullable: true, description: 'Why it is not allowed, when it is not.' }),
    changes: t.field({ type: [BreakingChangeRef], resolve: (verdict) => verdict.changes, description: 'Every breaking change.' }),
  }),
});

export const ToolRef = builder.prismaObject('Tool', {
  // Whole rows (no `select`): current-state reads answer from the in-memory catalog, whose rows
  // hold every column, and in select mode every scalar field of every row answered would first
  // look up its planned selection. What still reads the database (history, a mutation's answer)
  // reads one tool or one tool's versions.
  description:
    'One immutable version of a tool. A tool is identified by name and platform; each published change is a new version.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Identifier of this version.' }),
    name: t.exposeString('name', { description: 'Tool name, e.g. `grep` or `Get-Process`.' }),
    platform: t.exposeString('platform', { description: 'Platform the tool runs on (linux, windows, cloud...).' }),
    version: t.exposeString('version', { description: 'Version string of this row.' }),
    description: t.exposeString('description', { description: 'What the tool does.' }),
    category: t.exposeString('category', { description: 'Category (network, system, database...).' }),
    status: t.expose('status', { type: ToolStatusEnum, description: 'Lifecycle status of this version.' }),
    enabled: t.exposeBoolean('enabled', { description: 'Disabled tools stay listed but the pipeline must not select them.' }),
    isLatest: t.exposeBoolean('isLatest', { description: 'True for the version readers get by default.' }),
    revision: t.exposeInt('revision', { description: 'Revision of the tool when this version was written; used for optimistic concurrency.' }),
    executionLocation: t.exposeString('executionLocation', {
      nullable: true,
      description: 'Where the tool runs (automation-service, local, remote-agent...).',
    }),
    tags: t.exposeStringList('tags', { description: 'Free-form tags.' }),
    defaults: t.expose('defaults', { type: 'JSON', description: 'Default execution settings (accuracy, freshness, data source...).' }),
    dependencies: t.expose('dependencies', { type: 'JSON', description: 'Binaries, modules or services the tool needs.' }),
    metadata: t.expose('metadata', { type: 'JSON', description: 'Source metadata and any source keys not modelled elsewhere.' }),
    examples: t.expose('examples', { type: 'JSON', description: 'Example invocations with inputs and expected time and cost.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When this version was written.' }),
    createdBy: t.string({ select: { createdBy: true }, resolve: (tool, _args, ctx) => visibleActor(ctx, tool.createdBy), description: 'Who wrote this version (key name; `hidden` for callers below editor).' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'Last lifecycle change of this version.' }),
    updatedBy: t.string({ select: { updatedBy: true }, resolve: (tool, _args, ctx) => visibleActor(ctx, tool.updatedBy), description: 'Who made the last lifecycle change (key name; `hidden` for callers below editor).' }),
    deletedAt: t.expose('deletedAt', { type: 'DateTime', nullable: true, description: 'Set when the tool is soft-deleted.' }),
    successorName: t.exposeString('successor', {
      nullable: true,
      description: 'For a deprecated tool: the tool to use instead, as written (`name` or `name@platform`). Kept by later versions until changed.',
    }),
    diff: t.field({
      type: [ToolChangeRef],
      description: 'What changed from version `from` of this tool to version `to` (this version when left out), field by field.',
      args: {
        from: t.arg.string({ required: true, description: 'The older version.' }),
        to: t.arg.string({ description: 'The newer version; this one by default.' }),
      },
      select: { name: true, platform: true, version: true },
      resolve: async (tool, args, ctx) => {
        const wanted = [args.from, args.to ?? tool.version];
        const rows = await ctx.prisma.tool.findMany({
          where: { name: tool.name, platform: tool.platform, version: { in: wanted }, deletedAt: null },
          include: TOOL_CONTENT_INCLUDE,
        });
        const [from, to] = wanted.map((version) => rows.find((row) => row.version === version));
        const missing = wanted.find((_, i) => ![from, to][i]);
        if (missing !== undefined) throw new PothosValidationError(`Tool ${tool.name} (${tool.platform}) has no version "${missing}"`);
        return diffDefinitions(definitionOf(from!), definitionOf(to!));
      },
    }),
    parent: t.relation('parent', { nullable: true, description: 'The version this one was derived from.' }),
    capabilities: t.relation('capabilities', {
      description: 'What this version can do.',
      query: { orderBy: [{ position: 'asc' }, { name: 'asc' }] },
    }),
    capabilityCount: t.relationCount('capabilities', { description: 'Number of capabilities of this version.' }),
  }),
});

builder.prismaObjectField('Tool', 'successor', (t) =>
  t.field({
    type: ToolRef,
    nullable: true,
    select: { platform: true, successor: true },
    description: 'For a deprecated tool: the latest version of the tool to use instead (`successorName` resolved); null when none is named or it was deleted.',
    resolve: async (tool, _args, ctx, info) => {
      if (!tool.successor) return null;
      const target = successorIdentity(tool.successor, tool.platform);
      // Planned even when answered from memory: the plan tells the nested fields their rows are loaded.
      const query = queryFromInfo({ context: ctx, info, typeName: 'Tool' }) as ToolQuery;
      if (memoryServes(info)) return latestInMemory(ctx, target.name, target.platform);
      return ctx.loaders.latestVersion(query).load(identityKey(target.name, target.platform));
    },
  }),
);

builder.prismaObjectField('Tool', 'latest', (t) =>
  t.field({
    type: ToolRef,
    nullable: true,
    select: { name: true, platform: true },
    description: 'The latest version of this tool (this one, when it is the latest); null when the tool is deleted.',
    resolve: async (tool, _args, ctx, info) => {
      const query = queryFromInfo({ context: ctx, info, typeName: 'Tool' }) as ToolQuery;
      if (memoryServes(info)) return latestInMemory(ctx, tool.name, tool.platform);
      return ctx.loaders.latestVersion(query).load(identityKey(tool.name, tool.platform));
    },
  }),
);

/** The latest version of a tool as the request's in-memory revision holds it (null when deleted or unknown). */
async function latestInMemory(ctx: Context, name: string, platform: string): Promise<Tool | null> {
  const { snapshot } = await currentCatalog(ctx);
  return (latestByIdentity(snapshot, name, platform)?.row ?? null) as Tool | null;
}

const ToolFilter = builder.inputType('ToolFilter', {
  description: 'Narrows a tool listing. All given conditions must hold.',
  fields: (t) => ({
    platform: t.string({ description: 'Platform, case-insensitive.' }),
    category: t.string({ description: 'Category, case-insensitive.' }),
    status: t.field({ type: ToolStatusEnum, description: 'Lifecycle status.' }),
    enabled: t.boolean({ description: 'Only enabled (true) or only disabled (false) tools.' }),
    tag: t.string({ description: 'Tools carrying this tag.' }),
    capability: t.string({ description: 'Tools offering a capability of this name.' }),
  }),
});

const ToolOrderField = builder.enumType('ToolOrderField', {
  description: 'Fields a tool listing can be ordered by.',
  values: {
    NAME: { value: 'name', description: 'Tool name, then platform.' },
    PLATFORM: { value: 'platform', description: 'Platform, then name.' },
    CATEGORY: { value: 'category', description: 'Category, then name.' },
    CREATED_AT: { value: 'createdAt', description: 'When the latest version was written.' },
    UPDATED_AT: { value: 'updatedAt', description: 'Last change of the latest version.' },
  } as const,
});

const OrderDirection = builder.enumType('OrderDirection', {
  description: 'Sort direction.',
  values: { ASC: { value: 'asc' }, DESC: { value: 'desc' } } as const,
});

const ToolOrder = builder.inputType('ToolOrder', {
  description: 'Ordering of a tool listing.',
  fields: (t) => ({
    field: t.field({ type: ToolOrderField, required: true, description: 'Field to order by.' }),
    direction: t.field({ type: OrderDirection, defaultValue: 'asc', description: 'Direction; ascending by default.' }),
  }),
});

type ToolListArgs = Parameters<typeof matchingTools>[1];

/**
 * Where a cursor stands in an ordering. A cursor is the id of the version it was taken from; when
 * that is no longer a latest version (the tool changed or was deleted since), its order columns
 * come from the database, as Prisma's cursor did: one small statement, only for such cursors.
 */
async function cursorColumns(ctx: Context, inMemory: OrderColumns | undefined, id: string): Promise<OrderColumns | null> {
  if (inMemory) return inMemory;
  return ctx.prisma.tool.findUnique({
    where: { id },
    select: { id: true, name: true, platform: true, category: true, createdAt: true, updatedAt: true },
  });
}

builder.queryFields((t) => ({
  tool: t.prismaField({
    type: 'Tool',
    nullable: true,
    description:
      'One tool: its latest version if that version is enabled, or exactly `version` when given (enabled or not); ' +
      'null when there is no such tool. `platform` may be left out when the name exists on one platform only.',
    args: {
      name: t.arg.string({ required: true, description: 'Tool name, exact.' }),
      platform: t.arg.string({ description: 'Platform, case-insensitive.' }),
      version: t.arg.string({ description: 'A specific version instead of the latest.' }),
    },
    resolve: async (query, _root, args, ctx) => {
      let rows: unknown[];
      if (!args.version) {
        // The latest version: the in-memory catalog holds it (current, or the last revision this
        // instance knew while the database is unreachable).
        const { snapshot } = await currentCatalog(ctx);
        rows = answeredFromMemory(query, latestEnabledByName(snapshot, args.name, args.platform));
      } else {
        // A given version may be an older one: the database holds every version.
        // Batched: every `tool(..., version)` in one request (aliases, fragments) is one SQL statement.
        rows = await ctx.loaders.toolByLookup(query).load({ name: args.name, platform: args.platform, version: args.version });
      }
      if (rows.length > 1) {
        throw new PothosValidationError(`Tool "${args.name}" exists on several platforms; pass the "platform" argument`);
      }
      return (rows[0] ?? null) as Tool | null;
    },
  }),
  toolById: t.prismaField({
    type: 'Tool',
    nullable: true,
    description: 'One version by its id, whatever its lifecycle; null when there is none or the tool is deleted.',
    args: { id: t.arg.id({ required: true, description: 'The `id` of a version.' }) },
    resolve: async (query, _root, args, ctx) => {
      const id = String(args.id);
      if (!UUID.test(id)) throw new PothosValidationError('Argument "id" is not a tool id');
      // The latest version of a tool is in memory; an older version (or a deleted tool) is read from the database.
      const latest = (await currentCatalog(ctx)).snapshot.byId.get(id.toLowerCase());
      if (latest) return answeredFromMemory(query, latest.row as Tool);
      const row = await ctx.loaders.toolById(query).load(id);
      return row && !row.deletedAt ? row : null;
    },
  }),
  tools: t.prismaConnection({
    type: 'Tool',
    cursor: 'id',
    description: 'The latest version of every tool that is not deleted, filtered, searched and ordered; a Relay connection.',
    defaultSize: DEFAULT_PAGE_SIZE,
    maxSize: (args) => checkedMaxPageSize(args, 'uuid'),
    args: {
      filter: t.arg({ type: ToolFilter, description: 'Conditions every returned tool meets.' }),
      search: t.arg.string({ description: 'Case-insensitive text matched against name and description.' }),
      orderBy: t.arg({ type: ToolOrder, description: 'Ordering; by name by default.' }),
    },
    // Both from the request's one in-memory revision: the count always matches the pages.
    totalCount: async (_parent, args, ctx) => matchingTools((await currentCatalog(ctx)).snapshot, args as ToolListArgs).length,
    resolve: async (query, _parent, args, ctx) => {
      const { snapshot } = await currentCatalog(ctx);
      const list = matchingTools(snapshot, args as ToolListArgs);
      const page = query as unknown as PageQuery;
      const order = args.orderBy as ToolListOrder | null | undefined;
      const cursorRow = page.cursor ? await cursorColumns(ctx, snapshot.byId.get(page.cursor.id.toLowerCase())?.row, page.cursor.id) : undefined;
      return answeredFromMemory(query, pageOf(list, page, order, cursorRow).map((tool) => tool.row as Tool));
    },
  }, {
    name: 'ToolConnection',
    description: 'A page of tools with the total number matching.',
  }, {
    name: 'ToolEdge',
    description: 'A tool in a page, with its cursor.',
  }),
  toolVersions: t.prismaField({
    type: ['Tool'],
    description: 'Every version of one tool, newest first. Empty when there is no such tool.',
    args: {
      name: t.arg.string({ required: true, description: 'Tool name, exact.' }),
      platform: t.arg.string({ required: true, description: 'Platform, case-insensitive.' }),
    },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.tool.findMany({
        ...query,
        where: { name: args.name, platform: { equals: args.platform, mode: 'insensitive' }, deletedAt: null },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      }),
  }),
  compatibility: t.field({
    type: CompatibilityRef,
    description:
      'Whether version `to` of a tool breaks callers of version `from`: inputs and outputs compared by name within each pattern. ' +
      'A removed or renamed required input, a new required input without a default, a changed input type, a removed output or a changed output type is breaking.',
    args: {
      name: t.arg.string({ required: true, description: 'Tool name, exact.' }),
      platform: t.arg.string({ required: true, description: 'Platform, case-insensitive.' }),
      from: t.arg.string({ required: true, description: 'The older version.' }),
      to: t.arg.string({ required: true, description: 'The newer version.' }),
    },
    resolve: async (_root, args, ctx) => {
      const wanted = [args.from, args.to];
      const rows = await ctx.prisma.tool.findMany({
        where: { name: args.name, platform: args.platform.trim().toLowerCase(), version: { in: wanted }, deletedAt: null },
        include: TOOL_CONTENT_INCLUDE,
      });
      const [from, to] = wanted.map((version) => rows.find((row) => row.version === version));
      const missing = wanted.find((_, i) => ![from, to][i]);
      if (missing !== undefined) throw new PothosValidationError(`Tool ${args.name} (${args.platform}) has no version "${missing}"`);
      return judgeCompatibility(definitionOf(from!), definitionOf(to!));
    },
  }),
}));

export const toolChangeErrors = { types: TOOL_CHANGE_ERRORS, directResult: true } as const;

/** The version a change wrote (or changed), read back with the selection the client asked for. */
export function changedTool(ctx: Context, query: ToolQuery, id: string) {
  return ctx.prisma.tool.findUniqueOrThrow({ ...query, where: { id } });
}

const ToolValidationRef = builder.objectRef<ValidationOutcome>('ToolValidation').implement({
  description: 'What createTool would make of an input, and every problem with it. Nothing is written.',
  fields: (t) => ({
    valid: t.boolean({ resolve: (outcome) => outcome.problems.length === 0, description: 'True when createTool would accept it.' }),
    tool: t.field({
      type: 'JSON',
      nullable: true,
      resolve: (outcome) => outcome.definition ?? null,
      description: 'The normalised tool (defaults filled in, platform and category lower-case), when the input could be read.',
    }),
    problems: t.field({ type: [FieldErrorRef], resolve: (outcome) => outcome.problems, description: 'Every problem, by field.' }),
    warnings: t.field({
      type: [FieldErrorRef],
      resolve: (outcome) => outcome.warnings,
      description: 'What the importer would warn about (unknown words or keys, undeclared estimate variables, placeholders): accepted, but worth a look.',
    }),
  }),
});

builder.mutationFields((t) => ({
  createTool: t.prismaField({
    type: 'Tool',
    errors: toolChangeErrors,
    description: 'Publishes a new tool as its first version. A tool with the same name and platform is a ConflictError.',
    args: {
      input: t.arg({ type: ToolInput, required: true, description: 'The tool.' }),
      reason: t.arg.string({ description: 'Why, for the audit log.' }),
    },
    resolve: async (query, _root, args, ctx) => {
      return changedTool(ctx, query, await createTool(ctx.prisma, toolFromInput(args.input), changeOrigin(ctx, args.reason), { strict: ctx.strictImport }));
    },
  }),
  validateTool: t.field({
    type: ToolValidationRef,
    description: 'Dry run of createTool: the normalised tool and every problem, including a version that already exists. Writes nothing.',
    args: { input: t.arg({ type: ToolInput, required: true, description: 'The tool to check.' }) },
    resolve: (_root, args, ctx) => validateTool(ctx.prisma, toolFromInput(args.input), { strict: ctx.strictImport }),
  }),
  updateTool: t.prismaField({
    type: 'Tool',
    errors: toolChangeErrors,
    description:
      'Publishes a new immutable version with `changes` applied to the latest; the previous version stays queryable. ' +
      'With `draft`, the version is stored but the latest stays where it is.',
    args: {
      ...toolRefArgs,
      ...newVersionArgs,
      changes: t.arg({ type: ToolPatchInput, required: true, description: 'What to change.' }),
    },
    resolve: async (query, _root, args, ctx) => {
      return changedTool(ctx, query, await updateTool(ctx.prisma, args, toolFromInput(args.changes), { ...args, strict: ctx.strictImport }, changeOrigin(ctx, args.reason)));
    },
  }),
  publishToolVersion: t.prismaField({
    type: 'Tool',
    errors: toolChangeErrors,
    description: 'Makes a draft version the latest, as ACTIVE.',
    args: { ...toolRefArgs, version: t.arg.string({ required: true, description: 'The draft version to publish.' }) },
    resolve: async (query, _root, args, ctx) => {
      return changedTool(ctx, query, await publishDraft(ctx.prisma, args, args.version, changeOrigin(ctx, args.reason)));
    },
  }),
  rollbackTool: t.prismaField({
    type: 'Tool',
    errors: toolChangeErrors,
    description: 'Publishes a copy of an older version as the new latest, recorded as a rollback. The on/off switch stays as it is.',
    args: {
      ...toolRefArgs,
      to: t.arg.string({ required: true, description: 'The version whose content comes back.' }),
      version: t.arg.string({ description: 'Version string of the new version; by default the last number of the latest plus one.' }),
    },
    resolve: async (query, _root, args, ctx) => {
      return changedTool(ctx, query, await rollbackTool(ctx.prisma, args, args.to, args, changeOrigin(ctx, args.reason)));
    },
  }),
  deprecateTool: t.prismaField({
    type: 'Tool',
    errors: toolChangeErrors,
    description: 'Marks the tool deprecated, naming the tool to use instead.',
    args: { ...toolRefArgs, successor: t.arg.string({ description: 'The tool to use instead: `name` (same platform) or `name@platform`.' }) },
    resolve: async (query, _root, args, ctx) => {
      return changedTool(ctx, query, await deprecateTool(ctx.prisma, args, args.successor, changeOrigin(ctx, args.reason)));
    },
  }),
  setToolEnabled: t.prismaField({
    type: 'Tool',
    errors: toolChangeErrors,
    description: 'Switches the tool on or off for the pipeline; a disabled tool stays listed.',
    args: { ...toolRefArgs, enabled: t.arg.boolean({ required: true, description: 'On (true) or off (false).' }) },
    resolve: async (query, _root, args, ctx) => {
      return changedTool(ctx, query, await setToolEnabled(ctx.prisma, args, args.enabled, changeOrigin(ctx, args.reason)));
    },
  }),
  deleteTool: t.prismaField({
    type: 'Tool',
    errors: toolChangeErrors,
    description: 'Soft delete: hides every version from reads, keeps them for restoreTool. Refused while a running experiment uses the tool.',
    args: toolRefArgs,
    resolve: async (query, _root, args, ctx) => {
      return changedTool(ctx, query, await deleteTool(ctx.prisma, args, changeOrigin(ctx, args.reason)));
    },
  }),
  restoreTool: t.prismaField({
    type: 'Tool',
    errors: toolChangeErrors,
    description: 'Brings a soft-deleted tool back, every version as it was.',
    args: toolRefArgs,
    resolve: async (query, _root, args, ctx) => {
      return changedTool(ctx, query, await restoreTool(ctx.prisma, args, changeOrigin(ctx, args.reason)));
    },
  }),
}));
