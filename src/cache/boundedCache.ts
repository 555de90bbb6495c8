import { getHeapStatistics } from 'node:v8';
import { LRUCache } from 'lru-cache';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { CatalogClock } from './catalogClock.js';

export interface CacheLimits {
  /** Most entries kept. */
  maxEntries: number;
  /** Most bytes kept, counting each entry's serialised size. */
  maxBytes: number;
  /** Safety net: an entry older than this is dropped even if nothing changed. */
  ttlMs: number;
}

/** Share of the process's V8 heap limit that whole-response caches may hold together. */
export const CACHE_HEAP_SHARE = 0.2;

/**
 * The byte bound of each of `caches` caches that share one budget: CACHE_MAX_BYTES in total, and
 * never more than CACHE_HEAP_SHARE of the heap the process may grow to (`--max-old-space-size`), so
 * a process given a small heap to keep its RSS down cannot have it filled by cached answers.
 */
export function sharedCacheLimits(limits: CacheLimits, caches: number, heapLimitBytes = getHeapStatistics().heap_size_limit): CacheLimits {
  const total = Math.min(limits.maxBytes, Math.floor(heapLimitBytes * CACHE_HEAP_SHARE));
  return { ...limits, maxBytes: Math.max(1024, Math.floor(total / caches)) };
}

interface Stamped<V> {
  generation: number;
  value: V;
}

interface CacheMetrics {
  hits: Counter<'cache'>;
  misses: Counter<'cache'>;
  evictions: Counter<'cache'>;
  caches: Set<{ readonly name: string; readonly size: number; readonly bytes: number }>;
}

const metricsByRegistry = new WeakMap<Registry, CacheMetrics>();

/** Cache metrics, registered once per registry and labelled by cache name; sizes are sampled at scrape. */
function cacheMetrics(registry: Registry): CacheMetrics {
  const existing = metricsByRegistry.get(registry);
  if (existing) return existing;
  const caches: CacheMetrics['caches'] = new Set();
  const metrics: CacheMetrics = {
    caches,
    hits: new Counter({ name: 'tool_catalog_cache_hits_total', help: 'Cache lookups answered from memory', labelNames: ['cache'], registers: [registry] }),
    misses: new Counter({
      name: 'tool_catalog_cache_misses_total',
      help: 'Cache lookups that found nothing current (absent, expired, or from an older catalog generation)',
      labelNames: ['cache'],
      registers: [registry],
    }),
    evictions: new Counter({
      name: 'tool_catalog_cache_evictions_total',
      help: 'Entries dropped to stay within the entry or byte bound',
      labelNames: ['cache'],
      registers: [registry],
    }),
  };
  new Gauge({
    name: 'tool_catalog_cache_entries',
    help: 'Entries in each cache',
    labelNames: ['cache'],
    registers: [registry],
    collect() {
      for (const cache of caches) this.set({ cache: cache.name }, cache.size);
    },
  });
  new Gauge({
    name: 'tool_catalog_cache_bytes',
    help: 'Approximate bytes held by each cache (serialised size of keys and values)',
    labelNames: ['cache'],
    registers: [registry],
    collect() {
      for (const cache of caches) this.set({ cache: cache.name }, cache.bytes);
    },
  });
  metricsByRegistry.set(registry, metrics);
  return metrics;
}

/**
 * A bounded LRU (entries, bytes, TTL) whose entries carry the catalog generation they were read at.
 * An entry from an older generation is a miss and is dropped on sight; advancing the clock also
 * clears the whole cache so memory is not held by entries no one can read.
 */
export class BoundedCache<V extends object> {
  readonly #lru: LRUCache<string, Stamped<V>>;
  readonly #metrics: CacheMetrics;

  constructor(
    readonly name: string,
    private readonly clock: CatalogClock,
    limits: CacheLimits,
    registry: Registry,
    /** Approximate bytes of a value; callers store text, so its length, with no second serialisation. */
    sizeOf: (value: V) => number,
  ) {
    this.#metrics = cacheMetrics(registry);
    this.#lru = new LRUCache<string, Stamped<V>>({
      max: limits.maxEntries,
      maxSize: limits.maxBytes,
      sizeCalculation: (entry, key) => key.length + sizeOf(entry.value),
      ttl: limits.ttlMs,
      dispose: (_entry, _key, reason) => {
        if (reason === 'evict') this.#metrics.evictions.inc({ cache: name });
      },
    });
    clock.onAdvance(() => this.#lru.clear());
    this.#metrics.caches.add(this);
    // Series exist from the start, so rates and ratios have a zero to work from.
    for (const counter of [this.#metrics.hits, this.#metrics.misses, this.#metrics.evictions]) counter.inc({ cache: name }, 0);
  }

  /** The value for `key` if it was read at the current catalog generation. */
  get(key: string): V | undefined {
    const entry = this.#lru.get(key);
    if (entry && entry.generation === this.clock.generation) {
      this.#metrics.hits.inc({ cache: this.name });
      return entry.value;
    }
    if (entry) this.#lru.delete(key);
    this.#metrics.misses.inc({ cache: this.name });
    return undefined;
  }

  /** Like `get`, without counting a hit or a miss. */
  peek(key: string): V | undefined {
    const entry = this.#lru.get(key);
    return entry && entry.generation === this.clock.generation ? entry.value : undefined;
  }

  /** Stores `value`, read when the clock showed `generation` (take it before reading, not after). */
  set(key: string, value: V, generation: number): void {
    if (generation !== this.clock.generation) return;
    this.#lru.set(key, { generation, value });
  }

  clear(): void {
    this.#lru.clear();
  }

  get size(): number {
    return this.#lru.size;
  }

  get bytes(): number {
    return this.#lru.calculatedSize;
  }
}
