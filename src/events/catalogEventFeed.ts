import { GraphQLError } from 'graphql';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { CatalogClock } from '../cache/catalogClock.js';
import type { Logger } from '../logger.js';
import { eventsAfter, headRevision, prunedThrough, type CatalogEvent } from './eventLog.js';

/** What a subscriber receives: a logged event, or word that the events it asked for were pruned. */
export type FeedEvent = CatalogEvent | ReplayTruncated;

export interface ReplayTruncated {
  type: 'REPLAY_TRUNCATED';
  /** Events up to here are gone from the log; re-read the catalog, then carry on from this one. */
  revision: bigint;
  createdAt: Date;
  toolName: null;
  platform: null;
  toolId: null;
  version: null;
  payload: Record<string, never>;
}

export interface FeedOptions {
  clock: CatalogClock;
  registry?: Registry;
  log?: Logger;
  /** Events one subscriber may have waiting; one more and it is dropped as too slow. */
  queueLimit?: number;
  /** Events read from the log per statement. */
  pageSize?: number;
  /** After a failed read of the log, try again this much later. */
  retryMs?: number;
}

export interface SubscribeOptions {
  /** Replay every logged event after this revision first. Absent: live events only. */
  since?: bigint | null;
  types?: readonly string[] | null;
  /** Label for the active-subscription gauge. */
  transport?: string;
  /**
   * Called when the subscriber is dropped for falling behind. A client that stopped reading will
   * not read the error either, so the transport should close its connection here.
   */
  onDrop?: () => void;
}

/** The reason a subscriber is dropped, with the revision to resume from. */
export class SubscriberTooSlowError extends GraphQLError {
  constructor(resumeAfter: bigint, limit: number) {
    super(`this subscriber fell more than ${limit} events behind and was dropped; subscribe again with since: ${resumeAfter} to resume`, {
      extensions: { code: 'SUBSCRIBER_TOO_SLOW', resumeAfter: Number(resumeAfter) },
    });
  }
}

/**
 * One subscriber's bounded queue. Before it goes live (while it replays from the log) an overflow
 * only means "read the log again"; once live, an overflow drops it, so a client that stops reading
 * costs a bounded amount of memory and never slows the feed down for anyone else.
 */
class Inbox {
  // Pages as the feed read them, shared by every inbox (nothing is copied per subscriber), and the
  // position in the first one: taking an event never shifts a long array.
  #pages: Array<readonly CatalogEvent[]> = [];
  #position = 0;
  #size = 0;
  #wake: (() => void) | undefined;
  #closed = false;
  #failure: Error | undefined;
  live = false;
  /** Set when events were discarded before going live; the replay must read the log again. */
  missed = false;
  /** The newest revision this subscriber has been given (or skipped by its filter). */
  cursor = 0n;

  constructor(
    readonly limit: number,
    readonly onDrop: () => void,
  ) {}

