import type { Prisma } from '../generated/prisma/client.js';
import { builder } from './builder.js';
import { checkedMaxPageSize, DEFAULT_PAGE_SIZE } from './paging.js';

builder.prismaObject('AuditLog', {
  name: 'AuditEntry',
  description: 'One change to the catalog: who, what, before and after, why, and from where.',
  fields: (t) => ({
    id: t.string({ resolve: (entry) => entry.id.toString(), description: 'Sequence number; later entries have larger ones.' }),
    actor: t.exposeString('actor', { description: 'Name of the API key (or `seed`, `cli`) that made the change.' }),
    action: t.exposeString('action', { description: 'What was done, e.g. `tool.create`, `tool.rollback`, `pattern.update`.' }),
    entityType: t.exposeString('entityType', { description: 'Kind of thing changed: Tool, ApiKey...' }),
    entityId: t.exposeString('entityId', { nullable: true, description: 'Identifier of the changed row.' }),
    entityName: t.exposeString('entityName', { nullable: true, description: 'Readable name, e.g. `grep@linux`.' }),
    diff: t.expose('diff', { type: 'JSON', description: 'Before and after: field changes for versions, old and new values for lifecycle changes.' }),
    reason: t.exposeString('reason', { nullable: true, description: 'Why, as the caller said.' }),
    clientIp: t.exposeString('clientIp', { nullable: true, description: 'Address the request came from.' }),
    userAgent: t.exposeString('userAgent', { nullable: true, description: 'User agent of the request.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When.' }),
  }),
});

const AuditFilter = builder.inputType('AuditFilter', {
  description: 'Narrows the audit log. All given conditions must hold.',
  fields: (t) => ({
    actor: t.string({ description: 'Key name, exact.' }),
    action: t.string({ description: 'Action, exact (`tool.delete`) or a prefix ending in a dot (`tool.`).' }),
    entityType: t.string({ description: 'Kind of thing changed.' }),
    entityName: t.string({ description: 'Readable name, exact, e.g. `grep@linux`.' }),
    since: t.field({ type: 'DateTime', description: 'At or after this time.' }),
    until: t.field({ type: 'DateTime', description: 'Before this time.' }),
  }),
});

function auditWhere(filter: typeof AuditFilter.$inferInput | null | undefined): Prisma.AuditLogWhereInput {
  if (!filter) return {};
  return {
    ...(filter.actor ? { actor: filter.actor } : {}),
    ...(filter.action ? { action: filter.action.endsWith('.') ? { startsWith: filter.action } : filter.action } : {}),
    ...(filter.entityType ? { entityType: filter.entityType } : {}),
    ...(filter.entityName ? { entityName: filter.entityName } : {}),
    ...(filter.since || filter.until
      ? { createdAt: { ...(filter.since ? { gte: filter.since } : {}), ...(filter.until ? { lt: filter.until } : {}) } }
      : {}),
  };
}

builder.queryField('auditLog', (t) =>
  t.prismaConnection(
    {
      type: 'AuditLog',
      cursor: 'id',
      // Client addresses and change details are for the people who make changes.
      authScopes: { editor: true },
      description: 'Every change to the catalog, newest first. Needs an editor key.',
      defaultSize: DEFAULT_PAGE_SIZE,
      maxSize: (args) => checkedMaxPageSize(args, 'bigint'),
      args: { filter: t.arg({ type: AuditFilter, description: 'Conditions every entry meets.' }) },
      totalCount: (_parent, args, ctx) => ctx.prisma.auditLog.count({ where: auditWhere(args.filter) }),
      resolve: (query, _parent, args, ctx) =>
        ctx.prisma.auditLog.findMany({ ...query, where: auditWhere(args.filter), orderBy: { id: 'desc' } }),
    },
    { name: 'AuditConnection', description: 'A page of audit entries with the total number matching.' },
    { name: 'AuditEdge', description: 'An audit entry in a page, with its cursor.' },
  ),
);
