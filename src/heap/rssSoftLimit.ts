import { performance } from 'node:perf_hooks';
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
 * This collects only above the soft limit, and only when memory has grown since the last
 * collection (the used heap by 32 MiB while busy, RSS by 8 MiB while idle), so a process whose live
 * memory is itself above the limit does not collect in a loop. When it collects depends on how busy the event loop was since
 * the last check:
 * - idle (utilisation under `idleUtilization`): at once, twice over and compacting, so that the
 *   pages the garbage held go back to the system. Nobody is waiting, so this costs no request anything;
 * - busy: only far above the limit (`busyAboveFactor` times it), once, and only if collections
 *   have taken at most `busyShare` of the time since the last one (a 150 ms collection then waits
 *   about 5 s). A forced collection costs serving more than its pause: measured on cache-off reads
 *   and decisions, collecting whenever above the limit (at most once a second) cost 10–25 % of
 *   throughput, and even at a 3 % share of the time selections with a `unitId` lost about 13 %.
 * Below the limit it costs a timer that reads RSS and the loop's utilisation ten times a second.
 */
export interface RssSoftLimitOptions {
  /** Collect when RSS is above this many bytes. */
  limitBytes: number;
  /** How often RSS is read. */
  checkEveryMs?: number;
  /** While busy, collect only when RSS is above the limit times this. */
  busyAboveFactor?: number;
  /** Share of the time that collections may take while the event loop is busy. */
  busyShare?: number;
  /** Event-loop utilisation since the last check below which the service counts as idle. */
  idleUtilization?: number;
  /** Least growth of V8's used heap since the last collection (ours or V8's) before another. */
  minGrowthBytes?: number;
  /**
   * While idle, where a collection delays nobody: least growth of RSS over the lowest it has been
   * since the last collection. RSS, not the heap: a collection of V8's own frees the heap but keeps
   * the pages, which only a further collection gives back.
   */
  idleMinGrowthBytes?: number;
  registry?: Registry;
  log?: Logger;
  /**
   * Seams for tests: the memory compared with the limit, used heap, the event loop's utilisation
   * since the last call, the collection and the clock of a real process by default.
   */
  readRss?: () => number;
  readHeapUsed?: () => number;
  readUtilization?: () => number;
  collect?: (passes: 1 | 2) => boolean;
  now?: () => number;
}

export interface RssSoftLimit {
  /** Reads RSS once and collects if the limit calls for it; true when it collected. */
  check(): boolean;
  stop(): void;
}

const MB = 1024 * 1024;
/** When RSS stays this far above the limit after a collection, the limit is likely too low: say so. */
const STILL_ABOVE_FACTOR = 1.25;
const WARN_EVERY_MS = 10 * 60_000;

/** The default limit ("auto"): this much above the RSS the service had when it became ready. */
export const AUTO_LIMIT_FACTOR = 1.2;

/**
 * The limit "auto" stands for, read when the service is ready (after start-up's own collection has
 * given its pages back, which happens shortly after the collection returns):
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
      help: 'RSS above which the service runs full garbage collections itself, at idle moments (RSS_SOFT_LIMIT_MB, by default 1.2 times the RSS at ready; 0: off)',
      registers: [registry],
    }),
    collections: new Counter({
      name: 'tool_catalog_rss_soft_limit_collections_total',
      help: 'Full garbage collections the service ran because RSS was above the soft limit',
      registers: [registry],
    }),
    seconds: new Counter({
      name: 'tool_catalog_rss_soft_limit_collection_seconds_total',
      help: 'Time the event loop spent in those collections',
      registers: [registry],
    }),
  };
}

/** Event-loop utilisation since the previous call (Node's `performance.eventLoopUtilization`). */
function utilizationSinceLastCall(): () => number {
  let last = performance.eventLoopUtilization();
  return () => {
    const current = performance.eventLoopUtilization();
    const { utilization } = performance.eventLoopUtilization(current, last);
    last = current;
    return utilization;
  };
}

