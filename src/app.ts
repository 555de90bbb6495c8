import { usePrometheus } from '@graphql-yoga/plugin-prometheus';
import { createYoga, useReadinessCheck } from 'graphql-yoga';
import { createCallerResolver } from './auth/caller.js';
import { FailedKeyLimiter } from './auth/failedKeys.js';
import { CatalogClock } from './cache/catalogClock.js';
import { cachedResponses } from './cache/cachedResponses.js';
import { CatalogReloader } from './catalog/reload.js';
import { CatalogEventFeed } from './events/catalogEventFeed.js';
import { catalogResponseCache, useAdvanceOnMutation } from './cache/responseCache.js';
import { sharedCacheLimits } from './cache/boundedCache.js';
import type { RequestListener } from 'node:http';
import { DEFAULT_CACHE, DEFAULT_LIMITS, type Config } from './config.js';
import { containsNul, protections } from './protections.js';
import { createContextFactory, type Context, type ServerContext } from './context.js';
import type { Database } from './db/database.js';
import { maskError } from './errors.js';
import { createErrorLogger } from './errorLog.js';
import { RETRY_AFTER_SECONDS, withDeadline } from './db/availability.js';
import { useQueryDeadline, useServiceAvailability } from './http/serviceAvailability.js';
import { useCorsAllowList } from './http/cors.js';
import { DecisionLane, decisionsFirst } from './http/decisionLane.js';
import { useReadSnapshot } from './db/readSnapshot.js';
import type { Logger } from './logger.js';
import { createMetricsRegistry, useGraphQLErrorMetrics } from './metrics.js';
import { schema } from './schema/index.js';
import { compiledExecution } from './schema/compiledExecution.js';
import { useRequestCacheRelease } from './schema/requestCaches.js';
import { MemoryCatalog } from './memoryCatalog/memoryCatalog.js';
import { SelectionService } from './selection/selectionService.js';
import { useProfilesRoute } from './profiles/profilesRoute.js';
import { REVISION_HEADER, useRevisionHeader } from './memoryCatalog/revisionHeader.js';
import { createTelemetry, DEFAULT_TELEMETRY } from './telemetry/index.js';
import { EXECUTIONS_PATH, executionsRoute } from './telemetry/ndjsonRoute.js';
import { decisionAttributor } from './experiments/decisionIds.js';
import { ExperimentCatalog } from './experiments/experimentCatalog.js';
import { registerExperimentMetrics } from './experiments/metrics.js';
import { toolExecutionObservations } from './experiments/observations.js';

export interface AppState {
  /** Set once start-up (migrations, seeding) has finished; /ready and GraphQL answer 503 until then. */
  catalogLoaded: boolean;
  /** Set when shutdown begins: /ready answers 503 `stopping` while in-flight requests finish. */
  stopping?: boolean;
  /** Set when the database did not answer at start-up and the profiles snapshot is served (stale) meanwhile. */
  servingSnapshot?: boolean;
  /** The catalog change listener (PostgreSQL only); /ready fails while it has no connection. */
  listener?: { readonly connected: boolean };
}

export interface AppDeps {
  db: Database;
  config: Pick<Config, 'graphiql' | 'adminApiKey'> &
    Partial<Pick<Config, 'limits' | 'readsRequireKey' | 'trustProxy' | 'cache' | 'catalogDir' | 'subscriptions' | 'dbQueryTimeoutMs' | 'corsOrigins' | 'telemetry' | 'buildCommit' | 'catalogChecks' | 'authFailuresPerMinute'>>;
  /** The catalog generation the caches follow; one per process, shared with reloads and listeners. */
  clock?: CatalogClock;
  log: Logger;
  state: AppState;
}

const READY_PING_TIMEOUT_MS = 2_000;
/** Longest a query may wait for a database connection, and then run (DB_QUERY_TIMEOUT_MS). */
const DEFAULT_QUERY_TIMEOUT_MS = 5_000;
const DEFAULT_AUTH_FAILURES_PER_MINUTE = 20;
const PGLITE_READ_MAX_WAIT_MS = 600_000;
const PGLITE_READ_TIMEOUT_MS = 15_000;