  offer(events: readonly CatalogEvent[]): void {
    if (this.#closed || !events.length) return;
    if (this.#size + events.length > this.limit) {
      if (this.live) {
        this.fail(new SubscriberTooSlowError(this.cursor, this.limit));
        this.onDrop();
        return;
      }
      this.#clear();
      this.missed = true;
      return;
    }
    this.#pages.push(events);
    this.#size += events.length;
    this.#wakeUp();
  }

  /** The next queued event; undefined once closed. Throws the failure that dropped this inbox. */
  async take(): Promise<CatalogEvent | undefined> {
    for (;;) {
      if (this.#failure) throw this.#failure;
      if (this.#closed) return undefined;
      const page = this.#pages[0];
      if (page) {
        const next = page[this.#position++]!;
        this.#size -= 1;
        if (this.#position === page.length) {
          this.#pages.shift();
          this.#position = 0;
        }
        return next;
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  fail(error: Error): void {
    this.#failure ??= error;
    this.#clear();
    this.#wakeUp();
  }

  close(): void {
    this.#closed = true;
    this.#clear();
    this.#wakeUp();
  }

  #clear() {
    this.#pages = [];
    this.#position = 0;
    this.#size = 0;
  }

  #wakeUp() {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

/**
 * The instance's one reader of the catalog event log. Whenever the catalog generation advances (a
 * change here, or a NOTIFY from another instance), it reads the new events once — a single
 * statement whatever the number of subscribers — and hands them to every subscriber's bounded
 * queue. A subscriber with `since` first replays the log from there (its own reads, paced by its
 * own consumption), then continues live with no gap and no repeat: revisions are assigned in
 * commit order, and each subscriber skips what it has already been given.
 */
export class CatalogEventFeed {
  readonly #inboxes = new Set<Inbox>();
  #joining: Array<{ inbox: Inbox; resolve(at: bigint): void; reject(error: unknown): void }> = [];
  #pollWanted = false;
  #running = false;
  /** Every event up to here has been handed out; undefined until the log was first read. */
  #last: bigint | undefined;
  #retry: NodeJS.Timeout | undefined;
  #stopped = false;
  readonly #unsubscribe: () => void;
  readonly #queueLimit: number;
  readonly #pageSize: number;
  readonly #active?: Gauge<'transport'>;
  readonly #dropped?: Counter;
  readonly #reads?: Counter;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly options: FeedOptions,
  ) {
    this.#queueLimit = options.queueLimit ?? 10_000;
    // A page is handed to every queue at once, so a page must fit in an empty queue.
    this.#pageSize = Math.min(options.pageSize ?? 500, this.#queueLimit);
    if (options.registry) {
      this.#active = new Gauge({
        name: 'tool_catalog_event_subscriptions',
        help: 'catalogEvents subscriptions open now, by transport',
        labelNames: ['transport'],
        registers: [options.registry],
      });
      this.#dropped = new Counter({
        name: 'tool_catalog_event_subscribers_dropped_total',
        help: 'catalogEvents subscribers dropped for falling too far behind',
        registers: [options.registry],
      });
      this.#reads = new Counter({
        name: 'tool_catalog_event_log_reads_total',
        help: 'Reads of the event log by the shared feed (one per change, whatever the number of subscribers)',
        registers: [options.registry],
      });
    }
    this.#unsubscribe = options.clock.onAdvance(() => this.poke());
  }

  get subscriberCount(): number {
    return this.#inboxes.size;
  }

  /** Something may have been appended to the log: read it (coalesced with any read already waiting). */
  poke(): void {
    this.#pollWanted = true;
    void this.#drive();
  }