/** Starts watching RSS against the soft limit (nothing runs when `limitBytes` is 0). */
export function keepRssUnder(options: RssSoftLimitOptions): RssSoftLimit {
  const {
    limitBytes,
    checkEveryMs = 100,
    busyAboveFactor = 2,
    busyShare = 0.03,
    idleUtilization = 0.25,
    minGrowthBytes = 32 * MB,
    idleMinGrowthBytes = 8 * MB,
    log,
    readRss = () => process.memoryUsage.rss(),
    readHeapUsed = () => v8.getHeapStatistics().used_heap_size,
    readUtilization = utilizationSinceLastCall(),
    collect = (passes) => collectGarbage({ passes, compact: passes === 2 }),
    now = () => performance.now(),
  } = options;
  const metrics = options.registry ? rssSoftLimitMetrics(options.registry) : undefined;
  metrics?.limit.set(limitBytes);
  let lastCollectedAt = -Infinity;
  let lastCollectionMs = 0;
  // The used heap the last collection left: growth is measured from it.
  let heapAfterCollection = readHeapUsed();
  // A single collection frees the garbage but V8 keeps the pages it emptied until the next one;
  // an idle moment after a busy collection gives them back.
  let pagesToGiveBack = false;
  // The lowest RSS seen since the last collection: pages freed after a collection go back a little later.
  let rssFloor = Infinity;
  let lastWarnedAt = -Infinity;
  let judgeAt: number | undefined;

  const check = (): boolean => {
    const limit = limitBytes;
    // Read at every check, so that it always covers the time since the previous one.
    const idle = readUtilization() < idleUtilization;
    const rssBefore = readRss();
    rssFloor = Math.min(rssFloor, rssBefore);
    if (judgeAt !== undefined && now() >= judgeAt) {
      judgeAt = undefined;
      if (rssFloor > limit * STILL_ABOVE_FACTOR && now() - lastWarnedAt >= WARN_EVERY_MS) {
        lastWarnedAt = now();
        log?.warn(
          { rssMb: Math.round(rssFloor / MB), limitMb: Math.round(limit / MB), heapUsedMb: Math.round(heapAfterCollection / MB) },
          'RSS stayed well above RSS_SOFT_LIMIT_MB after a full collection: live memory needs more; raise the limit',
        );
      }
    }
    if (limit <= 0 || rssBefore <= limit) return false;
    const heapUsed = readHeapUsed();
    // V8's own collections lower the floor too.
    heapAfterCollection = Math.min(heapAfterCollection, heapUsed);
    const growth = heapUsed - heapAfterCollection;
    const started = now();
    let passes: 1 | 2;
    if (idle) {
      if (rssBefore - rssFloor < idleMinGrowthBytes && !pagesToGiveBack) return false;
      passes = 2;
    } else {
      // Busy: only far above the limit, and within `busyShare` of the time, counted from the last
      // collection's length.
      if (rssBefore <= limit * busyAboveFactor || growth < minGrowthBytes) return false;
      if (started - lastCollectedAt < lastCollectionMs * (1 / busyShare - 1)) return false;
      passes = 1;
    }
    if (!collect(passes)) return false;
    const finished = now();
    lastCollectedAt = finished;
    lastCollectionMs = finished - started;
    pagesToGiveBack = passes === 1;
    heapAfterCollection = readHeapUsed();
    metrics?.collections.inc();
    metrics?.seconds.inc(lastCollectionMs / 1000);
    rssFloor = readRss();
    // Judged a second later: the pages a collection frees go back to the system after it returns.
    judgeAt = finished + 1_000;
    log?.debug({ ms: Math.round(lastCollectionMs), passes, heapUsedMb: Math.round(heapAfterCollection / MB) }, 'RSS above its soft limit: collected garbage');
    return true;
  };

  const timer = limitBytes > 0 ? setInterval(check, checkEveryMs) : undefined;
  // The watch never keeps the process alive on its own.
  timer?.unref();
  return { check, stop: () => clearInterval(timer) };
}