/** Mutations that do not change the catalog: they leave the catalog generation (and the caches) alone. */
const NOT_CATALOG_CHANGES = new Set(['reportExecutions']);
/** Fields computed from (or writing) reported runs; a document naming one is never cached by catalog generation. */
const TELEMETRY_FIELDS = ['executionStats', 'driftingPatterns', 'failingTools', 'reportExecutions'];
/** Root fields whose answers hold experiment results, which move with every run reported. */
const EXPERIMENT_RESULT_FIELDS = ['experiment', 'experiments'];
/** Selection arguments whose answers follow reported runs (observed figures), not only the catalog generation. */
const TELEMETRY_ARGUMENTS = ['useObserved'];
/** Root fields whose answers hold `lastUsedAt`, written on key use without any catalog change. */
const KEY_USE_FIELDS = ['apiKeys'];

/** What GraphiQL shows first: the query the README suggests. */
export const FIRST_QUERY = `# Tools on linux, with what each can do and how long it takes.
query LinuxTools {
  tools(filter: { platform: "linux" }, first: 5) {
    totalCount
    edges {
      node {
        name
        version
        category
        capabilities {
          name
          patterns { name timeEstimateMs costEstimate complexityScore scope }
        }
      }
    }
  }
}
`;

let readinessLogger: { log: Logger; write: (error: unknown) => void } | undefined;
/** Readiness failures repeat every few seconds during an outage: logged once per interval with a count. */
function logReadiness(log: Logger, error: unknown) {
  if (readinessLogger?.log !== log) readinessLogger = { log, write: createErrorLogger(log) };
  readinessLogger.write(error);
}

/**
 * /ready names the check that fails (`catalog`, `database`, `listener`) and nothing else: no driver
 * text, no host or port (those go to the log, for the operator).
 */
async function readiness(deps: AppDeps): Promise<Response> {
  const unready = (failing: 'catalog' | 'database' | 'listener' | 'stopping') =>
    Response.json({ status: 'unavailable', failing }, { status: 503, headers: { 'retry-after': String(RETRY_AFTER_SECONDS) } });
  if (deps.state.stopping) return unready('stopping');
  if (!deps.state.catalogLoaded) return unready('catalog');
  try {
    // The ping's own connection is bounded by the pool's deadlines and released (or destroyed) by
    // the driver; this deadline only stops /ready from waiting longer than its budget.
    await withDeadline(deps.db.ping(), READY_PING_TIMEOUT_MS, 'readiness ping');
  } catch (error) {
    logReadiness(deps.log, error);
    return unready('database');
  }
  if (deps.state.listener && !deps.state.listener.connected) return unready('listener');
  return Response.json({ status: 'ready', database: deps.db.kind });
}

