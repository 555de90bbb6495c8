import type { IncomingHttpHeaders } from 'node:http';

/** One of Node's request headers as Fetch gives it (repeated values joined), or null. */
export function headerValue(incoming: IncomingHttpHeaders, name: string): string | null {
  const value = incoming[name.toLowerCase()];
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Node's request headers as a record of Fetch header values (repeated values joined), leaving out those `skip` accepts. */
export function headerRecord(incoming: IncomingHttpHeaders, skip: (name: string) => boolean = () => false): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of Object.keys(incoming)) {
    const value = headerValue(incoming, name);
    if (value !== null && !skip(name)) headers[name] = value;
  }
  return headers;
}

/** Node's request headers as Fetch `Headers`, leaving out those `skip` accepts. */
export function fetchHeaders(incoming: IncomingHttpHeaders, skip?: (name: string) => boolean): Headers {
  return new Headers(headerRecord(incoming, skip));
}

/** True when an If-None-Match header names `etag` (or is `*`). */
export function matchesEtag(ifNoneMatch: string | null | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some((candidate) => {
    const tag = candidate.trim().replace(/^W\//, '');
    return tag === '*' || tag === etag;
  });
}
