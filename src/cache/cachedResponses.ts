import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Histogram, Registry } from 'prom-client';
import type { YogaServerInstance } from 'graphql-yoga';
import { corsHeaders } from '../http/cors.js';
import { headerRecord, matchesEtag } from '../http/headers.js';
import { decodeUtf8Body, invalidUtf8Body, readBody, smallJsonPost } from '../http/requestBody.js';
import type { DecisionLane } from '../http/decisionLane.js';
import { BoundedCache, type CacheLimits } from './boundedCache.js';
import type { CatalogClock } from './catalogClock.js';

/** A response as it went out: exact bytes, so a repeat costs no GraphQL work at all. */
interface SentResponse {
  body: string;
  etag: string;
  operationName: string;
  /** The fresh answer's own headers (content type, ETag…), CORS excepted: those depend on the asker. */
  headers: Record<string, string>;
}

/** Headers that belong to one request, not to the cached answer. */
const PER_REQUEST_HEADER = /^(access-control-|vary$|content-length$|date$|connection$|keep-alive$|transfer-encoding$)/i;

export interface CachedResponsesOptions {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  yoga: YogaServerInstance<any, any>;
  clock: CatalogClock;
  limits: CacheLimits;
  registry: Registry;
  /** Bodies larger than this are never cached here (they go to Yoga, which enforces the real limit). */
  maxBodyBytes: number;
  roleOf(authorization: string | null): Promise<string>;
  graphqlPath?: string;
  /** CORS_ORIGINS: answers from memory carry the same CORS headers as fresh ones. */
  corsOrigins?: readonly string[];
  /** Decisions the cache does not hold are answered by the lane, when it can, before Yoga. */
  lane?: DecisionLane;
}

/** Headers Yoga's CSRF prevention accepts on a GET; without one, the request goes to Yoga to be refused. */
const CSRF_HEADER = 'x-graphql-yoga-csrf';

/**
 * The HTTP front door. Query responses that Yoga's response cache stored (they carry an ETag) are
 * kept here as the exact bytes sent, keyed by method, URL or body, caller role, Accept header and catalog
 * generation; a repeat is answered straight from memory, without building a Fetch Request or
 * running Yoga's pipeline, which measurements showed to be most of the cost of a cached answer.
 * Everything else — misses, mutations, GraphiQL, /health, /metrics — goes to Yoga unchanged.
 */
export function cachedResponses(options: CachedResponsesOptions): RequestListener {
  const { yoga, clock } = options;
  const path = options.graphqlPath ?? '/graphql';
  const store = new BoundedCache<SentResponse>('http', clock, options.limits, options.registry, (sent) => sent.body.length + sent.etag.length + sent.operationName.length + 200);
  const allowedOrigins = new Set(options.corsOrigins ?? []);
  const histogram = () => options.registry.getSingleMetric('graphql_yoga_http_duration') as Histogram<string> | undefined;

  const send = (res: ServerResponse, status: number, headers: Record<string, string>, body?: string) => {
    res.writeHead(status, headers);
    res.end(body);
  };

  /** Hands a request whose body was already read to Yoga, and relays (and maybe keeps) the answer. */
  async function viaYoga(req: IncomingMessage, res: ServerResponse, body: string | undefined, key: string, generation: number) {
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
    // Yoga's own Fetch implementation (whatwg-node's), not Node's: a native Request wraps its body in
    // a web stream and allocates about twice as much per request (README, "Memory").
    const response = await yoga.fetch(new yoga.fetchAPI.Request(url.href, { method: req.method, headers: headerRecord(req.headers), body }), { req, res });
    const text = await response.text();
    const outgoing: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      outgoing[name] = value;
    });
    send(res, response.status, outgoing, text);
    const etag = response.headers.get('etag');
    if (response.status === 200 && etag) {
      const operationName = (body ? safeOperationName(body) : url.searchParams.get('operationName')) ?? 'Anonymous';
      const headers = Object.fromEntries(Object.entries(outgoing).filter(([name]) => !PER_REQUEST_HEADER.test(name)));
      store.set(key, { body: text, etag, operationName, headers }, generation);
    }
  }

  return (req, res) => {
    const started = performance.now();
    const url = req.url ?? '/';
    const isGraphql = url === path || url.startsWith(`${path}?`);
    const isGet = req.method === 'GET' && url.includes('query=') && Boolean(req.headers[CSRF_HEADER]) && !String(req.headers.accept ?? '').includes('text/html');
    const isPost = smallJsonPost(req, options.maxBodyBytes) !== null;
    // A subscription's event stream is never one cacheable body.
    const isStream = String(req.headers.accept ?? '').includes('text/event-stream');
    if (!isGraphql || isStream || (!isGet && !isPost)) {
      void yoga(req, res);
      return;
    }
    const generation = clock.generation;
    void (async () => {
      const role = await options.roleOf(req.headers.authorization ?? null);
      const bytes = isPost ? await readBody(req, options.maxBodyBytes, 'close') : undefined;
      if (isPost && bytes === undefined) return;
      const body = bytes === undefined ? undefined : decodeUtf8Body(bytes);
      if (body === null) {
        const refusal = invalidUtf8Body();
        send(res, refusal.status, { 'content-type': 'application/json; charset=utf-8', ...corsHeaders(req.headers.origin, allowedOrigins) }, refusal.body);
        return;
      }
      // The media type asked for picks the answer's Content-Type: one entry per Accept header.
      const key = `${req.method} ${role} ${req.headers.accept ?? ''} ${isPost ? body : url}`;
      const hit = role === 'invalid' ? undefined : store.get(key);
      if (!hit) {
        const decision = isPost && body !== undefined && options.lane ? options.lane.prepare(req, body) : undefined;
        if (decision && (await options.lane!.answer(req, res, decision, { started, role }))) return;
        await viaYoga(req, res, body, key, generation);
        return;
      }
      const cors = corsHeaders(req.headers.origin, allowedOrigins);
      if (isGet && matchesEtag(req.headers['if-none-match'], hit.etag)) {
        const { 'content-type': _type, ...headers } = hit.headers;
        send(res, 304, { ...headers, ...cors });
      } else send(res, 200, { ...hit.headers, 'content-length': String(Buffer.byteLength(hit.body)), ...cors }, hit.body);
      histogram()?.observe(
        { method: req.method ?? 'GET', statusCode: res.statusCode, operationType: 'query', operationName: hit.operationName },
        (performance.now() - started) / 1000,
      );
    })().catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { 'content-type': 'application/json' }, JSON.stringify({ errors: [{ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] }));
      else res.destroy(error as Error);
    });
  };
}

function safeOperationName(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { operationName?: unknown; query?: unknown };
    if (typeof parsed.operationName === 'string') return parsed.operationName;
    return typeof parsed.query === 'string' ? /^\s*query\s+([_A-Za-z][_0-9A-Za-z]*)/.exec(parsed.query)?.[1] : undefined;
  } catch {
    return undefined;
  }
}