/** Builds the HTTP application: GraphQL at /graphql, /health, /ready and /metrics. No listener. */
export function createApp(deps: AppDeps) {
  const registry = createMetricsRegistry(deps.db, { commit: deps.config.buildCommit });
  const logError = createErrorLogger(deps.log);
  const clock = deps.clock ?? new CatalogClock();
  const queryTimeoutMs = deps.config.dbQueryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  // Key changes (revocations) notify like catalog changes do, and every notification advances the
  // clock: the key lookup cache is dropped with the other caches, on every instance.
  const resolveCaller = createCallerResolver(deps.db.prisma, {
    adminApiKey: deps.config.adminApiKey,
    lookupTimeoutMs: queryTimeoutMs,
    onInvalidate: (invalidate) => clock.onAdvance(invalidate),
    log: deps.log,
  });
  const events = new CatalogEventFeed(deps.db.prisma, { clock, registry, log: deps.log, queueLimit: deps.config.subscriptions?.queueLimit });
  // A read waits for a rebuild a change started (read-your-writes), but never longer than a query may
  // take: with the database frozen mid-rebuild it answers from the last revision (stale) in time.
  const memory = new MemoryCatalog(deps.db.prisma, { clock, log: deps.log, registry, freshnessWaitMs: Math.min(2_000, queryTimeoutMs) });
  const reloader = new CatalogReloader(deps.db.prisma, {
    catalogDir: deps.config.catalogDir ?? './catalog',
    clock,
    log: deps.log,
    registry,
    prune: deps.config.catalogChecks?.prune,
    strict: deps.config.catalogChecks?.strict,
  });
  const experiments = new ExperimentCatalog(deps.db.prisma, clock);
  // A run reported with only the decisionId a selection gave counts for the experiment arm that decision assigned.
  const telemetry = createTelemetry(deps.db.prisma, { registry, log: deps.log, config: deps.config.telemetry ?? DEFAULT_TELEMETRY, decisions: decisionAttributor(experiments) });
  // Selection learns from observed runs (useObserved) and consults running experiments (unitId), both from memory.
  const selection = new SelectionService(memory, registry, {}, { observed: telemetry.observedPerformance, experiments });
  const observations = toolExecutionObservations(deps.db.prisma);
  registerExperimentMetrics(registry, experiments, observations);
  const configuredCache = deps.config.cache ?? DEFAULT_CACHE;
  // The front door's cache and Yoga's response cache share CACHE_MAX_BYTES (and a share of the heap).
  const cacheConfig = { ...configuredCache, ...sharedCacheLimits(configuredCache, 2) };
  const limits = deps.config.limits ?? DEFAULT_LIMITS;
  // An invalid key gets its 401 from the context; it must not fail a cache lookup first.
  const roleOf = (authorization: string | null) => resolveCaller(authorization).then((caller) => caller.role as string, () => 'invalid');
  const caching = cacheConfig.enabled
    ? catalogResponseCache({
        clock,
        limits: cacheConfig,
        registry,
        // An invalid key gets its 401 from the context; it must not fail the cache lookup first.
        roleOf: (request) => roleOf(request.headers.get('authorization')),
        notCatalogChanges: NOT_CATALOG_CHANGES,
        // Stats and experiment results follow reported runs, and key use times follow requests, not the
        // catalog generation: answers holding them are never cached.
        uncachedFields: [...TELEMETRY_FIELDS, ...EXPERIMENT_RESULT_FIELDS, ...TELEMETRY_ARGUMENTS, ...KEY_USE_FIELDS],
        cacheable: () => !memory.unconfirmed,
      })
    : [useAdvanceOnMutation(clock, NOT_CATALOG_CHANGES)];
  // The one context factory: Yoga's, and the decision lane's.
  const createContext = createContextFactory({
    prisma: deps.db.prisma,
    resolveCaller,
    reloader,
    events,
    memory,
    selection,
    telemetry,
    experiments,
    observations,
    readsRequireKey: deps.config.readsRequireKey,
    strictImport: deps.config.catalogChecks?.strict,
    trustProxy: deps.config.trustProxy,
    failedKeys: new FailedKeyLimiter(deps.config.authFailuresPerMinute ?? DEFAULT_AUTH_FAILURES_PER_MINUTE),
  });
  // The pipeline's decisions run compiled; every other operation on graphql-js's executor.
  const compiled = compiledExecution(deps.log, registry);
  const yoga = createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    // Parsing and validation are cached per document (Yoga's default, kept on purpose): the pipeline
    // repeats a few documents with ever-new variables.
    parserAndValidationCache: true,
    // The body limit is protections' (REQUEST_BODY_LIMIT_BYTES): it counts only bodies that declare
    // no length, where Yoga's own would pipe every body through a counting stream.
    maxRequestBodySize: false,
    healthCheckEndpoint: '/health',
    landingPage: false,
    // Yoga's default CORS reflects any origin with credentials; ours is an allow-list (CORS_ORIGINS).
    cors: false,
    graphiql: deps.config.graphiql
      ? {
          title: 'Tool Catalog',
          defaultQuery: FIRST_QUERY,
          // GraphiQL runs subscriptions as GET event streams, which CSRF prevention refuses without
          // this header; the page is served from our own origin, so it may send it.
          additionalHeaders: { 'x-graphql-yoga-csrf': 'graphiql' },
        }
      : false,
    // GraphiQL bundled into the page: no CDN, so it works on hosts without internet access. The
    // bundle costs about 80 MB of memory, so it is loaded when the page is first asked for.
    renderGraphiQL: async (options) => (await import('@graphql-yoga/render-graphiql')).renderGraphiQL(options),
    context: createContext,
    maskedErrors: { maskError, isDev: false },
    logging: {
      debug: (...args) => deps.log.debug(args.length === 1 ? args[0] : args),
      info: (...args) => deps.log.info(args.length === 1 ? args[0] : args),
      warn: (...args) => deps.log.warn(args.length === 1 ? args[0] : args),
      error: (...args) => {
        for (const arg of args) logError(arg);
      },
    },
    plugins: [
      // First: preflights are answered before anything else, and its headers are set on the answer
      // before a later plugin (the conditional GET) replaces it with a copy.
      useCorsAllowList(deps.config.corsOrigins ?? []),
      useServiceAvailability({
        // Once stopping, requests still arriving (in flight when the signal came, or on a kept-alive
        // connection) are answered: only /ready turns 503, so that balancers stop sending more.
        serving: () => (deps.state.catalogLoaded || deps.state.servingSnapshot ? 'ready' : 'starting'),
      }),
      ...protections(limits),
      useReadinessCheck({ endpoint: '/ready', check: () => readiness(deps) }),
      useProfilesRoute({ memory, resolveCaller, readsRequireKey: deps.config.readsRequireKey, onStale: () => selection.countStale() }),
      useRevisionHeader(memory),
      usePrometheus({
        registry,
        endpoint: '/metrics',
        // The full request URL (with GET query strings) would make every request its own series.
        labels: { url: false },
        metrics: {
          // Off: the schema deprecates no field, and counting them visits every request's document
          // with type information; the summary recomputes quantiles on every request, which
          // graphql_envelop_request_duration's buckets already give.
          graphql_envelop_deprecated_field: false,
          graphql_envelop_request_time_summary: false,
          graphql_yoga_http_duration: true,
          graphql_envelop_request: true,
          graphql_envelop_request_duration: true,
          graphql_envelop_error_result: true,
          graphql_envelop_phase_parse: true,
          graphql_envelop_phase_validate: true,
          graphql_envelop_phase_execute: true,
        },
      }),
      useGraphQLErrorMetrics(registry),
      // Scope caches go when execution is done, not at the next full collection (src/schema/requestCaches.ts).
      useRequestCacheRelease(),
      ...compiled.plugins,
      // After the plugins that choose the executor (the compiled one, the lane's outcome): the deadline
      // bounds whichever runs. PGlite runs one transaction at a time: a read may rightly wait for a
      // whole import.
      useQueryDeadline({ queryDeadlineMs: deps.db.kind === 'postgres' ? queryTimeoutMs : undefined }),
      // After the metrics plugin, so requests answered from the cache are still counted and timed.
      ...caching,
      // After the cache: a cached answer needs no snapshot.
      // PGlite runs one transaction at a time, so a read waits for a whole import to commit; on a
      // server a read only waits for a pooled connection.
      useReadSnapshot(deps.db.prisma, {
        maxWaitMs: deps.db.kind === 'pglite' ? PGLITE_READ_MAX_WAIT_MS : queryTimeoutMs,
        timeoutMs: deps.db.kind === 'pglite' ? PGLITE_READ_TIMEOUT_MS : queryTimeoutMs,
      }),
    ],
  });
  /** What the HTTP server runs: cached query responses straight from memory, everything else through Yoga. */
  // Decision query texts Yoga has accepted and compiled are answered again without its pipeline.
  const lane = new DecisionLane({
    documentFor: (query) => compiled.documentFor(query),
    createContext: (initial) => createContext(initial as unknown as Parameters<typeof createContext>[0]),
    roleOf,
    serving: () => deps.state.catalogLoaded || Boolean(deps.state.servingSnapshot),
    revision: () => memory.snapshot?.revision,
    containsNul,
    revisionHeader: REVISION_HEADER,
    registry,
    queryDeadlineMs: deps.db.kind === 'postgres' ? queryTimeoutMs : undefined,
  });
  // Bodies of up to 64 KiB are read by the front door (decisions and cacheable answers are small).
  const frontDoorBodyBytes = Math.min(limits.bodyBytes, 64 * 1024);
  const graphqlHandler: RequestListener = cacheConfig.enabled
    ? cachedResponses({ yoga, clock, limits: cacheConfig, registry, roleOf, maxBodyBytes: frontDoorBodyBytes, corsOrigins: deps.config.corsOrigins, lane })
    : decisionsFirst({ yoga, lane, maxBodyBytes: frontDoorBodyBytes });
  // Run reports bypass the GraphQL front door and its response cache altogether.
  const reportExecutions = executionsRoute({ ingestor: telemetry.ingestor, resolveCaller, maxBodyBytes: limits.bodyBytes, log: deps.log });
  const handler: RequestListener = (req, res) => {
    const url = req.url ?? '/';
    if (url === EXECUTIONS_PATH || url.startsWith(`${EXECUTIONS_PATH}?`)) void reportExecutions(req, res);
    else graphqlHandler(req, res);
  };
  return { yoga, registry, clock, handler, reloader, events, memory, selection, telemetry, experiments };
}

export type App = ReturnType<typeof createApp>;
