import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { ExecutionResult } from 'graphql';
import type { Counter, Histogram, Registry } from 'prom-client';
import type { YogaServerInstance } from 'graphql-yoga';
import { withDeadline } from '../db/availability.js';
import { headerValue } from './headers.js';
import { decodeUtf8Body, smallJsonPost } from './requestBody.js';

/** What the lane's run of a decision came to: its result, or what it threw (a deadline, say). */
export type LaneOutcome = { result: ExecutionResult } | { error: unknown };

/** A decision document Yoga has parsed, validated and run compiled, ready to run again as it is. */
export interface LaneDocument {
  /** The document's one operation's name, as Yoga's metrics label it. */
  operationName: string | undefined;
  run(context: object, variables: Record<string, unknown>): ExecutionResult | Promise<ExecutionResult>;
  /**
   * Leaves what the lane's run came to for Yoga, which the request goes to next: Yoga gives that
   * outcome, through its own pipeline (error tiers, masking, status, metrics), without running the
   * decision a second time (counting its selection twice, waiting its deadline twice).
   */
  handOff(req: IncomingMessage, outcome: LaneOutcome): void;
}

/** What a request's context is built from here: the header lookups and the socket Yoga's would have. */
export interface LaneInitialContext {
  request: { headers: { get(name: string): string | null } };
  req: IncomingMessage;
}

export interface DecisionLaneOptions {
  /** The compiled document for a query text, when Yoga has already accepted and compiled that exact text. */
  documentFor(query: string): LaneDocument | undefined;
  /** The one context factory Yoga uses too. */
  createContext(initial: LaneInitialContext): Promise<object>;
  /** The caller's role for an Authorization header; 'invalid' when the key is unknown. */
  roleOf(authorization: string | null): Promise<string>;
  /** Whether GraphQL is being served (start-up done); otherwise Yoga answers 503. */
  serving(): boolean;
  /** The in-memory catalog revision every answer names in X-Catalog-Revision. */
  revision(): bigint | number | undefined;
  /** NUL characters are refused (with a typed error) by Yoga's pipeline. */
  containsNul(value: unknown): boolean;
  revisionHeader: string;
  registry: Registry;
  /** A query's deadline, as Yoga's pipeline bounds it (DB_QUERY_TIMEOUT_MS). */
  queryDeadlineMs?: number;
}

/** A decision the lane will run: its compiled document, variables and the media type to answer in. */
export interface LaneRequest {
  document: LaneDocument;
  variables: Record<string, unknown>;
  mediaType: string;
}

/** Media types a decision answer is sent as, by the request's Accept header (Yoga's choice for each). */
const MEDIA_TYPES = new Map<string | undefined, string>([
  [undefined, 'application/json'],
  ['*/*', 'application/json'],
  ['application/json', 'application/json'],
  ['application/graphql-response+json', 'application/graphql-response+json'],
]);

/** The keys a GraphQL-over-HTTP body may have that the lane understands; anything else goes to Yoga. */
const BODY_KEYS = new Set(['query', 'variables', 'operationName']);

/**
 * The decision lane: the pipeline's decision queries (selectTools, assignment) answered without
 * Yoga's request pipeline, which costs more than the decision itself (README, "Performance").
 *
 * Only exact query texts Yoga has already parsed, validated (every protection included) and run on
 * the compiled executor take the lane, and only as a plain POST: JSON in, a JSON answer out, no
 * Origin, no extensions. Everything the lane does not answer itself — an unknown key, an answer
 * with any error (bad input, a missing key for a private catalog, an unreachable database), a
 * service still starting — is handed to Yoga whole, so every refusal keeps its one implementation.
 * A decision the lane ran goes with what its run came to (LaneDocument.handOff): Yoga gives that
 * outcome instead of running the decision again.
 */
export class DecisionLane {
  readonly #httpDuration: () => Histogram<string> | undefined;
  readonly #requests: () => Counter<string> | undefined;
  readonly #requestDuration: () => Histogram<string> | undefined;
  readonly #executeDuration: () => Histogram<string> | undefined;

  constructor(private readonly options: DecisionLaneOptions) {
    // Yoga's Prometheus plugin registers these; the lane records its answers in the same series.
    const metric = <T>(name: string) => () => options.registry.getSingleMetric(name) as T | undefined;
    this.#httpDuration = metric('graphql_yoga_http_duration');
    this.#requests = metric('graphql_envelop_request');
    this.#requestDuration = metric('graphql_envelop_request_duration');
    this.#executeDuration = metric('graphql_envelop_phase_execute');
  }

