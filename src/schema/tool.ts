import { PothosValidationError } from '@pothos/core';
import type { Prisma } from '../generated/prisma/client.js';
import { ToolStatus } from '../generated/prisma/enums.js';
import { latestVisible } from '../catalog/visibility.js';
import { builder, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './builder.js';

export const ToolStatusEnum = builder.enumType(ToolStatus, {
  name: 'ToolStatus',
  description: 'Lifecycle of a tool version.',
});

export const ToolRef = builder.prismaObject('Tool', {
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
    createdBy: t.exposeString('createdBy', { description: 'Who wrote this version.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'Last lifecycle change of this version.' }),
    updatedBy: t.exposeString('updatedBy', { description: 'Who made the last lifecycle change.' }),
    deletedAt: t.expose('deletedAt', { type: 'DateTime', nullable: true, description: 'Set when the tool is soft-deleted.' }),
    parent: t.relation('parent', { nullable: true, description: 'The version this one was derived from.' }),
    capabilities: t.relation('capabilities', {
      description: 'What this version can do.',
      query: { orderBy: [{ position: 'asc' }, { name: 'asc' }] },
    }),
    capabilityCount: t.relationCount('capabilities', { description: 'Number of capabilities of this version.' }),
  }),
});

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

type ToolFilterInput = typeof ToolFilter.$inferInput;

function toolWhere(filter: ToolFilterInput | null | undefined, search: string | null | undefined): Prisma.ToolWhereInput {
  const and: Prisma.ToolWhereInput[] = [latestVisible];
  if (filter?.platform) and.push({ platform: { equals: filter.platform, mode: 'insensitive' } });
  if (filter?.category) and.push({ category: { equals: filter.category, mode: 'insensitive' } });
  if (filter?.status) and.push({ status: filter.status });
  if (filter?.enabled != null) and.push({ enabled: filter.enabled });
  if (filter?.tag) and.push({ tags: { has: filter.tag } });
  if (filter?.capability) and.push({ capabilities: { some: { name: filter.capability } } });
  const term = search?.trim();
  if (term) {
    and.push({
      OR: [
        { name: { contains: term, mode: 'insensitive' } },
        { description: { contains: term, mode: 'insensitive' } },
      ],
    });
  }
  return { AND: and };
}

function toolOrderBy(order: { field: string; direction?: string | null } | null | undefined) {
  const direction = (order?.direction ?? 'asc') as Prisma.SortOrder;
  const field = (order?.field ?? 'name') as 'name' | 'platform' | 'category' | 'createdAt' | 'updatedAt';
  const secondary = field === 'name' ? 'platform' : 'name';
  // id last: cursor pagination needs a total order.
  return [{ [field]: direction }, { [secondary]: 'asc' }, { id: 'asc' }] as Prisma.ToolOrderByWithRelationInput[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Connection argument checks: a bad value is a BAD_USER_INPUT error naming the argument instead of
 * a silent clamp (page size) or a database error (cursor). The Prisma plugin calls `maxSize` with
 * the arguments before it plans the query, so the checks run there.
 */
export function checkedMaxPageSize(args: { first?: number | null; last?: number | null; after?: string | null; before?: string | null }) {
  for (const name of ['first', 'last'] as const) {
    const value = args[name];
    if (value != null && value > MAX_PAGE_SIZE) {
      throw new PothosValidationError(`Argument "${name}" must be at most ${MAX_PAGE_SIZE}, got ${value}`);
    }
  }
  for (const name of ['after', 'before'] as const) {
    const cursor = args[name];
    if (cursor == null) continue;
    // Cursors are the plugin's encoding of a tool id: base64("GPC:S:<uuid>").
    const decoded = Buffer.from(cursor, 'base64').toString('utf8');
    if (!decoded.startsWith('GPC:S:') || !UUID.test(decoded.slice(6))) {
      throw new PothosValidationError(`Argument "${name}" is not a valid cursor`);
    }
  }
  return MAX_PAGE_SIZE;
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
      const where: Prisma.ToolWhereInput = {
        name: args.name,
        deletedAt: null,
        ...(args.platform ? { platform: { equals: args.platform, mode: 'insensitive' } } : {}),
        ...(args.version ? { version: args.version } : { isLatest: true, enabled: true }),
      };
      const rows = await ctx.prisma.tool.findMany({ ...query, where, orderBy: { platform: 'asc' }, take: 2 });
      if (rows.length > 1) {
        throw new PothosValidationError(
          `Tool "${args.name}" exists on several platforms; pass the "platform" argument`,
        );
      }
      return rows[0] ?? null;
    },
  }),
  tools: t.prismaConnection({
    type: 'Tool',
    cursor: 'id',
    description: 'The latest version of every tool that is not deleted, filtered, searched and ordered; a Relay connection.',
    defaultSize: DEFAULT_PAGE_SIZE,
    maxSize: (args) => checkedMaxPageSize(args),
    args: {
      filter: t.arg({ type: ToolFilter, description: 'Conditions every returned tool meets.' }),
      search: t.arg.string({ description: 'Case-insensitive text matched against name and description.' }),
      orderBy: t.arg({ type: ToolOrder, description: 'Ordering; by name by default.' }),
    },
    totalCount: (_parent, args, ctx) => ctx.prisma.tool.count({ where: toolWhere(args.filter, args.search) }),
    resolve: (query, _parent, args, ctx) =>
      ctx.prisma.tool.findMany({
        ...query,
        where: toolWhere(args.filter, args.search),
        orderBy: toolOrderBy(args.orderBy),
      }),
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
}));
