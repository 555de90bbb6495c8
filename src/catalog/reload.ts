import type { CatalogReload, PrismaClient } from '../generated/prisma/client.js';
import type { CatalogClock } from '../cache/catalogClock.js';
import type { Logger } from '../logger.js';
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
}

export interface ReloadOutcome {
  /** The history row, finished (with `error` set when it failed). */
  reload: CatalogReload;
  /** For a directory reload: what the importer planned or did. */
  plan?: ImportReport;
}

/**
 * Reloads the catalog from its directory (through the one importer, all or nothing) or from the
 * database (dropping every cached answer). One at a time: a reload asked for while another runs
 * waits for it, and identical requests waiting together run once. Every reload is a history row.
 */
export class CatalogReloader {
  #tail: Promise<unknown> = Promise.resolve();
  readonly #waiting = new Map<string, Promise<ReloadOutcome>>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly options: { catalogDir: string; clock?: CatalogClock; log?: Logger },
  ) {}

  reload(request: ReloadRequest): Promise<ReloadOutcome> {
    const key = `${request.source}:${request.dryRun}`;
    const queued = this.#waiting.get(key);
    if (queued) return queued;
    const run = this.#tail.then(() => {
      this.#waiting.delete(key);
      return this.#run(request);
    });
    this.#waiting.set(key, run);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async #run(request: ReloadRequest): Promise<ReloadOutcome> {
    const source = request.source === 'directory' ? this.options.catalogDir : 'database';
    const started = await this.prisma.catalogReload.create({
      data: { trigger: request.trigger, actor: request.actor, source, dryRun: request.dryRun },
    });
    const event = async (type: 'RELOAD_STARTED' | 'RELOAD_FINISHED' | 'RELOAD_FAILED', payload: object) => {
      await this.prisma.$transaction((tx) =>
        appendEvents(
          tx,
          [{ type, payload: { reloadId: started.id, trigger: request.trigger, actor: request.actor, source, dryRun: request.dryRun, ...payload } }],
          request.trigger,
        ),
      );
      // The history and the event log changed: cached answers about them are stale, and this
      // instance's subscribers hear of it without waiting for the database's notification.
      this.options.clock?.advance();
    };
    await event('RELOAD_STARTED', {});
    const finish = async (data: Partial<Pick<CatalogReload, 'created' | 'newVersions' | 'unchanged' | 'removed' | 'rejected' | 'error'>>) => {
      const reload = await this.prisma.catalogReload.update({
        where: { id: started.id },
        data: { ...data, finishedAt: new Date(), durationMs: Math.round(Date.now() - started.startedAt.getTime()) },
      });
      const { created, newVersions, unchanged, removed, rejected, error, durationMs } = reload;
      await event(error ? 'RELOAD_FAILED' : 'RELOAD_FINISHED', { created, newVersions, unchanged, removed, rejected, error, durationMs });
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
        { actor: request.actor, trigger: request.trigger, dryRun: request.dryRun, reason: request.reason, clientIp: request.clientIp, userAgent: request.userAgent },
      );
      if (plan.applied) this.options.clock?.advance();
      const counts = { created: plan.counts.create, newVersions: plan.counts.new_version, unchanged: plan.counts.unchanged, rejected: plan.counts.rejected };
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
      return { reload: await finish({ error: `reload failed, nothing changed: ${why}` }) };
    }
  }
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
