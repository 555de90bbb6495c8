import { Gauge, Histogram, type Registry } from 'prom-client';
import { isDatabaseUnavailable, ServiceUnavailableError } from '../db/availability.js';
import type { CatalogClock } from '../cache/catalogClock.js';
import { TOOL_CONTENT_INCLUDE } from '../catalog/toolContent.js';
import { latestVisible } from '../catalog/visibility.js';
import { headRevision, prunedThrough } from '../events/eventLog.js';
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import type { Logger } from '../logger.js';
import { approximateBytes, buildSnapshot, compileOrReuse, identityKey, SharedValues, type CatalogSnapshot, type MemoryTool, type MemoryToolRow } from './snapshot.js';

type Tx = Prisma.TransactionClient;

/** Whether the database is reachable as far as this process can tell without asking it. */
export interface DatabaseLink {
  /** False while the change listener has lost its connection (its heartbeat failed or the server went away). */
  readonly connected: boolean;
}

export interface MemoryCatalogOptions {
  clock: CatalogClock;
  log: Logger;
  registry?: Registry;
  /** How long a read waits for a rebuild that a change started before answering from the older revision (stale). */
  freshnessWaitMs?: number;
  /** After a failed rebuild, how long before a read may start another (a down database is not hammered). */
  retryAfterMs?: number;
  /** How long a rebuild may take before it counts as failed (the database did not answer). */
  buildTimeoutMs?: number;
}

/** What a reader holds for a whole request: one revision, and whether it may be behind the database. */
export interface CatalogRead {
  snapshot: CatalogSnapshot;
  /** True when the database could not confirm this is the current catalog (unreachable, or a rebuild is late). */
  stale: boolean;
}

/**
 * Thrown when there is no catalog in memory at all and the database cannot give one: to a client it
 * is the same SERVICE_UNAVAILABLE (503, Retry-After) as any other database outage.
 */
export class CatalogUnavailableError extends ServiceUnavailableError {
  constructor(message: string) {
    super('database', message);
    this.name = 'CatalogUnavailableError';
  }
}

/** `catalogStats.versions`: every stored version of the tools that are not deleted (one COUNT per rebuild, never per read). */
const versionCount = (tx: Tx) => tx.tool.count({ where: { deletedAt: null } });

/** Tools per statement of a full read. */
const FULL_READ_PAGE = 500;

