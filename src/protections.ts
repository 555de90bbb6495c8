import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import type { Plugin } from 'graphql-yoga';
import type { Config } from './config.js';

export type Limits = Config['limits'];

/** Refuses a request whose declared body is over the limit before Yoga reads it. */
function useBodyLimit(maxBytes: number): Plugin {
  return {
    onRequest({ request, endResponse }) {
      const declared = Number(request.headers.get('content-length') ?? 0);
      if (declared > maxBytes) {
        endResponse(
          Response.json(
            { errors: [{ message: `request body is ${declared} bytes; the limit is ${maxBytes}`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }] },
            { status: 413 },
          ),
        );
      }
    },
  };
}

/**
 * Everything that bounds what one request may cost: size, depth, aliases, tokens, estimated cost,
 * introspection (off in production), and CSRF prevention for browsers. Batching stays off (Yoga's
 * default). Each limit is configurable (see README).
 */
export function protections(limits: Limits): Array<Plugin<any>> {
  return [
    useBodyLimit(limits.bodyBytes),
    // A browser cannot send JSON or a custom header cross-site without a CORS preflight.
    useCSRFPrevention({ requestHeaders: ['x-graphql-yoga-csrf'] }),
    EnvelopArmorPlugin({
      maxDepth: { n: limits.maxDepth, ignoreIntrospection: true, exposeLimits: true },
      maxAliases: { n: limits.maxAliases, exposeLimits: true },
      maxTokens: { n: limits.maxTokens, exposeLimits: true },
      costLimit: { maxCost: limits.maxCost, ignoreIntrospection: true, exposeLimits: true },
      maxDirectives: { n: 50, exposeLimits: true },
      // Field suggestions ("did you mean …") stay: this schema is public and documented.
      blockFieldSuggestion: { enabled: false },
    }),
    ...(limits.introspection ? [] : [useDisableIntrospection()]),
  ];
}