  /** Ends every subscription and stops following the clock. */
  stop(): void {
    this.#stopped = true;
    this.#unsubscribe();
    if (this.#retry) clearTimeout(this.#retry);
    for (const inbox of this.#inboxes) inbox.close();
    for (const { inbox } of this.#joining) inbox.close();
  }

  subscribe(options: SubscribeOptions = {}): AsyncIterableIterator<FeedEvent> {
    const transport = options.transport ?? 'other';
    let released = false;
    let counted = false;
    const release = () => {
      if (released) return;
      released = true;
      inbox.close();
      this.#inboxes.delete(inbox);
      if (counted) this.#active?.dec({ transport });
    };
    // Counted once it has joined the fan-out, so the gauge never shows a subscriber that could
    // still miss an event.
    const joined = () => {
      if (released) return;
      counted = true;
      this.#active?.inc({ transport });
    };
    // A dropped subscriber leaves the fan-out at once, even if its client never reads again; the
    // error reaches the client with the next event it asks for.
    const inbox = new Inbox(this.#queueLimit, () => {
      this.#dropped?.inc();
      release();
      options.onDrop?.();
    });
    const events = this.#deliver(inbox, options, joined, release);
    // An async generator cannot be interrupted while it awaits, so ending a subscription closes
    // its inbox first: the pending wait returns at once and the generator finishes.
    return {
      next: () => events.next(),
      return: (value?: unknown) => {
        release();
        return events.return(value as undefined);
      },
      throw: (error?: unknown) => {
        release();
        return events.throw(error);
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  async *#deliver(inbox: Inbox, options: SubscribeOptions, joined: () => void, release: () => void): AsyncGenerator<FeedEvent> {
    const types = options.types?.length ? new Set(options.types) : undefined;
    try {
      const joinedAt = await this.#join(inbox);
      joined();
      if (options.since !== undefined && options.since !== null) {
        let cursor = options.since;
        const horizon = await prunedThrough(this.prisma);
        if (cursor < horizon) {
          const retention = await this.prisma.catalogEventRetention.findUnique({ where: { id: 1 } });
          yield truncated(horizon, retention?.prunedAt ?? new Date());
          cursor = horizon;
        }
        // Replay from the log up to the moment of joining; everything after arrives in the inbox.
        // If the inbox overflowed meanwhile, the log is read again from where the replay got to.
        let upTo = joinedAt;
        for (let round = 0; ; round += 1) {
          inbox.missed = false;
          for (;;) {
            const page = await eventsAfter(this.prisma, cursor, this.#pageSize, options.types, upTo);
            for (const event of page) {
              cursor = event.revision;
              yield event;
            }
            if (page.length < this.#pageSize) break;
          }
          if (!inbox.missed) break;
          upTo = this.#last ?? upTo;
          if (round > 1_000) throw new Error('event replay could not catch up');
        }
        inbox.cursor = cursor > joinedAt ? cursor : joinedAt;
      } else {
        inbox.cursor = joinedAt;
      }
      inbox.live = true;
      for (;;) {
        const event = await inbox.take();
        if (!event) return;
        if (event.revision <= inbox.cursor) continue;
        inbox.cursor = event.revision;
        if (!types || types.has(event.type)) yield event;
      }
    } finally {
      release();
    }
  }

  /** Adds `inbox` to the fan-out; resolves with the revision it starts after. */
  #join(inbox: Inbox): Promise<bigint> {
    return new Promise<bigint>((resolve, reject) => {
      this.#joining.push({ inbox, resolve, reject });
      void this.#drive();
    });
  }

  /**
   * The single loop that reads the log. Reads and joins are serialised through it, so a joining
   * subscriber starts exactly where the fan-out stands: nothing after it is missed, nothing
   * before it is sent twice.
   */
  async #drive(): Promise<void> {
    if (this.#running || this.#stopped) return;
    this.#running = true;
    try {
      while (!this.#stopped && (this.#pollWanted || this.#joining.length)) {
        this.#pollWanted = false;
        const joining = this.#joining.splice(0);
        let readFailed: unknown;
        try {
          await this.#read();
        } catch (error) {
          readFailed = error;
          this.options.log?.warn({ err: error }, 'could not read the catalog event log; retrying');
          this.#retry ??= setTimeout(() => {
            this.#retry = undefined;
            this.poke();
          }, this.options.retryMs ?? 1_000);
        }
        for (const join of joining) {
          if (this.#last === undefined) {
            join.reject(new GraphQLError('the catalog event log is unavailable; try again shortly', { extensions: { code: 'SERVICE_UNAVAILABLE' }, originalError: readFailed as Error }));
            continue;
          }
          this.#inboxes.add(join.inbox);
          join.resolve(this.#last);
        }
      }
    } finally {
      this.#running = false;
    }
  }

  async #read(): Promise<void> {
    this.#reads?.inc();
    if (this.#last === undefined || !this.#inboxes.size) {
      // Nobody to hand events to: only note where the log ends.
      this.#last = await headRevision(this.prisma);
      return;
    }
    for (;;) {
      const page = await eventsAfter(this.prisma, this.#last, this.#pageSize);
      if (!page.length) return;
      this.#last = page[page.length - 1]!.revision;
      for (const inbox of this.#inboxes) inbox.offer(page);
      if (page.length < this.#pageSize) return;
    }
  }
}

function truncated(revision: bigint, at: Date): ReplayTruncated {
  return { type: 'REPLAY_TRUNCATED', revision, createdAt: at, toolName: null, platform: null, toolId: null, version: null, payload: {} };
}