  /**
   * What the lane needs to answer a POST with this body, or undefined when the lane does not answer
   * it. Cheap and synchronous: a body that is no decision goes to Yoga as it came.
   */
  prepare(req: IncomingMessage, body: string): LaneRequest | undefined {
    const { options } = this;
    if (!options.serving() || req.headers.origin !== undefined) return undefined;
    const mediaType = MEDIA_TYPES.get(req.headers.accept);
    if (!mediaType) return undefined;
    let params: { query?: unknown; variables?: unknown; operationName?: unknown };
    try {
      params = JSON.parse(body) as typeof params;
    } catch {
      return undefined;
    }
    if (typeof params !== 'object' || params === null || typeof params.query !== 'string') return undefined;
    for (const key of Object.keys(params)) if (!BODY_KEYS.has(key)) return undefined;
    const document = options.documentFor(params.query);
    if (!document) return undefined;
    if (params.operationName !== undefined && params.operationName !== null && params.operationName !== document.operationName) return undefined;
    const variables = params.variables ?? {};
    if (typeof variables !== 'object' || Array.isArray(variables) || options.containsNul(variables)) return undefined;
    return { document, variables: variables as Record<string, unknown>, mediaType };
  }

  /**
   * Answers a prepared decision, and says whether it did; when not, nothing was sent. `started`: when
   * the request arrived; `role`: the caller's, when the front door has already resolved the key.
   */
  async answer(req: IncomingMessage, res: ServerResponse, prepared: LaneRequest, known: { started?: number; role?: string } = {}): Promise<boolean> {
    const { options } = this;
    const { document, variables, mediaType } = prepared;
    const started = known.started ?? performance.now();
    const authorization = req.headers.authorization ?? null;
    if (authorization !== null && (known.role ?? (await options.roleOf(authorization))) === 'invalid') return false;

    const executing = performance.now();
    let context: object;
    try {
      context = await options.createContext({ request: { headers: { get: (name) => headerValue(req.headers, name) } }, req });
    } catch {
      return false;
    }
    let result: ExecutionResult;
    try {
      const running = Promise.resolve(document.run(context, variables));
      result = options.queryDeadlineMs ? await withDeadline(running, options.queryDeadlineMs, 'query') : await running;
    } catch (error) {
      document.handOff(req, { error });
      return false;
    }
    if (result.errors?.length || !result.data) {
      document.handOff(req, { result });
      return false;
    }
    const executed = performance.now();

    const text = JSON.stringify(result);
    const headers: Record<string, string> = { 'content-type': `${mediaType}; charset=utf-8`, 'content-length': String(Buffer.byteLength(text)) };
    const revision = options.revision();
    if (revision !== undefined) headers[options.revisionHeader] = String(revision);
    res.writeHead(200, headers);
    res.end(text);

    const operation = { operationType: 'query', operationName: document.operationName ?? 'Anonymous' };
    this.#requests()?.inc(operation);
    this.#executeDuration()?.observe(operation, (executed - executing) / 1000);
    this.#requestDuration()?.observe(operation, (performance.now() - started) / 1000);
    this.#httpDuration()?.observe({ ...operation, method: 'POST', statusCode: 200 }, (performance.now() - started) / 1000);
    return true;
  }
}


/**
 * The HTTP front door without the response cache: decisions take the lane; every other request
 * goes to Yoga as it came. The body of a POST that may be a decision is looked at once it has
 * arrived whole, and put back (`unshift`) when it is no decision, for Yoga to read as usual: the
 * request never flows before Yoga reads it.
 */
export function decisionsFirst(options: {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  yoga: YogaServerInstance<any, any>;
  lane: DecisionLane;
  maxBodyBytes: number;
  graphqlPath?: string;
}): RequestListener {
  const { yoga, lane } = options;
  const path = options.graphqlPath ?? '/graphql';
  return (req, res) => {
    // A decision is a non-empty POST of JSON to the GraphQL path, asking for an answer the lane gives.
    const declared = req.url === path && MEDIA_TYPES.has(req.headers.accept) ? smallJsonPost(req, options.maxBodyBytes) : null;
    if (!declared) {
      void yoga(req, res);
      return;
    }
    const started = performance.now();
    const failed = (error: Error) => res.destroy(error);
    const whenWhole = () => {
      // Node's parser never reads past the declared length; until it has all of it, wait.
      if (req.readableLength < declared && !req.readableEnded) {
        req.once('readable', whenWhole);
        return;
      }
      req.removeListener('error', failed);
      const bytes = req.read() as Buffer | null;
      const body = bytes === null ? null : decodeUtf8Body(bytes);
      const prepared = body === null ? undefined : lane.prepare(req, body);
      if (!prepared) {
        if (bytes !== null) req.unshift(bytes);
        void yoga(req, res);
        return;
      }
      void lane
        .answer(req, res, prepared, { started })
        .then((answered) => {
          if (answered) return;
          // Yoga's Node adapter takes a body already read from `req.body` (as behind a body parser).
          (req as IncomingMessage & { body?: string }).body = body!;
          return yoga(req, res);
        })
        .catch(failed);
    };
    req.once('readable', whenWhole);
    req.on('error', failed);
  };
}
