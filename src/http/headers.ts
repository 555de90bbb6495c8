import type { IncomingHttpHeaders } from 'node:http';

/** Node's request headers as Fetch `Headers`, leaving out those `skip` accepts. */
export function fetchHeaders(incoming: IncomingHttpHeaders, skip: (name: string) => boolean = () => false): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming)) {
    if (value !== undefined && !skip(name)) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return headers;
}
