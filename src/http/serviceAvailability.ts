import { getOperationAST, Kind } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { RETRY_AFTER_SECONDS, SERVICE_UNAVAILABLE, ServiceUnavailableError, withDeadline } from '../db/availability.js';

export interface ServiceAvailabilityOptions {
  /** False until migrations ran and the catalog is loaded, and again once shutdown began. */
  serving(): 'ready' | 'starting' | 'stopping';
  graphqlEndpoint?: string;
}

/** A 503 answer with a typed error, for requests refused before any GraphQL work. */
export function serviceUnavailableResponse(error: ServiceUnavailableError): Response {
  return Response.json(
    { errors: [{ message: error.message, extensions: error.extensions }] },
    { status: 503, headers: { 'retry-after': String(RETRY_AFTER_SECONDS) } },
  );
}

const LONG_RUNNING = new Set(['reloadCatalog', 'importCatalog']);

function hasNoData(result: { data?: unknown }): boolean {
  return result.data === null || result.data === undefined;
}

/**
 * Honest answers when the database cannot help:
 * - until the service is ready (and once it is stopping), GraphQL answers 503 SERVICE_UNAVAILABLE
 *   instead of errors or an empty catalog (/health and /ready are not GraphQL and stay as they are);
 * - an answer whose only outcome is SERVICE_UNAVAILABLE (no data) goes out as HTTP 503 with
 *   Retry-After; an answer with partial data keeps 200 and carries the error in `errors`.
 * The deadline on a request's database work is useQueryDeadline's.
 */
export function useServiceAvailability(options: ServiceAvailabilityOptions): Plugin {
  const endpoint = options.graphqlEndpoint ?? '/graphql';
  return {
    onRequest({ url, endResponse }) {
      if (url.pathname !== endpoint) return;
      const state = options.serving();
      if (state !== 'ready') endResponse(serviceUnavailableResponse(new ServiceUnavailableError(state)));
    },
    onResultProcess({ result, setResult }) {
      if (!result || typeof result !== 'object' || Symbol.asyncIterator in result || Array.isArray(result)) return;
      const single = result as { data?: unknown; errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }>; extensions?: Record<string, unknown> };
      const unavailable = single.errors?.some((error) => error.extensions?.code === SERVICE_UNAVAILABLE);
      if (!unavailable || !hasNoData(single)) return;
      setResult({
        ...single,
        extensions: { ...single.extensions, http: { status: 503, headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) } } },
      } as typeof result);
    },
  };
}

/**
 * A query's or mutation's database work as a whole gets one deadline (reloads and imports excepted),
 * so a request never waits longer than that even when a statement waits for a pooled connection and
 * then runs; a mutation cut short was not acknowledged, and commits whole or not at all. The deadline
 * wraps whichever executor runs the operation, so this plugin comes after every plugin that chooses
 * one (the compiled executor's): an executor set after it would run unbounded.
 */
export function useQueryDeadline(options: { queryDeadlineMs?: number }): Plugin {
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const deadline = options.queryDeadlineMs;
      const operation = getOperationAST(args.document, args.operationName);
      if (!deadline || !operation || operation.operation === 'subscription') return;
      // Reloads and imports may rightly run longer than one deadline (each of their statements is
      // still bounded by the driver's query_timeout); every other query and mutation is bounded whole.
      const long = operation.selectionSet.selections.some((selection) => selection.kind === Kind.FIELD && LONG_RUNNING.has(selection.name.value));
      if (long) return;
      setExecuteFn((execArgs) =>
        withDeadline(Promise.resolve(executeFn(execArgs)), deadline, 'query').catch((error: unknown) => {
          throw error instanceof Error && error.name === 'DeadlineExceededError' ? new ServiceUnavailableError('database') : error;
        }),
      );
    },
  };
}
