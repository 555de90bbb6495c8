import v8 from 'node:v8';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { collectGarbage } from '../src/heap/collectGarbage.js';
import { autoRssSoftLimit, keepRssUnder } from '../src/heap/rssSoftLimit.js';

const MB = 1024 * 1024;
const heapUsed = () => v8.getHeapStatistics().used_heap_size;

async function metricValue(registry: Registry, name: string): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  return Number(metric?.values[0]?.value ?? Number.NaN);
}

/** About 64 MB of heap (a packed array of doubles), garbage as soon as the caller drops it. */
function largeArray(): number[] {
  const values: number[] = [];
  for (let i = 0; i < 8_000_000; i++) values.push(i + 0.5);
  return values;
}

describe('the RSS soft limit', () => {
  it('collects the garbage when RSS is above the limit and the heap has grown, then waits for more growth', async () => {
    const registry = new Registry();
    // A clean heap first, so that the growth below is the array's, whatever V8 collects meanwhile.
    expect(collectGarbage()).toBe(true);
    // The real process, collection and heap; only the limit is low enough that RSS is above it.
    const limit = keepRssUnder({ limitBytes: 1, checkEveryMs: 3_600_000, minGrowthBytes: 16 * MB, readUtilization: () => 1, registry });
    try {
      expect(await metricValue(registry, 'tool_catalog_rss_soft_limit_bytes')).toBe(1);
      let garbage: { values: number[] } | undefined = { values: largeArray() };
      const ref = new WeakRef(garbage);
      garbage = undefined;
      // A WeakRef's target is kept until the end of the job that made it: check in a later one.
      await new Promise((resolve) => setTimeout(resolve, 0));
      const before = heapUsed();
      expect(limit.check()).toBe(true);
      // The array was given back: the collection ran, it is not only counted.
      expect(ref.deref()).toBeUndefined();
      expect(before - heapUsed()).toBeGreaterThan(48 * MB);
      expect(await metricValue(registry, 'tool_catalog_rss_soft_limit_collections_total')).toBe(1);
      expect(await metricValue(registry, 'tool_catalog_rss_soft_limit_collection_seconds_total')).toBeGreaterThan(0);
      // Still above the limit, but nothing new to collect: no collection in a loop.
      expect(limit.check()).toBe(false);
      expect(await metricValue(registry, 'tool_catalog_rss_soft_limit_collections_total')).toBe(1);
    } finally {
      limit.stop();
    }
  });

  it('does nothing at or below the limit; busy, collects only far above it, once, and keeps to its share of the time', () => {
    let rss = 100 * MB;
    let heap = 50 * MB;
    let clock = 0;
    const passes: number[] = [];
    const limit = keepRssUnder({
      limitBytes: 200 * MB,
      checkEveryMs: 3_600_000,
      busyAboveFactor: 2,
      busyShare: 0.1,
      minGrowthBytes: 32 * MB,
      readRss: () => rss,
      readHeapUsed: () => heap,
      readUtilization: () => 0.9,
      collect: (n) => {
        passes.push(n);
        clock += 100; // each collection takes 100 ms
        heap = 50 * MB;
        return true;
      },
      now: () => clock,
    });
    try {
      heap = 150 * MB;
      expect(limit.check()).toBe(false);
      rss = 200 * MB;
      expect(limit.check()).toBe(false);
      // Above the limit but busy: left for an idle moment, or for twice the limit.
      rss = 201 * MB;
      expect(limit.check()).toBe(false);
      rss = 400 * MB;
      expect(limit.check()).toBe(false);
      rss = 401 * MB;
      expect(limit.check()).toBe(true);
      // 100 ms of collection at a 10 % share: the next may start 900 ms after it ended.
      heap = 150 * MB;
      clock += 899;
      expect(limit.check()).toBe(false);
      clock += 1;
      expect(limit.check()).toBe(true);
      // Growth counts from what V8's own collections left, too.
      heap = 40 * MB;
      clock += 5_000;
      expect(limit.check()).toBe(false);
      heap = 40 * MB + 32 * MB;
      expect(limit.check()).toBe(true);
      expect(passes).toEqual([1, 1, 1]);
    } finally {
      limit.stop();
    }
  });

  it('idle, collects at once and twice over when RSS has grown, and gives back the pages a busy collection left', () => {
    let rss = 250 * MB;
    let heap = 50 * MB;
    let utilization = 0.9;
    let clock = 0;
    const passes: number[] = [];
    const limit = keepRssUnder({
      limitBytes: 200 * MB,
      checkEveryMs: 3_600_000,
      busyAboveFactor: 1.2,
      busyShare: 0.01,
      minGrowthBytes: 32 * MB,
      readRss: () => rss,
      readHeapUsed: () => heap,
      readUtilization: () => utilization,
      collect: (n) => {
        passes.push(n);
        clock += 100;
        heap = 50 * MB;
        return true;
      },
      now: () => clock,
    });
    try {
      heap = 100 * MB;
      expect(limit.check()).toBe(true);
      // Busy, right after a collection and without growth: nothing.
      expect(limit.check()).toBe(false);
      // Idle a moment later: the busy collection's pages go back, although nothing has grown.
      utilization = 0.1;
      clock += 10;
      expect(limit.check()).toBe(true);
      // Nothing left to give back, nothing grown: no collection in a loop.
      expect(limit.check()).toBe(false);
      // RSS grown while idle (8 MiB is enough there): at once, whatever the busy share says.
      rss = 257 * MB;
      expect(limit.check()).toBe(false);
      rss = 258 * MB;
      expect(limit.check()).toBe(true);
      // A collection of V8's own took RSS below the limit and it grew back above: growth counts
      // from the lowest RSS seen, with the heap unchanged.
      rss = 190 * MB;
      expect(limit.check()).toBe(false);
      rss = 205 * MB;
      expect(limit.check()).toBe(true);
      expect(passes).toEqual([1, 2, 2, 2]);
    } finally {
      limit.stop();
    }
  });

  it('is off at 0, and says so (once) when RSS stays far above the limit a second after a collection', () => {
    let collections = 0;
    const off = keepRssUnder({ limitBytes: 0, readRss: () => 10_000 * MB, collect: () => ++collections > 0 });
    expect(off.check()).toBe(false);
    expect(collections).toBe(0);
    off.stop();
    expect(autoRssSoftLimit(250 * MB)).toBe(300 * MB);

    const warnings: unknown[] = [];
    const log = { warn: (...args: unknown[]) => warnings.push(args), debug: () => {} } as unknown as Parameters<typeof keepRssUnder>[0]['log'];
    let heap = 100 * MB;
    let rss = 300 * MB;
    let clock = 0;
    const low = keepRssUnder({
      limitBytes: 100 * MB,
      checkEveryMs: 3_600_000,
      busyShare: 1,
      busyAboveFactor: 1,
      readUtilization: () => 1,
      minGrowthBytes: MB,
      readRss: () => rss,
      readHeapUsed: () => heap,
      collect: () => true,
      now: () => clock,
      log,
    });
    try {
      heap += 2 * MB;
      expect(low.check()).toBe(true);
      // Pages go back after the collection returns: not judged at once, nor within the second.
      expect(warnings).toHaveLength(0);
      clock += 999;
      low.check();
      expect(warnings).toHaveLength(0);
      // A second later RSS has come down to just above the limit: nothing to say.
      rss = 120 * MB;
      clock += 1;
      heap += 2 * MB;
      expect(low.check()).toBe(true);
      expect(warnings).toHaveLength(0);
      // Collected at 300 MB and still there a second later: the limit is too low, said once.
      rss = 300 * MB;
      clock += 500;
      heap += 2 * MB;
      expect(low.check()).toBe(true);
      expect(warnings).toHaveLength(0);
      clock += 1_000;
      heap += 2 * MB;
      expect(low.check()).toBe(true);
      expect(warnings).toHaveLength(1);
      clock += 1_000;
      heap += 2 * MB;
      expect(low.check()).toBe(true);
      expect(warnings).toHaveLength(1);
    } finally {
      low.stop();
    }
  });
});
