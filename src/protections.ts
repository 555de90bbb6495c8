import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import { getOperationAST, GraphQLError, Kind, visit, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import { createGraphQLError, type GraphQLParams, type Plugin } from 'graphql-yoga';
import { decodeUtf8Body, INVALID_UTF8_MESSAGE } from './http/requestBody.js';
import type { Config } from './config.js';

export type Limits = Config['limits'];

const DECIMAL = /^\d+$/;

const bodyTooLarge = (maxBytes: number) =>
  createGraphQLError(`request body is over the limit of ${maxBytes} bytes`, { extensions: { code: 'PAYLOAD_TOO_LARGE', http: { status: 413 } } });

/**
 * The body limit. A declared Content-Length is checked before Yoga reads the body: Node's HTTP
 * parser never reads past it, so it bounds the body. Only a body without one (chunked) is counted
 * as it streams. Yoga's own limiter (`maxRequestBodySize`, off in app.ts) pipes every body through
 * a counting stream, which cost about a fifth of a small query's CPU.
 */
function useBodyLimit(maxBytes: number): Plugin {
  return {
    onRequest({ request, endResponse }) {
      const declared = request.headers.get('content-length');
      if (declared === null) return;
      if (!DECIMAL.test(declared)) {
        endResponse(Response.json({ errors: [{ message: 'the Content-Length header is not a byte count', extensions: { code: 'BAD_REQUEST' } }] }, { status: 400 }));
      } else if (Number(declared) > maxBytes) {
        endResponse(Response.json({ errors: [{ message: `request body is ${declared} bytes; the limit is ${maxBytes}`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }] }, { status: 413 }));
      }
    },
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      if (request.headers.has('content-length') || request.body === null || !requestParser) return;
      const parse = requestParser;
      setRequestParser((incoming) => {
        let bytes = 0;
        // Node's own stream classes for a body Node gave, the fetch API's otherwise (as Yoga does).
        const Transform = incoming.body instanceof ReadableStream ? TransformStream : fetchAPI.TransformStream;
        const counted = incoming.body!.pipeThrough(
          new Transform<Uint8Array, Uint8Array>({
            transform(chunk, controller) {
              bytes += chunk.byteLength;
              if (bytes > maxBytes) controller.error(bodyTooLarge(maxBytes));
              else controller.enqueue(chunk);
            },
          }),
        );
        return parse(new fetchAPI.Request(incoming.url, { method: incoming.method, headers: incoming.headers, signal: incoming.signal, body: counted, duplex: 'half' } as RequestInit));
      });
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

const badRequest = (message: string, code = 'BAD_REQUEST') => createGraphQLError(message, { extensions: { code, http: { status: 400 } } });

/**
 * JSON bodies are decoded strictly: invalid UTF-8 is refused with 400 INVALID_UTF8 instead of being
 * stored as U+FFFD substitutes (Yoga's own parser decodes leniently).
 */
function useStrictUtf8Body(): Plugin {
  return {
    onRequestParse({ request, setRequestParser }) {
      if (request.method === 'GET') {
        // Yoga parses these with JSON.parse and lets its SyntaxError through as a 500.
        const url = new URL(request.url, 'http://localhost');
        for (const name of ['variables', 'extensions']) {
          const value = url.searchParams.get(name);
          if (value === null) continue;
          let parsed: unknown;
          try {
            parsed = JSON.parse(value);
          } catch {
            throw badRequest(`the "${name}" parameter is not valid JSON`);
          }
          if (parsed !== null && (typeof parsed !== 'object' || Array.isArray(parsed))) throw badRequest(`the "${name}" parameter must be a JSON object`);
        }
        return;
      }
      const type = request.headers.get('content-type')?.toLowerCase() ?? '';
      if (request.method !== 'POST' || !(type.startsWith('application/json') || type.startsWith('application/graphql+json'))) return;
      setRequestParser(async (req): Promise<GraphQLParams> => {
        const text = decodeUtf8Body(new Uint8Array(await req.arrayBuffer()));
        if (text === null) throw badRequest(INVALID_UTF8_MESSAGE, 'INVALID_UTF8');
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          throw badRequest('POST body sent invalid JSON.');
        }
        if (body === null || typeof body !== 'object') throw badRequest(`POST body is expected to be object but received ${body === null ? 'null' : typeof body}`);
        return body as GraphQLParams;
      });
    },
  };
}

export function containsNul(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (depth > 64 || value === null || typeof value !== 'object') return false;
  return Object.entries(value).some(([key, inner]) => key.includes('\u0000') || containsNul(inner, depth + 1));
}

/** Top-level string arguments of the operation's root fields (names, platforms, reasons…). */
function rootStringArguments(operation: OperationDefinitionNode, variables: Record<string, unknown>): unknown[] {
  const values: unknown[] = [];
  for (const selection of operation.selectionSet.selections) {
    if (selection.kind !== Kind.FIELD) continue;
    for (const argument of selection.arguments ?? []) {
      const value = argument.value.kind === Kind.VARIABLE ? variables[argument.value.name.value] : argument.value.kind === Kind.STRING ? argument.value.value : undefined;
      if (typeof value === 'string') values.push(value);
    }
  }
  return values;
}

/** Whether a document's own string literals hold a NUL, per parsed document (Yoga caches documents, so this is per distinct text). */
const documentsWithNul = new WeakMap<DocumentNode, boolean>();

function literalStringsHoldNul(document: DocumentNode): boolean {
  let found = documentsWithNul.get(document);
  if (found === undefined) {
    found = false;
    visit(document, {
      StringValue: (node) => {
        if (containsNul(node.value)) found = true;
      },
    });
    documentsWithNul.set(document, found);
  }
  return found;
}

/**
 * PostgreSQL cannot store a NUL character: one reaching it fails the statement and used to come
 * back as a masked "Unexpected error.". Reads (queries, subscriptions) are checked whole, arguments
 * and variables; for mutations the root fields' string arguments (names, platforms, reasons) are,
 * while tool definitions are validated field by field by the definition schema, which names the field.
 */
function useNoNulCharacters(): Plugin {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const operation = getOperationAST(args.document, args.operationName);
      if (!operation) return;
      const variables = (args.variableValues ?? {}) as Record<string, unknown>;
      const suspicious =
        operation.operation === 'mutation'
          ? rootStringArguments(operation, variables).some((value) => containsNul(value))
          : containsNul(variables) || literalStringsHoldNul(args.document);
      if (suspicious) {
        setResultAndStopExecution({
          errors: [createGraphQLError('arguments must not contain NUL (\\u0000) characters', { extensions: { code: 'BAD_USER_INPUT' } })],
        });
      }
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      if (containsNul(args.variableValues ?? {}) || literalStringsHoldNul(args.document)) {
        setResultAndStopExecution({
          errors: [createGraphQLError('arguments must not contain NUL (\\u0000) characters', { extensions: { code: 'BAD_USER_INPUT' } })],
        });
      }
    },
  };
}

