import Negotiator from 'negotiator';
import type { Plugin } from 'graphql-yoga';
import { hasRole, type CallerResolver } from '../auth/caller.js';
import { matchesEtag } from '../http/headers.js';
import { CatalogUnavailableError, type MemoryCatalog } from '../memoryCatalog/memoryCatalog.js';
import { profilesOf } from './profiles.js';

export interface ProfilesRouteOptions {
  memory: MemoryCatalog;
  resolveCaller: CallerResolver;
  readsRequireKey?: boolean;
  /** Counts answers given while memory could not be confirmed current. */
  onStale?: () => void;
  path?: string;
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers } });

/** Whether the request's Accept-Encoding takes gzip (with a q-value above 0). */
function acceptsGzip(acceptEncoding: string | null): boolean {
  if (!acceptEncoding) return false;
  return new Negotiator({ headers: { 'accept-encoding': acceptEncoding } }).encodings(['gzip', 'identity'])[0] === 'gzip';
}

/**
 * `GET /profiles?platform=…`: the optimization profiles as JSON, from the in-memory catalog (no SQL).
 * The ETag is derived from the revision and the arguments; a matching If-None-Match gets 304.
 * `X-Catalog-Stale: true` says the database could not confirm the revision is current.
 *
 * A client that accepts gzip gets the JSON gzipped (a tenth of the bytes for the whole catalog),
 * compressed once per revision and platform in the background; until that is done it gets the
 * JSON as it is, so no request waits for compression. The two representations carry different
 * ETags, and either one matches an If-None-Match for the same revision.
 */
export function useProfilesRoute(options: ProfilesRouteOptions): Plugin {
  const path = options.path ?? '/profiles';
  return {
    async onRequest({ request, url, endResponse }) {
      if (url.pathname !== path) return;
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        endResponse(json(405, { error: 'use GET' }, { allow: 'GET, HEAD' }));
        return;
      }
      if (options.readsRequireKey) {
        try {
          const caller = await options.resolveCaller(request.headers.get('authorization'));
          if (!hasRole(caller, 'reader')) {
            endResponse(json(401, { error: 'this needs an API key (Authorization: Bearer <key>)' }));
            return;
          }
        } catch {
          endResponse(json(401, { error: 'the API key is not valid' }));
          return;
        }
      }
      let read;
      try {
        read = await options.memory.read();
      } catch (error) {
        if (!(error instanceof CatalogUnavailableError)) throw error;
        endResponse(json(503, { error: error.message, code: 'SERVICE_UNAVAILABLE' }, { 'retry-after': '5' }));
        return;
      }
      if (read.stale) options.onStale?.();
      const rendered = profilesOf(read.snapshot, url.searchParams.get('platform'));
      const common = {
        'cache-control': 'no-cache',
        'x-catalog-revision': String(read.snapshot.revision),
        'x-catalog-stale': String(read.stale),
      };
      const gzipped = acceptsGzip(request.headers.get('accept-encoding')) ? rendered.gzipped() : undefined;
      const headers = { ...common, etag: gzipped ? rendered.gzipEtag : rendered.etag, vary: 'Accept-Encoding' };
      // Either representation's tag is a match for the revision; the 304 names the one asked with.
      const ifNoneMatch = request.headers.get('if-none-match');
      const matched = [rendered.etag, rendered.gzipEtag].find((tag) => matchesEtag(ifNoneMatch, tag));
      if (matched) {
        endResponse(new Response(null, { status: 304, headers: { ...headers, etag: matched } }));
        return;
      }
      const body = gzipped ?? rendered.bytes;
      endResponse(
        new Response(request.method === 'HEAD' ? null : (body as Uint8Array<ArrayBuffer>), {
          status: 200,
          headers: {
            ...headers,
            'content-type': 'application/json; charset=utf-8',
            'content-length': String(body.length),
            ...(gzipped ? { 'content-encoding': 'gzip' } : {}),
          },
        }),
      );
    },
  };
}
