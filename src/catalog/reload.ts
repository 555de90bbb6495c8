import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { CatalogReload, PrismaClient } from '../generated/prisma/client.js';
import type { CatalogClock } from '../cache/catalogClock.js';
import type { Logger } from '../logger.js';
import { auditRow } from '../audit/auditRow.js';
import { appendEvents } from '../events/eventLog.js';
import { ConflictError } from './errors.js';
import { importCatalog, type ImportReport } from './importer.js';

export type ReloadSource = 'directory' | 'database';

export interface ReloadRequest {
  source: ReloadSource;
  dryRun: boolean;
  /** What asked for it: graphql, cli, startup, watch, schedule. */
  trigger: string;
  actor: string;
  reason?: string | null;
  clientIp?: string | null;
  userAgent?: string | null;
  /** Soft-delete tools from the directory whose file is gone; by default CATALOG_PRUNE. */
  prune?: boolean | null;
}

export interface ReloadOutcome {
  /** The history row, finished (with `error` set when it failed). */
  reload: CatalogReload;
  /** For a directory reload: what the importer planned or did. */
  plan?: ImportReport;
}

/** What asks for reloads; the trigger label takes only these values. */
export const RELOAD_TRIGGERS = ['startup', 'graphql', 'watch', 'schedule', 'cli'] as const;
/** success: applied (or nothing to change); failure: nothing changed; dry_run: planned only. */
export const RELOAD_OUTCOMES = ['success', 'failure', 'dry_run'] as const;

function reloadMetrics(registry: Registry) {
  const reloads = new Counter({
    name: 'tool_catalog_reloads_total',
    help: 'Catalog reloads by trigger (startup, graphql, watch, schedule, cli) and outcome (success, failure, dry_run)',
    labelNames: ['trigger', 'outcome'],
    registers: [registry],
  });
  // Every series exists from the start at 0: the first failure is then an increase Prometheus sees.
  for (const trigger of RELOAD_TRIGGERS) for (const outcome of RELOAD_OUTCOMES) reloads.inc({ trigger, outcome }, 0);
  const seconds = new Histogram({
    name: 'tool_catalog_reload_duration_seconds',
    help: 'Duration of catalog reloads (dry runs and failures included)',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [registry],
  });
  const lastSuccess = new Gauge({
    name: 'tool_catalog_last_successful_reload_timestamp_seconds',
    help: 'Unix time at which the last successful (not dry-run) reload of this instance finished; 0 before the first',
    registers: [registry],
  });
  lastSuccess.set(0);
  return {
    observe(request: ReloadRequest, reload: CatalogReload) {
      const trigger = (RELOAD_TRIGGERS as readonly string[]).includes(request.trigger) ? request.trigger : 'other';
      const outcome = reload.error ? 'failure' : request.dryRun ? 'dry_run' : 'success';
      reloads.inc({ trigger, outcome });
      seconds.observe((reload.durationMs ?? 0) / 1000);
      if (outcome === 'success') lastSuccess.set((reload.finishedAt ?? new Date()).getTime() / 1000);
    },
  };
}

/**
 * Reloads the catalog from its directory (through the one importer, all or nothing) or from the
 * database (dropping every cached answer). One at a time: a reload asked for while another runs
 * waits for it, and identical requests waiting together run once. Every reload is a history row.
 */
