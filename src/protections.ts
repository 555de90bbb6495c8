import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import { GraphQLError } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
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

/** Content types a browser may send cross-site without a CORS preflight. */
const SIMPLE_CONTENT_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'];
const CSRF_HEADER = 'x-graphql-yoga-csrf';

/**
 * CSRF prevention (as @graphql-yoga/plugin-csrf-prevention does it): a request a browser could send
 * cross-site without a preflight (a GET, or a "simple" content type) must carry a custom header.
 * Refused with the code CSRF_REJECTED, so a client knows what to add.
 */
function useCsrfPrevention(): Plugin {
  return {
    onRequestParse({ request }) {
      const contentType = request.headers.get('content-type');
      const preflighted = Boolean(contentType) && !SIMPLE_CONTENT_TYPES.some((simple) => contentType!.toLowerCase().startsWith(simple));
      if (preflighted || request.headers.has(CSRF_HEADER)) return;
      throw createGraphQLError(`Required CSRF header not present: send the header ${CSRF_HEADER} (any value) or a JSON body`, {
        extensions: { code: 'CSRF_REJECTED', http: { status: 403 } },
      });
    },
  };
}

/** graphql-armor labels its refusals "Syntax Error: …"; they are limits, not syntax. */
const ARMOR_REFUSAL = /^Syntax Error: ((?:Token limit|Query depth limit|Aliases limit|Query Cost limit|Directives limit|Cost limit)\b.*)$/is;

function typedRefusal(error: GraphQLError): GraphQLError {
  // Yoga labels every parse failure GRAPHQL_PARSE_FAILED, the token limit's included.
  if (error.extensions?.code && error.extensions.code !== 'GRAPHQL_PARSE_FAILED') return error;
  const armor = ARMOR_REFUSAL.exec(error.message);
  const code = armor ? 'QUERY_TOO_COMPLEX' : error.message.startsWith('Syntax Error:') ? 'GRAPHQL_PARSE_FAILED' : error.path ? undefined : 'GRAPHQL_VALIDATION_FAILED';
  if (!code || (code === error.extensions?.code && !armor)) return error;
  return new GraphQLError(armor ? armor[1]! : error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: { ...error.extensions, code },
  });
}

/**
 * Every refusal carries a code a client can act on: query limits are QUERY_TOO_COMPLEX (without the
 * misleading "Syntax Error" label), real syntax errors GRAPHQL_PARSE_FAILED, other document errors
 * GRAPHQL_VALIDATION_FAILED. Errors raised during execution already carry theirs (or are masked).
 */
export function useTypedRefusals(): Plugin {
  return {
    onResultProcess({ result, setResult }) {
      if (!result || typeof result !== 'object' || Array.isArray(result) || Symbol.asyncIterator in result) return;
      const single = result as { errors?: readonly GraphQLError[] };
      const untyped = (error: GraphQLError) => !error.extensions?.code || error.extensions.code === 'GRAPHQL_PARSE_FAILED';
      if (!single.errors?.some((error) => error instanceof GraphQLError && untyped(error))) return;
      setResult({ ...single, errors: single.errors.map((error) => (error instanceof GraphQLError ? typedRefusal(error) : error)) } as typeof result);
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
    useCsrfPrevention(),
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
    useTypedRefusals(),
  ];
}