/** Past this many changed tools, one full read is cheaper than a list of identities. */
const INCREMENTAL_LIMIT = 500;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CatalogUnavailableError(`${what}: no answer from the database within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The process's one in-memory catalog. Loaded from the database at start; whenever the catalog
 * generation advances (a local change committed, another instance's change heard, a reload) it
 * reads the event log after its revision and re-reads only the tools those events name, in one
 * REPEATABLE READ transaction so that the revision and the rows belong together. Each rebuild makes
 * a new immutable snapshot sharing the unchanged tools with the previous one.
 *
 * Reads never issue SQL. A read that arrives while a rebuild is under way waits for it a bounded time
 * (so a client reads its own writes); when the database is known to be unreachable it does not wait
 * at all and answers from the last snapshot, marked stale.
 */
export class MemoryCatalog {
  #snapshot: CatalogSnapshot | undefined;
  /** The clock generation the snapshot is known to be current for. */
  #appliedGeneration = -1;
  #running: Promise<boolean> | undefined;
  #lastFailureAt = 0;
  #failed = false;
  /** A rebuild a reader gave up waiting for (see read()). */
  #lateRebuild: Promise<boolean> | undefined;
  /** Why the last rebuild failed. */
  #lastError: unknown;
  #link: DatabaseLink | undefined;
  #stopped = false;
  /** Set by invalidate(): the next rebuild reads every tool, not only those the event log names. */
  #fullReadWanted = false;
  readonly #listeners = new Set<(snapshot: CatalogSnapshot) => void>();
  /** The read each request holds (see readFor), dropped with the request. */
  readonly #reads = new WeakMap<object, Promise<CatalogRead>>();
  readonly #revisionGauge?: Gauge;
  readonly #buildSeconds?: Histogram;
  readonly #freshnessWaitMs: number;
  readonly #retryAfterMs: number;
  readonly #buildTimeoutMs: number;
  readonly #unsubscribe: () => void;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly options: MemoryCatalogOptions,
  ) {
    this.#freshnessWaitMs = options.freshnessWaitMs ?? 2_000;
    this.#retryAfterMs = options.retryAfterMs ?? 1_000;
    this.#buildTimeoutMs = options.buildTimeoutMs ?? 30_000;
    if (options.registry) {
      this.#revisionGauge = new Gauge({
        name: 'tool_catalog_memory_catalog_revision',
        help: 'Catalog revision of the in-memory catalog that selection and profiles answer from',
        registers: [options.registry],
      });
      const current = () => this.#snapshot;
      new Gauge({
        name: 'tool_catalog_memory_catalog_tools',
        help: 'Tools (latest versions) held by the in-memory catalog',
        registers: [options.registry],
        collect() {
          this.set(current()?.tools.length ?? 0);
        },
      });
      new Gauge({
        name: 'tool_catalog_memory_catalog_bytes',
        help: 'Approximate heap bytes of the in-memory catalog (rows with capabilities and patterns, compiled expressions): an estimate from each row\'s JSON size',
        registers: [options.registry],
        collect() {
          this.set(current()?.tools.reduce((sum, tool) => sum + approximateBytes(tool), 0) ?? 0);
        },
      });
      this.#buildSeconds = new Histogram({
        name: 'tool_catalog_memory_catalog_build_seconds',
        help: 'Time to (re)build the in-memory catalog from the database, full or incremental',
        buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        labelNames: ['kind'],
        registers: [options.registry],
      });
    }
    // A change committed (here or elsewhere): bring memory up to date now, not at the next read.
    this.#unsubscribe = options.clock.onAdvance(() => {
      if (this.#snapshot && !this.#stopped) void this.refresh();
    });
  }

  /** The listener (or anything else) that knows whether the database connection is alive. */
  setDatabaseLink(link: DatabaseLink | undefined): void {
    this.#link = link;
  }

  /** The snapshot as it is now, without waiting (undefined before the first load). */
  get snapshot(): CatalogSnapshot | undefined {
    return this.#snapshot;
  }

  /** True when the database is known to be unreachable: the listener lost it, or the last rebuild failed. */
  get databaseUnreachable(): boolean {
    return (this.#link !== undefined && !this.#link.connected) || this.#failed;
  }

  /** Called with every new snapshot (the profiles file writer follows it). */
  onSnapshot(listener: (snapshot: CatalogSnapshot) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Serves a snapshot that did not come from the database (the profiles file) until the database answers. */
  adopt(snapshot: CatalogSnapshot): void {
    if (this.#snapshot) return;
    this.#snapshot = snapshot;
    this.#failed = true;
    this.#revisionGauge?.set(Number(snapshot.revision));
  }

  /**
   * Brings the snapshot up to the clock's generation. One rebuild runs at a time; a change that
   * arrives meanwhile is picked up by another pass. Resolves true when memory is current, false when
   * the database failed (the previous snapshot stays in service).
   */
  refresh(): Promise<boolean> {
    if (this.#running) return this.#running;
    const run = (async () => {
      try {
        while (this.#appliedGeneration < this.options.clock.generation || this.#snapshot?.source !== 'database') {
          const generation = this.options.clock.generation;
          await this.#rebuild();
          this.#appliedGeneration = generation;
        }
        this.#failed = false;
        return true;
      } catch (error) {
        this.#failed = true;
        this.#lastError = error;
        this.#lastFailureAt = Date.now();
        this.options.log.warn({ err: error }, 'in-memory catalog could not be rebuilt; answering from the last one (stale)');
        return false;
      } finally {
        this.#running = undefined;
      }
    })();
    this.#running = run;
    return run;
  }

  /**
   * One revision for one request. The first read waits for the first load. A read that finds memory
   * behind the clock waits up to `freshnessWaitMs` for the rebuild, unless the database is known to be
   * unreachable; either way it is answered, marked stale when memory could not be confirmed current.
   */
  async read(): Promise<CatalogRead> {
    if (!this.#snapshot) {
      const loaded = await this.refresh();
      if (!loaded || !this.#snapshot) {
        // An unreachable database is a 503 the client may retry; anything else (a broken schema, a bug) stays what it is.
        const error = this.#lastError;
        if (error === undefined || error instanceof ServiceUnavailableError || isDatabaseUnavailable(error)) throw new CatalogUnavailableError('the catalog is not loaded and the database does not answer');
        throw error;
      }
    }
    if (this.#appliedGeneration < this.options.clock.generation || this.#snapshot.source !== 'database') {
      const mayRetry = !this.#failed || Date.now() - this.#lastFailureAt >= this.#retryAfterMs;
      const pending = this.#running ?? (mayRetry ? this.refresh() : undefined);
      // A rebuild that already kept one reader waiting its whole allowance is late (the database may
      // hang): later readers answer at once, from the last revision, until it ends.
      if (pending && !this.databaseUnreachable && pending !== this.#lateRebuild) {
        let timer: NodeJS.Timeout | undefined;
        const waited = await Promise.race([
          pending.then(() => 'done' as const),
          new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), this.#freshnessWaitMs))),
        ]);
        clearTimeout(timer);
        if (waited === 'late') this.#lateRebuild = pending;
      }
    }
    const snapshot = this.#snapshot!;
    const behind = this.#appliedGeneration < this.options.clock.generation || snapshot.source !== 'database';
    return { snapshot, stale: behind || this.databaseUnreachable };
  }

  /**
   * The one read of a request (`request` is anything that lives as long as it, e.g. its context):
   * taken on first use and kept, so every field of one answer comes from one revision.
   */
  readFor(request: object): Promise<CatalogRead> {
    let read = this.#reads.get(request);
    if (!read) {
      read = this.read();
      this.#reads.set(request, read);
    }
    return read;
  }

  /**
   * True while the database cannot confirm what memory holds: it is unreachable, or memory holds a
   * start-up snapshot file. (A rebuild merely in progress does not count: it ends within moments.)
   */
  get unconfirmed(): boolean {
    return this.databaseUnreachable || (this.#snapshot !== undefined && this.#snapshot.source !== 'database');
  }

  /**
   * Forgets what memory knows: the next rebuild (started now) reads every latest tool. For changes
   * made without an event (SQL by hand); `reloadCatalog(source: DATABASE)` does the same on every
   * instance through the event log.
   */
  invalidate(): Promise<boolean> {
    this.#fullReadWanted = true;
    const start = () => {
      this.#appliedGeneration = -1;
      return this.refresh();
    };
    return this.#running ? this.#running.then(start) : start();
  }

  stop(): void {
    this.#stopped = true;
    this.#unsubscribe();
  }

  /** Resolves once no rebuild is in flight (a caller closing the database waits for it first). */
  async settled(): Promise<void> {
    while (this.#running) await this.#running.catch(() => undefined);
  }

  async #rebuild(): Promise<void> {
    const started = performance.now();
    const full = this.#fullReadWanted;
    const previous = this.#snapshot?.source === 'database' ? this.#snapshot : undefined;
    const { snapshot, kind } = await withTimeout(
      this.prisma.$transaction((tx) => this.#read(tx as Tx, previous, full), {
        isolationLevel: 'RepeatableRead',
        maxWait: this.#buildTimeoutMs,
        timeout: this.#buildTimeoutMs,
      }),
      this.#buildTimeoutMs,
      'rebuilding the in-memory catalog',
    );
    if (full) this.#fullReadWanted = false;
    this.#buildSeconds?.observe({ kind }, (performance.now() - started) / 1000);
    if (snapshot !== this.#snapshot) {
      this.#snapshot = snapshot;
      this.#revisionGauge?.set(Number(snapshot.revision));
      for (const listener of this.#listeners) {
        try {
          listener(snapshot);
        } catch (error) {
          this.options.log.warn({ err: error }, 'in-memory catalog listener failed');
        }
      }
    }
  }

  /** Reads what changed since `previous` (or everything) inside one snapshot of the database. */
  async #read(tx: Tx, previous: CatalogSnapshot | undefined, full: boolean): Promise<{ snapshot: CatalogSnapshot; kind: 'full' | 'incremental' | 'none' }> {
    const head = await headRevision(tx);
    if (previous && !full && head === previous.revision) return { snapshot: previous, kind: 'none' };
    if (previous && !full && head > previous.revision && (await prunedThrough(tx as PrismaClient)) <= previous.revision) {
      const events = await tx.catalogEvent.findMany({
        where: { revision: { gt: previous.revision, lte: head } },
        select: { toolName: true, platform: true, type: true, payload: true },
      });
      // A reload from the database is the operator saying the tables changed without events: read everything.
      const databaseReload = events.some(
        (event) => event.type === 'RELOAD_STARTED' && (event.payload as { source?: unknown } | null)?.source === 'database',
      );
      const identities = new Map<string, { name: string; platform: string }>();
      for (const event of events) {
        if (event.toolName !== null && event.platform !== null) identities.set(identityKey(event.toolName, event.platform), { name: event.toolName, platform: event.platform });
      }
      if (!databaseReload && identities.size <= INCREMENTAL_LIMIT) {
        const rows = identities.size
          ? await tx.tool.findMany({
              where: { ...latestVisible, OR: [...identities.values()].map(({ name, platform }) => ({ name, platform })) },
              include: { ...TOOL_CONTENT_INCLUDE, _count: { select: { capabilities: true } } },
            })
          : [];
        const tools = new Map(previous.byIdentity);
        for (const key of identities.keys()) tools.delete(key);
        const shared = new SharedValues();
        for (const row of rows) tools.set(identityKey(row.name, row.platform), compileOrReuse(row as MemoryToolRow, previous, shared));
        return { snapshot: buildSnapshot(head, tools.values(), 'database', await versionCount(tx)), kind: 'incremental' };
      }
    }
    // In pages, each compiled before the next is read: the driver's text and Prisma's parsed rows
    // of one page become garbage at once, instead of the whole catalog's at the peak of a start-up.
    const tools: MemoryTool[] = [];
    const shared = new SharedValues();
    let after: string | undefined;
    for (;;) {
      const rows = await tx.tool.findMany({
        where: latestVisible,
        include: { ...TOOL_CONTENT_INCLUDE, _count: { select: { capabilities: true } } },
        orderBy: { id: 'asc' },
        take: FULL_READ_PAGE,
        ...(after ? { cursor: { id: after }, skip: 1 } : {}),
      });
      for (const row of rows) tools.push(compileOrReuse(row as MemoryToolRow, previous, shared));
      if (rows.length < FULL_READ_PAGE) break;
      after = rows[rows.length - 1]!.id;
    }
    return { snapshot: buildSnapshot(head, tools, 'database', await versionCount(tx)), kind: 'full' };
  }
}