export class CatalogReloader {
  #tail: Promise<unknown> = Promise.resolve();
  readonly #waiting = new Map<string, Promise<ReloadOutcome>>();
  readonly #metrics?: ReturnType<typeof reloadMetrics>;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly options: { catalogDir: string; clock?: CatalogClock; log?: Logger; registry?: Registry; prune?: boolean; strict?: boolean },
  ) {
    if (options.registry) this.#metrics = reloadMetrics(options.registry);
  }

  reload(request: ReloadRequest): Promise<ReloadOutcome> {
    const key = `${request.source}:${request.dryRun}:${request.prune ?? this.options.prune ?? false}`;
    const queued = this.#waiting.get(key);
    if (queued) return queued;
    const run = this.#tail.then(async () => {
      this.#waiting.delete(key);
      const outcome = await this.#run(request);
      this.#metrics?.observe(request, outcome.reload);
      return outcome;
    });
    this.#waiting.set(key, run);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async #run(request: ReloadRequest): Promise<ReloadOutcome> {
    const source = request.source === 'directory' ? this.options.catalogDir : 'database';
    const prune = request.prune ?? this.options.prune ?? false;
    const started = await this.prisma.catalogReload.create({
      data: { trigger: request.trigger, actor: request.actor, source, dryRun: request.dryRun, reason: request.reason ?? null },
    });
    const common = { reloadId: started.id, trigger: request.trigger, actor: request.actor, source, dryRun: request.dryRun, reason: request.reason ?? null };
    const events = async (list: Array<{ type: 'RELOAD_STARTED' | 'RELOAD_FINISHED' | 'RELOAD_FAILED'; payload: object }>) => {
      await this.prisma.$transaction((tx) =>
        appendEvents(
          tx,
          list.map(({ type, payload }) => ({ type, payload: { ...common, ...payload } })),
          request.trigger,
        ),
      );
    };
    // A directory reload announces itself only once it changes something (its RELOAD_STARTED is
    // written in the import's own transaction, before the tools' events) or fails: a scheduled
    // reload that finds nothing new leaves its history row and no events.
    let announced = false;
    const announce = async () => {
      if (!announced) await events([{ type: 'RELOAD_STARTED', payload: {} }]);
      announced = true;
    };
    if (request.source === 'database' && !request.dryRun) await announce();
    const finish = async (data: Partial<Pick<CatalogReload, 'created' | 'newVersions' | 'unchanged' | 'removed' | 'rejected' | 'error'>>) => {
      // The history row and, for a reload that was not a dry run, its audit entry: the reason is
      // kept in both whatever the reload did, also when it changed nothing (which writes no events).
      const reload = await this.prisma.$transaction(async (tx) => {
        const finished = await tx.catalogReload.update({
          where: { id: started.id },
          data: { ...data, finishedAt: new Date(), durationMs: Math.round(Date.now() - started.startedAt.getTime()) },
        });
        if (!request.dryRun) await tx.auditLog.create({ data: reloadAuditRow(request, finished) });
        return finished;
      });
      const { created, newVersions, unchanged, removed, rejected, error, durationMs } = reload;
      if (error) await announce();
      if (announced) await events([{ type: error ? 'RELOAD_FAILED' : 'RELOAD_FINISHED', payload: { created, newVersions, unchanged, removed, rejected, error, durationMs } }]);
      // The history (and perhaps the event log) changed: cached answers about them are stale, and
      // this instance's subscribers hear of it without waiting for the database's notification.
      this.options.clock?.advance();
      return reload;
    };
    try {
      if (request.source === 'database') {
        if (!request.dryRun) this.options.clock?.advance();
        return { reload: await finish({ unchanged: await this.prisma.tool.count({ where: { isLatest: true, deletedAt: null } }) }) };
      }
      const plan = await importCatalog(
        this.prisma,
        { paths: [this.options.catalogDir] },
        {
          actor: request.actor,
          trigger: request.trigger,
          dryRun: request.dryRun,
          reason: request.reason,
          clientIp: request.clientIp,
          userAgent: request.userAgent,
          loadedFrom: 'directory',
          prune,
          strict: this.options.strict,
          beforeWrite: async (tx) => {
            if (announced) return;
            await appendEvents(tx, [{ type: 'RELOAD_STARTED', payload: common }], request.trigger);
            announced = true;
          },
        },
      );
      if (plan.applied) this.options.clock?.advance();
      const counts = {
        created: plan.counts.create,
        newVersions: plan.counts.new_version,
        unchanged: plan.counts.unchanged,
        rejected: plan.counts.rejected,
        removed: plan.counts.removed,
      };
      const firstRejected = plan.tools.find((tool) => tool.action === 'rejected');
      const error =
        !request.dryRun && !plan.applied && firstRejected
          ? `${plan.counts.rejected} file(s) rejected, nothing changed; first: ${firstRejected.file}: ${firstRejected.reason ?? 'invalid'}`
          : null;
      return { reload: await finish({ ...counts, error }), plan };
    } catch (error) {
      // The import is one transaction: a failure part-way leaves the catalog as it was. Only an
      // expected conflict is described in the history; anything else stays in the service log.
      this.options.log?.error({ err: error, reload: started.id }, 'catalog reload failed');
      const why = error instanceof ConflictError ? error.message : 'unexpected error (see the service log)';
      // A RELOAD_STARTED written in the failed import's transaction was rolled back with it.
      if (request.source === 'directory') announced = false;
      return { reload: await finish({ error: `reload failed, nothing changed: ${why}` }) };
    }
  }
}

/**
 * The audit entry of a finished reload (not a dry run): who, why, from which source and what came
 * of it. The tools it changed have entries of their own; this one is written even when it changed
 * nothing or failed, so that every reload asked for is in the audit log with its reason.
 */
function reloadAuditRow(request: ReloadRequest, reload: CatalogReload) {
  const { created, newVersions, unchanged, removed, rejected, error } = reload;
  return auditRow(
    { actor: request.actor, trigger: request.trigger, reason: request.reason, clientIp: request.clientIp, userAgent: request.userAgent },
    {
      action: 'catalog.reload',
      entityType: 'CatalogReload',
      entityId: reload.id,
      // The kind of source, not the directory's path on the server.
      entityName: request.source,
      diff: { after: { created, newVersions, unchanged, removed, rejected, error } },
    },
  );
}

/** What a reload row left open by a process that stopped mid-reload says once closed. */
export const INTERRUPTED = 'INTERRUPTED: the service stopped before this reload finished; nothing it had not committed was kept';

/**
 * Closes reload rows that a crashed or killed process left open, at start-up. A reload is one
 * transaction, so an unfinished one changed nothing; its row says so instead of "running" forever.
 * (Should another instance still be running one of these reloads, its own ending overwrites this.)
 */
export async function closeInterruptedReloads(prisma: PrismaClient): Promise<number> {
  const open = await prisma.catalogReload.findMany({ where: { finishedAt: null }, select: { id: true, startedAt: true } });
  const now = new Date();
  for (const row of open) {
    await prisma.catalogReload.updateMany({
      where: { id: row.id, finishedAt: null },
      data: { finishedAt: now, durationMs: Math.max(0, now.getTime() - row.startedAt.getTime()), error: INTERRUPTED },
    });
  }
  return open.length;
}
