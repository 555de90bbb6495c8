import { createHash } from 'node:crypto';
import { getOperationAST, Kind, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { useResponseCache, type Cache } from '@graphql-yoga/plugin-response-cache';
import stableStringify from 'fast-json-stable-stringify';
import type { Histogram, Registry } from 'prom-client';
import { BoundedCache, type CacheLimits } from './boundedCache.js';
import type { CatalogClock } from './catalogClock.js';
import { matchesEtag } from '../http/headers.js';

export interface ResponseCacheOptions {
  clock: CatalogClock;
  limits: CacheLimits;
  registry: Registry;
  /** The caller's role for a request: responses are cached per role, never shared across roles. */
  roleOf(request: Request): Promise<string>;
  /** Mutation fields that change no catalog data (a mutation made only of these leaves the generation alone). */
  notCatalogChanges?: ReadonlySet<string>;
  /**
   * Fields (or argument names) whose answers do not follow the catalog generation (telemetry): a
   * document or its variables naming any of them is never cached nor answered from the cache, and gets no ETag, so the HTTP front door does
   * not keep it either. Matched on the document text, which errs only towards not caching.
   */
  uncachedFields?: readonly string[];
  /**
   * False while answers may be stale (the in-memory catalog could not confirm it is current): such
   * answers are neither cached nor answered from the cache, so none outlives the outage.
   */
  cacheable?: () => boolean;
}

const KEY = /^g(\d+):/;

/**
 * The plugin's default key (SHA-256 over the document, operation name, variables with their keys
 * sorted and session), hashed by node:crypto in the request's own turn: the default goes through
 * WebCrypto's asynchronous digest, which cost more than the hash.
 */
function responseKey(params: { documentString: string; operationName?: string | null; variableValues?: unknown; sessionId?: string | null }): string {
  const text = [params.documentString, params.operationName ?? '', stableStringify(params.variableValues ?? {}), params.sessionId ?? ''].join('|');
  return createHash('sha256').update(text).digest('hex');
}
/** Key prefix of documents that must never be cached. */
const UNCACHED = 'uncached:';

/**
 * An ETag that addresses the content: a hash of the answer itself, so identical answers get
 * identical tags on every instance and across restarts, and different answers never share one.
 * (The plugin's own tag is its cache key, which holds this process's generation counter.)
 */
export function contentEtag(result: Pick<ExecutionResult, 'data' | 'errors'>): string {
  return `"${createHash('sha256').update(JSON.stringify({ data: result.data, errors: result.errors })).digest('base64url')}"`;
}

/**
 * Whole responses of queries, keyed by document, variables, operation name, caller role and catalog
 * generation, in a bounded LRU. A hit skips parsing, validation and execution and costs no SQL;
 * GET requests also get an ETag and a 304 when the client's copy is current.
 */
export function catalogResponseCache(options: ResponseCacheOptions): Plugin[] {
  // Kept as JSON text: a parsed result costs several times its text in heap, and this layer is only
  // read when the HTTP front door missed (another spelling of a query already answered).
  const uncached = options.uncachedFields?.length ? new RegExp(`\\b(${options.uncachedFields.join('|')})\\b`) : undefined;
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
    // The plugin also looks up an If-None-Match value as a key; ETags (quoted hashes) never are keys,
    // so its shortcut never answers 304 — useConditionalGet does, by comparing content.
    get: (key) => (key.startsWith('"') || key.startsWith('W/') || key.startsWith(UNCACHED) ? undefined : parse(firstLookup(key) ? store.get(key) : store.peek(key))),
    // The generation in the key is the one current when the request arrived, before anything was read.
    set: (key, result) => {
      if (!key.startsWith(UNCACHED)) store.set(key, { json: JSON.stringify(result) }, Number(KEY.exec(key)?.[1] ?? -1));
    },
    // Invalidation is by generation (see useAdvanceOnMutation), never entity by entity.
    invalidate: () => undefined,
  };
  return [
    useCachedResponseTiming(options.registry),
    useResponseCache({
      cache,
      ttl: options.limits.ttlMs,
      invalidateViaMutation: false,
      shouldCacheResult: ({ cacheKey, result }) => !cacheKey.startsWith(UNCACHED) && !result.errors?.length,
      includeExtensionMetadata: false,
      // No entity ids: invalidation is by generation, so the plugin need not add an id field to
      // every selection of every answer (it still adds, and strips, __typename).
      idFields: [],
      session: (request) => options.roleOf(request),

      buildResponseCacheKey: ({ request: _request, ...params }) => {
        // The names are looked for in the variables too: `selectTools(request: $r)` with `useObserved` inside $r.
        if (options.cacheable && !options.cacheable()) return `${UNCACHED}${params.documentString.length}`;
        if (uncached && (uncached.test(params.documentString) || (params.variableValues && uncached.test(JSON.stringify(params.variableValues))))) return `${UNCACHED}${params.documentString.length}`;
        const key = `g${options.clock.generation}:${responseKey(params)}`;
        if (uncounted.size > 10_000) uncounted.clear();
        uncounted.set(key, (uncounted.get(key) ?? 0) + 1);
        return key;
      },
    }),
    useAdvanceOnMutation(options.clock, options.notCatalogChanges),
    useConditionalGet(),
  ];
}


/**
 * A GET whose If-None-Match names the ETag of the answer just produced gets 304 without a body.
 * Compared by content, so a tag from another instance or from before a restart is honoured exactly
 * when the answer is still the same.
 */
export function useConditionalGet(): Plugin {
  return {
    // The response cache plugin tags what it caches with its cache key; the tag that goes out is
    // the content's (computed on a copy: the cached result itself stays as it is).
    onResultProcess({ result, setResult }) {
      if (!result || typeof result !== 'object' || Array.isArray(result) || Symbol.asyncIterator in result) return;
      const single = result as ExecutionResult & { extensions?: { http?: { headers?: Record<string, string> } } };
      const headers = single.extensions?.http?.headers;
      if (!headers?.ETag) return;
      const { 'Last-Modified': _lastModified, ...kept } = headers;
      setResult({ ...single, extensions: { ...single.extensions, http: { ...single.extensions!.http, headers: { ...kept, ETag: contentEtag(single) } } } } as typeof result);
    },
    onResponse({ request, response, setResponse }) {
      if (request.method !== 'GET' || response.status !== 200) return;
      const etag = response.headers.get('etag');
      if (!etag || !matchesEtag(request.headers.get('if-none-match'), etag)) return;
      const headers = new Headers(response.headers);
      headers.delete('content-type');
      headers.delete('content-length');
      setResponse(new Response(null, { status: 304, headers }));
    },
  };
}

/**
 * Every mutation may have changed the catalog: once it has run (and its transaction has committed),
 * the generation moves on, before the response leaves, so the caller's next read is fresh.
 */
export function useAdvanceOnMutation(clock: CatalogClock, notCatalogChanges: ReadonlySet<string> = new Set()): Plugin {
  return {
    onExecute({ args }) {
      const operation = getOperationAST(args.document, args.operationName);
      if (operation?.operation !== 'mutation') return undefined;
      const fields = operation.selectionSet.selections;
      if (fields.length > 0 && fields.every((field) => field.kind === Kind.FIELD && notCatalogChanges.has(field.name.value))) return undefined;
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
