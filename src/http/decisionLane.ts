import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Counter, Histogram, Registry } from 'prom-client';
import { withDeadline } from '../db/availability.js';

/** A decision document Yoga has parsed, validated and run compiled, ready to run again as it is. */
export interface LaneDocument {
  /** The document's one operation's name, as Yoga's metrics label it. */
  operationName: string | undefined;
  run(context: object, variables: Record<string, unknown>): ExecutionResult | Promise<ExecutionResult>;
}

export interface DecisionLaneOptions {
  /** The compiled document for a query text, when Yoga has already accepted and compiled that exact text. */
  documentFor(query: string): LaneDocument | undefined;
  /** The one context factory, given what Yoga's pipeline would give it. */
  createContext(initial: { request: Request } & Record<string, unknown>): Promise<object>;
  /** The caller's role for an Authorization header; 'invalid' when the key is unknown. */
  roleOf(authorization: string | null): Promise<string>;
  /** NUL characters are refused (with a typed error) by Yoga's pipeline. */
  containsNul(value: unknown): boolean;
  registry: Registry;
  /** A query's deadline, as Yoga's pipeline bounds it (DB_QUERY_TIMEOUT_MS). */
  queryDeadlineMs?: number;
}

/**
 * The decision lane: the pipeline's decision queries (selectTools, assignment) run without the
 * GraphQL pipeline around them (parsing, validation, the plugins' execution hooks), which costs
 * more than the decision itself (README, "Performance"). Yoga's HTTP handling stays as it is:
 * content negotiation, CORS, the revision header, the request metrics.
 *
 * Only exact query texts that Yoga has already parsed, validated (every protection included) and
 * run on the compiled executor take the lane, as POSTs without extensions. An answer with any error
 * (bad input, a key missing for a private catalog, an unreachable database), a key Yoga would
 * refuse, variables holding NUL: all of these go through the whole pipeline as before, so each
 * refusal keeps its one implementation. A decision reads memory and writes nothing, so running
 * one there again after a failed try in the lane changes nothing.
 */
export function useDecisionLane(options: DecisionLaneOptions): Plugin {
  // Yoga's Prometheus plugin registers these; the lane records its operations in the same series.
  const metric = <T>(name: string) => options.registry.getSingleMetric(name) as T | undefined;
  const arrivedAt = new WeakMap<Request, number>();
  const laned = new WeakMap<Request, string>();
  return {
    onRequest({ request }) {
      if (request.method === 'POST') arrivedAt.set(request, performance.now());
    },
    // Yoga's metrics time a request from its parsed document, which the lane never has: the lane
    // times the requests it answered in the same series.
    onResponse({ request, response }) {
      const operationName = laned.get(request);
      const arrived = arrivedAt.get(request);
      if (operationName === undefined || arrived === undefined) return;
      metric<Histogram<string>>('graphql_yoga_http_duration')?.observe(
        { operationName, operationType: 'query', method: 'POST', statusCode: response.status },
        (performance.now() - arrived) / 1000,
      );
    },
    onParams({ params, request, context, paramsHandler, setParamsHandler }) {
      if (request.method !== 'POST' || typeof params.query !== 'string') return;
      if (params.extensions && Object.keys(params.extensions).length > 0) return;
      const document = options.documentFor(params.query);
      if (!document) return;
      if (params.operationName && params.operationName !== document.operationName) return;
      const variables = params.variables ?? {};
      if (typeof variables !== 'object' || Array.isArray(variables) || options.containsNul(variables)) return;
      setParamsHandler(async (payload) => {
        const started = performance.now();
        const result = await runInLane(document, variables, request, context as Record<string, unknown>, options);
        if (!result) return paramsHandler(payload);
        const operation = { operationType: 'query', operationName: document.operationName ?? 'Anonymous' };
        laned.set(request, operation.operationName);
        const seconds = (performance.now() - started) / 1000;
        metric<Counter<string>>('graphql_envelop_request')?.inc(operation);
        metric<Histogram<string>>('graphql_envelop_phase_execute')?.observe(operation, seconds);
        metric<Histogram<string>>('graphql_envelop_request_duration')?.observe(operation, seconds);
        return result;
      });
    },
  };
}

/** The decision's answer, or undefined when it must go through the whole pipeline instead. */
async function runInLane(
  document: LaneDocument,
  variables: Record<string, unknown>,
  request: Request,
  serverContext: Record<string, unknown>,
  options: DecisionLaneOptions,
): Promise<ExecutionResult | undefined> {
  const authorization = request.headers.get('authorization');
  // An unknown key is refused (and counted against its address) by the pipeline.
  if (authorization !== null && (await options.roleOf(authorization)) === 'invalid') return undefined;
  try {
    const context = await options.createContext({ ...serverContext, request });
    const running = Promise.resolve(document.run(context, variables));
    const result = options.queryDeadlineMs ? await withDeadline(running, options.queryDeadlineMs, 'query') : await running;
    return result.errors?.length || !result.data ? undefined : result;
  } catch {
    return undefined;
  }
}
