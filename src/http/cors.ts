import type { Plugin } from 'graphql-yoga';

/** Headers a browser page on a listed origin may send, and may read from answers. */
const ALLOWED_HEADERS = 'authorization, content-type, accept, x-graphql-yoga-csrf, x-request-id, if-none-match';
const EXPOSED_HEADERS = 'etag, retry-after, x-request-id';

/**
 * CORS for an allow-list of origins (CORS_ORIGINS). Empty (the default): no CORS header at all, so
 * no web page on another origin can read the API through an operator's browser. A listed origin is
 * named back exactly, with credentials allowed; any other origin gets nothing. Used for fresh answers
 * (through Yoga) and for answers from the front door's cache alike, so both carry the same headers.
 */
export function corsHeaders(origin: string | null | undefined, allowed: ReadonlySet<string>): Record<string, string> {
  if (allowed.size === 0) return {};
  // The answer depends on the Origin header: shared caches must keep one copy per origin.
  if (!origin || !allowed.has(origin)) return { vary: 'Origin' };
  return {
    'access-control-allow-origin': origin,
    'access-control-allow-credentials': 'true',
    'access-control-expose-headers': EXPOSED_HEADERS,
    vary: 'Origin',
  };
}

/** Answers preflights and adds CORS headers to every answer, for the listed origins only. */
export function useCorsAllowList(origins: readonly string[]): Plugin {
  const allowed = new Set(origins);
  return {
    onRequest({ request, endResponse }) {
      if (request.method !== 'OPTIONS') return;
      const origin = request.headers.get('origin');
      const headers: Record<string, string> = { 'content-length': '0', ...corsHeaders(origin, allowed) };
      if (headers['access-control-allow-origin']) {
        headers['access-control-allow-methods'] = 'GET, POST, OPTIONS';
        headers['access-control-allow-headers'] = ALLOWED_HEADERS;
        headers['access-control-max-age'] = '600';
      }
      endResponse(new Response(null, { status: 204, headers }));
    },
    onResponse({ request, response }) {
      for (const [name, value] of Object.entries(corsHeaders(request.headers.get('origin'), allowed))) response.headers.set(name, value);
    },
  };
}
