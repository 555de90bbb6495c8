import type { ReloadOutcome } from '../catalog/reload.js';
import { changeOrigin } from '../context.js';
import { visibleActor, visibleSource } from './actors.js';
import { builder } from './builder.js';
import { ImportResultRef } from './catalogTransfer.js';
import { checkedMaxPageSize, DEFAULT_PAGE_SIZE } from './paging.js';

const CatalogReloadRef = builder.prismaObject('CatalogReload', {
  description: 'One catalog reload: what asked for it, what it changed, how long it took, how it ended.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Identifier.' }),
    trigger: t.exposeString('trigger', { description: 'What asked for it: graphql, cli, startup, watch, schedule.' }),
    actor: t.string({
      nullable: true,
      resolve: (reload, _args, ctx) => visibleActor(ctx, reload.actor),
      description: 'Key name or process that asked; `hidden` for callers below editor.',
    }),
    source: t.string({ resolve: (reload) => visibleSource(reload.source), description: 'The name of the catalog directory read (not its path on the server), or `database`.' }),
    dryRun: t.exposeBoolean('dryRun', { description: 'True when it only planned.' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', description: 'When it started.' }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true, description: 'When it ended; null while running.' }),
    durationMs: t.exposeInt('durationMs', { nullable: true, description: 'How long it took.' }),
    created: t.exposeInt('created', { description: 'New tools.' }),
    newVersions: t.exposeInt('newVersions', { description: 'New versions of existing tools.' }),
    unchanged: t.exposeInt('unchanged', { description: 'Tools already as the source has them.' }),
    removed: t.exposeInt('removed', { description: 'Tools soft-deleted because their file is gone (reloads with `prune`).' }),
    reason: t.exposeString('reason', { nullable: true, description: 'Why it was asked for, as given (also on the audit entries of what it changed).' }),
    rejected: t.exposeInt('rejected', { description: 'Files rejected.' }),
    error: t.exposeString('error', { nullable: true, description: 'Why it failed; null when it succeeded. A failed reload changed nothing.' }),
  }),
});

const ReloadSourceEnum = builder.enumType('ReloadSource', {
  description: 'Where a reload reads the catalog from.',
  values: {
    DIRECTORY: { value: 'directory', description: 'The catalog directory of the service (CATALOG_DIR), through the importer, all or nothing.' },
    DATABASE: { value: 'database', description: 'The database as it is: every cached answer is dropped.' },
  } as const,
});

const ReloadResultRef = builder.objectRef<ReloadOutcome>('ReloadResult').implement({
  description: 'A finished reload and, for a directory reload, the importer’s plan.',
  fields: (t) => ({
    reload: t.field({ type: CatalogReloadRef, resolve: (outcome) => outcome.reload, description: 'The history row.' }),
    plan: t.field({ type: ImportResultRef, nullable: true, resolve: (outcome) => outcome.plan ?? null, description: 'Every file and its outcome.' }),
  }),
});

interface ReloadStats {
  total: number;
  failed: number;
  lastSucceededAt: Date | null;
  averageDurationMs: number | null;
}

const ReloadStatsRef = builder.objectRef<ReloadStats>('ReloadStats').implement({
  description: 'Reloads over the whole history.',
  fields: (t) => ({
    total: t.exposeInt('total', { description: 'Reloads run (dry runs included).' }),
    failed: t.exposeInt('failed', { description: 'Reloads that failed and changed nothing.' }),
    lastSucceededAt: t.expose('lastSucceededAt', { type: 'DateTime', nullable: true, description: 'End of the latest successful reload.' }),
    averageDurationMs: t.exposeFloat('averageDurationMs', { nullable: true, description: 'Mean duration of finished reloads.' }),
  }),
});

builder.mutationField('reloadCatalog', (t) =>
  t.field({
    type: ReloadResultRef,
    description:
      'Reloads the catalog from its directory or refreshes it from the database. Readers see it whole before or whole after; ' +
      'a failed reload changes nothing and says why. Reloads never overlap: one asked for meanwhile runs after. Needs an editor key.',
    args: {
      source: t.arg({ type: ReloadSourceEnum, defaultValue: 'directory', description: 'Where to read from.' }),
      dryRun: t.arg.boolean({ defaultValue: false, description: 'Plan only.' }),
      reason: t.arg.string({ description: 'Why, for the history and the audit log.' }),
      prune: t.arg.boolean({
        description: 'Soft-delete tools that came from the directory and whose file is gone (a dry run lists them); by default CATALOG_PRUNE. Tools created through the API are never pruned.',
      }),
    },
    resolve: (_root, args, ctx) => {
      const origin = changeOrigin(ctx, args.reason);
      return ctx.reloader.reload({ ...origin, source: args.source ?? 'directory', dryRun: args.dryRun ?? false, prune: args.prune });
    },
  }),
);

builder.queryFields((t) => ({
  reloadHistory: t.prismaConnection(
    {
      type: 'CatalogReload',
      cursor: 'id',
      description: 'Every reload, newest first; kept across restarts.',
      defaultSize: DEFAULT_PAGE_SIZE,
      maxSize: (args) => checkedMaxPageSize(args, 'uuid'),
      totalCount: (_parent, _args, ctx) => ctx.prisma.catalogReload.count(),
      resolve: (query, _parent, _args, ctx) => ctx.prisma.catalogReload.findMany({ ...query, orderBy: [{ startedAt: 'desc' }, { id: 'desc' }] }),
    },
    { name: 'ReloadConnection', description: 'A page of reloads.' },
    { name: 'ReloadEdge', description: 'A reload in a page, with its cursor.' },
  ),
  reloadStats: t.field({
    type: ReloadStatsRef,
    description: 'Counts and timings over every reload.',
    resolve: async (_root, _args, ctx) => {
      const [total, failed, lastOk, average] = await Promise.all([
        ctx.prisma.catalogReload.count(),
        ctx.prisma.catalogReload.count({ where: { error: { not: null } } }),
        ctx.prisma.catalogReload.findFirst({ where: { error: null, finishedAt: { not: null } }, orderBy: { finishedAt: 'desc' }, select: { finishedAt: true } }),
        ctx.prisma.catalogReload.aggregate({ _avg: { durationMs: true }, where: { finishedAt: { not: null } } }),
      ]);
      return { total, failed, lastSucceededAt: lastOk?.finishedAt ?? null, averageDurationMs: average._avg.durationMs ?? null };
    },
  }),
}));
