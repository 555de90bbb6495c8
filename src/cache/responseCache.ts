import { getOperationAST, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { useResponseCache, type Cache } from '@graphql-yoga/plugin-response-cache';
import { defaultBuildResponseCacheKey } from '@envelop/response-cache';
import type { Histogram, Registry } from 'prom-client';
import { BoundedCache, type CacheLimits } from './boundedCache.js';
import type { CatalogClock } from './catalogClock.js';

export interface ResponseCacheOptions {
  clock: CatalogClock;
  limits: CacheLimits;
  registry: Registry;
  /** The caller's role for a request: responses are cached per role, never shared across roles. */
  roleOf(request: Request): Promise<string>;
  /** Schema coordinates (`Type.field`) whose values do not follow the catalog generation: responses holding one are never cached. */
  uncachedFields?: readonly string[];
}

const KEY = /^g(\d+):/;

/**
 * Whole responses of queries, keyed by document, variables, operation name, caller role and catalog
 * generation, in a bounded LRU. A hit skips parsing, validation and execution and costs no SQL;
 * GET requests also get an ETag and a 304 when the client's copy is current.
 */
export function catalogResponseCache(options: ResponseCacheOptions): Plugin[] {
  // Kept as JSON text: a parsed result costs several times its text in heap, and this layer is only
  // read when the HTTP front door missed (another spelling of a query already answered).
  const store = new BoundedCache<{ json: string }>('response', options.clock, options.limits, options.registry, (entry) => entry.json.length);
  const parse = (entry: { json: string } | undefined) => (entry ? (JSON.parse(entry.json) as ExecutionResult) : undefined);
  // The plugin looks a key up twice on a miss (when the request arrives, again before executing);
  // only the first lookup of each request counts towards hits and misses.
  const uncounted = new Map<string, number>();
  const firstLookup = (key: string) => {
    const pending = uncounted.get(key) ?? 0;
    if (pending <= 1) uncounted.delete(key);
    else uncounted.set(key, pending - 1);
    return pending > 0;
  };
  const cache: Cache = {
    get: (key) => parse(firstLookup(key) ? store.get(key) : store.peek(key)),
    // The generation in the key is the one current when the request arrived, before anything was read.
    set: (key, result) => store.set(key, { json: JSON.stringify(result) }, Number(KEY.exec(key)?.[1] ?? -1)),
    // Invalidation is by generation (see useAdvanceOnMutation), never entity by entity.
    invalidate: () => undefined,
  };
  return [
    useCachedResponseTiming(options.registry),
    useResponseCache({
      cache,
      ttl: options.limits.ttlMs,
      invalidateViaMutation: false,
      ttlPerSchemaCoordinate: Object.fromEntries((options.uncachedFields ?? []).map((field) => [field, 0])),
      includeExtensionMetadata: false,
      session: (request) => options.roleOf(request),
      buildResponseCacheKey: async ({ request: _request, ...params }) => {
        const key = `g${options.clock.generation}:${await defaultBuildResponseCacheKey(params)}`;
        if (uncounted.size > 10_000) uncounted.clear();
        uncounted.set(key, (uncounted.get(key) ?? 0) + 1);
        return key;
      },
    }),
    useAdvanceOnMutation(options.clock),
  ];
}

/**
 * Every mutation may have changed the catalog: once it has run (and its transaction has committed),
 * the generation moves on, before the response leaves, so the caller's next read is fresh.
 */
export function useAdvanceOnMutation(clock: CatalogClock): Plugin {
  return {
    onExecute({ args }) {
      if (getOperationAST(args.document, args.operationName)?.operation !== 'mutation') return undefined;
      return {
        onExecuteDone() {
          clock.advance();
        },
      };
    },
  };
}

const SERVED_FROM_CACHE = Symbol.for('servedFromResponseCache');

/**
 * The metrics plugin times HTTP requests only once a document is parsed, which a cache hit skips.
 * This observes those requests in the same histogram, so request rates and latencies include them.
 */
function useCachedResponseTiming(registry: Registry): Plugin {
  // Registered by the metrics plugin when Yoga starts, so looked up on first use.
  const histogram = () => registry.getSingleMetric('graphql_yoga_http_duration') as Histogram<string> | undefined;
  const started = new WeakMap<Request, { at: number; operationName?: string | null }>();
  const served = new WeakSet<Request>();
  return {
    onRequest({ request }) {
      started.set(request, { at: performance.now() });
    },
    onParams({ request, params }) {
      const start = started.get(request);
      if (start) start.operationName = params.operationName ?? /^\s*query\s+([_A-Za-z][_0-9A-Za-z]*)/.exec(params.query ?? '')?.[1];
    },
    onResultProcess({ request, result }) {
      if (result && typeof result === 'object' && SERVED_FROM_CACHE in result) served.add(request);
    },
    onResponse({ request, response }) {
      const start = started.get(request);
      if (!start || !served.has(request)) return;
      histogram()?.observe(
        { method: request.method, statusCode: response.status, operationType: 'query', operationName: start.operationName ?? 'Anonymous' },
        (performance.now() - start.at) / 1000,
      );
    },
  };
}