const HTTP_REFUSALS: Record<number, { code: string; message: string }> = {
  405: { code: 'METHOD_NOT_ALLOWED', message: 'this method is not allowed here: use GET or POST' },
  406: { code: 'NOT_ACCEPTABLE', message: 'cannot answer in any media type the Accept header allows (subscriptions need text/event-stream or a WebSocket)' },
  415: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'unsupported content type: send application/json' },
};

/** Yoga's bare 405/406/415 answers get a JSON body with a code, like every other refusal. */
function useTypedHttpRefusals(): Plugin {
  return {
    onResponse({ response, setResponse }) {
      const refusal = HTTP_REFUSALS[response.status];
      if (!refusal || response.headers.get('content-type')?.includes('json')) return;
      const headers = new Headers(response.headers);
      headers.set('content-type', 'application/json; charset=utf-8');
      headers.delete('content-length');
      setResponse(new Response(JSON.stringify({ errors: [{ message: refusal.message, extensions: { code: refusal.code } }] }), { status: response.status, headers }));
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
    useStrictUtf8Body(),
    // After the strict UTF-8 parser, so that the parser it counts a chunked body for is the one used.
    useBodyLimit(limits.bodyBytes),
    useNoNulCharacters(),
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
    useTypedHttpRefusals(),
  ];
}
