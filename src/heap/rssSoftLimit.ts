import v8 from 'node:v8';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import { collectGarbage } from './collectGarbage.js';

/**
 * Why the service collects garbage itself when its RSS passes a soft limit (RSS_SOFT_LIMIT_MB).
 *
 * With the heap limit of several GB that V8 gives a 64-bit process, it schedules the next full
 * collection at about four times the heap the last one kept. Serving promotes garbage steadily
 * (what requests in flight hold when a young collection runs, and per new document part of
 * graphql-js's validation; README, "Memory"), so RSS climbs far above what is live before V8
 * collects: 5,000 distinct cached answers took RSS from 221 to about 400 MB with 110 MB of live
 * heap. Lowering V8's growth for the whole process (`--heap-growing-percent`) costs 15–20 % of
 * uncached reads, because it also collects while memory is low.
 *
 * This collects only above the soft limit, and only when the heap has grown by `minGrowthBytes`
 * since the last collection (so a process whose live memory is itself above the limit does not
 * collect in a loop), at most once per `minIntervalMs`. Below the limit it costs a timer that reads
 * RSS four times a second.
 */
export interface RssSoftLimitOptions {
  /**
   * Collect when RSS is above this many bytes; a function is called once, at the first check (for
   * "auto": a collection's freed pages are given back to the system shortly after it returns, so
   * RSS read at once would still count them).
   */
  limitBytes: number | (() => number);
  /** How often RSS is read. */
  checkEveryMs?: number;
  /** Least time between two collections of the soft limit. */
  minIntervalMs?: number;
  /** Least growth of V8's used heap since the last collection (ours or V8's) before another. */
  minGrowthBytes?: number;
  registry?: Registry;
  log?: Logger;
  /**
   * Seams for tests: the memory compared with the limit, used heap, the collection and the clock
   * of a real process by default.
   */
  readRss?: () => number;
  readHeapUsed?: () => number;
  collect?: () => boolean;
  now?: () => number;
}

export interface RssSoftLimit {
  /** Reads RSS once and collects if the limit calls for it; true when it collected. */
  check(): boolean;
  stop(): void;
}

const MB = 1024 * 1024;
/** After a collection that leaves RSS this far above the limit, the limit is likely too low: say so. */
const STILL_ABOVE_FACTOR = 1.25;
const WARN_EVERY_MS = 10 * 60_000;

/** The default limit ("auto"): this much above the RSS the service had when it became ready. */
export const AUTO_LIMIT_FACTOR = 1.2;

/**
 * The limit "auto" stands for, read when the service is ready (after start-up's own collection):
 * what it then holds (the catalog, compiled code, with PGlite the embedded database's memory) plus
 * a fifth for cached answers and requests. 5,000 tools on PostgreSQL: about 230 MB, so 275 MB; the
 * sample catalog on PGlite: about 540 MB, so 650 MB.
 */
export function autoRssSoftLimit(rssAtReady = process.memoryUsage.rss()): number {
  return Math.round(rssAtReady * AUTO_LIMIT_FACTOR);
}

/** Metrics of the soft limit (registered by the server, and by the metric reference generator). */
export function rssSoftLimitMetrics(registry: Registry) {
  return {
    limit: new Gauge({
      name: 'tool_catalog_rss_soft_limit_bytes',
      help: 'RSS above which the service runs a full garbage collection itself (RSS_SOFT_LIMIT_MB, by default 1.2 times the RSS at ready; 0: off)',
      registers: [registry],
    }),
    collections: new Counter({
      name: 'tool_catalog_rss_soft_limit_collections_total',
      help: 'Full garbage collections run because RSS was above the soft limit',
      registers: [registry],
    }),
    seconds: new Counter({
      name: 'tool_catalog_rss_soft_limit_collection_seconds_total',
      help: 'Time the event loop spent in those collections',
      registers: [registry],
    }),
  };
}

/** Starts watching RSS against the soft limit (nothing runs when `limitBytes` is 0). */
export function keepRssUnder(options: RssSoftLimitOptions): RssSoftLimit {
  const {
    checkEveryMs = 250,
    minIntervalMs = 1_000,
    minGrowthBytes = 32 * MB,
    log,
    readRss = () => process.memoryUsage.rss(),
    readHeapUsed = () => v8.getHeapStatistics().used_heap_size,
    collect = () => collectGarbage(1),
    now = () => performance.now(),
  } = options;
  const metrics = options.registry ? rssSoftLimitMetrics(options.registry) : undefined;
  let limitBytes = typeof options.limitBytes === 'number' ? options.limitBytes : undefined;
  const resolveLimit = (): number => {
    if (limitBytes === undefined) {
      limitBytes = (options.limitBytes as () => number)();
      metrics?.limit.set(limitBytes);
      log?.info({ rssSoftLimitMb: Math.round(limitBytes / MB) }, 'RSS soft limit set');
    }
    return limitBytes;
  };
  if (limitBytes !== undefined) metrics?.limit.set(limitBytes);
  let lastCollectedAt = -Infinity;
  // The used heap the last collection left: growth is measured from it.
  let heapAfterCollection = readHeapUsed();
  let lastWarnedAt = -Infinity;

  const check = (): boolean => {
    const limit = resolveLimit();
    if (limit <= 0 || readRss() <= limit) return false;
    const heapUsed = readHeapUsed();
    // V8's own collections lower the floor too.
    heapAfterCollection = Math.min(heapAfterCollection, heapUsed);
    const started = now();
    if (started - lastCollectedAt < minIntervalMs || heapUsed - heapAfterCollection < minGrowthBytes) return false;
    if (!collect()) return false;
    const finished = now();
    lastCollectedAt = finished;
    heapAfterCollection = readHeapUsed();
    metrics?.collections.inc();
    metrics?.seconds.inc((finished - started) / 1000);
    const rss = readRss();
    if (rss > limit * STILL_ABOVE_FACTOR && finished - lastWarnedAt >= WARN_EVERY_MS) {
      lastWarnedAt = finished;
      log?.warn(
        { rssMb: Math.round(rss / MB), limitMb: Math.round(limit / MB), heapUsedMb: Math.round(heapAfterCollection / MB) },
        'RSS stays well above RSS_SOFT_LIMIT_MB after a full collection: live memory needs more; raise the limit',
      );
    } else {
      log?.debug({ ms: Math.round(finished - started), heapUsedMb: Math.round(heapAfterCollection / MB) }, 'RSS above its soft limit: collected garbage');
    }
    return true;
  };

  const timer = options.limitBytes !== 0 ? setInterval(check, checkEveryMs) : undefined;
  // The watch never keeps the process alive on its own.
  timer?.unref();
  return { check, stop: () => clearInterval(timer) };
}
