import { readFileSync } from 'node:fs';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Plugin } from 'graphql-yoga';
import type { GraphQLError } from 'graphql';
import type { Database } from './db/database.js';
import { latestVisible } from './catalog/visibility.js';
import { ToolStatus } from './generated/prisma/enums.js';

/** The package's version: package.json sits next to src/ when run from source, two levels up from dist/src/. */
function packageVersion(): string {
  for (const candidate of ['../package.json', '../../package.json']) {
    try {
      const parsed = JSON.parse(readFileSync(new URL(candidate, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (parsed.name === 'tool-catalog' && parsed.version) return parsed.version;
    } catch {
      // not there: try the next place
    }
  }
  return 'unknown';
}

/** Longest a scrape waits for the database before reporting what it knew last. */
const SAMPLE_TIMEOUT_MS = 2_000;
/** Catalog counts are read at most this often, however many Prometheus servers scrape. */
const SAMPLE_MAX_AGE_MS = 5_000;

export interface MetricsOptions {
  /** The commit the running code was built from (BUILD_COMMIT); `unknown` when not given. */
  commit?: string;
}

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Reads what the catalog holds (latest tools by status, the catalog revision) at scrape time, at
 * most every SAMPLE_MAX_AGE_MS and never waiting longer than SAMPLE_TIMEOUT_MS: a slow or
 * unreachable database must not make /metrics itself fail, which would hide every other metric.
 * On failure the last values stay; `tool_catalog_database_up` says the database did not answer.
 */
function catalogSampler(db: Database) {
  let last: { at: number; tools: Map<string, number>; revision: number } | undefined;
  let running: Promise<void> | undefined;
  const read = async () => {
    const [byStatus, newest] = await Promise.all([
      db.prisma.tool.groupBy({ by: ['status'], where: latestVisible, _count: { _all: true } }),
      db.prisma.catalogEvent.aggregate({ _max: { revision: true } }),
    ]);
    const tools = new Map<string, number>(Object.values(ToolStatus).map((status) => [status.toLowerCase(), 0]));
    for (const row of byStatus) tools.set(row.status.toLowerCase(), row._count._all);
    last = { at: Date.now(), tools, revision: Number(newest._max.revision ?? 0) };
  };
  return async () => {
    if (last && Date.now() - last.at < SAMPLE_MAX_AGE_MS) return last;
    running ??= withTimeout(read(), SAMPLE_TIMEOUT_MS, 'catalog sample').finally(() => (running = undefined));
    await running.catch(() => undefined);
    return last;
  };
}

/** One registry per service instance, so tests can build several apps in one process. */
export function createMetricsRegistry(db: Database, options: MetricsOptions = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service: 'tool-catalog' });
  collectDefaultMetrics({ register: registry });

  new Gauge({
    name: 'tool_catalog_build_info',
    help: 'Always 1; its labels say which version and commit run on which Node.js',
    labelNames: ['version', 'commit', 'node'],
    registers: [registry],
  }).set({ version: packageVersion(), commit: options.commit ?? 'unknown', node: process.version }, 1);

  const statements = new Counter({
    name: 'tool_catalog_db_statements_total',
    help: 'SQL statements sent to the database, by kind of statement',
    labelNames: ['kind'],
    registers: [registry],
  });
  const statementSeconds = new Histogram({
    name: 'tool_catalog_db_statement_duration_seconds',
    help: 'SQL statement duration as reported by Prisma',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  db.onStatement((sql, durationMs) => {
    if (sql.startsWith('--')) return;
    const kind = /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase() ?? 'OTHER';
    statements.inc({ kind });
    statementSeconds.observe(durationMs / 1000);
  });

  // Database connections. On PostgreSQL the node-postgres pool; on the embedded database its one
  // connection, which runs one call at a time (see instrumentPglite).
  const { pool } = db;
  new Gauge({
    name: 'tool_catalog_db_pool_max_connections',
    help: 'Most connections the pool may open (DB_POOL_MAX; 1 for the embedded database)',
    registers: [registry],
  }).set(pool.max);
  new Gauge({
    name: 'tool_catalog_db_pool_connections',
    help: 'Database connections open now, by state (idle or in_use)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const idle = pool.idle();
      this.set({ state: 'idle' }, idle);
      this.set({ state: 'in_use' }, Math.max(pool.total() - idle, 0));
    },
  });
  new Gauge({
    name: 'tool_catalog_db_pool_waiting_requests',
    help: 'Requests waiting for a free database connection',
    registers: [registry],
    collect() {
      this.set(pool.waiting());
    },
  });
  const acquireSeconds = new Histogram({
    name: 'tool_catalog_db_pool_acquire_duration_seconds',
    help: 'Time spent waiting for a database connection, by outcome (ok, or error: timeout or refused)',
    labelNames: ['outcome'],
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  // Both outcomes exist from the start, so that the first failure is an increase Prometheus sees.
  acquireSeconds.zero({ outcome: 'ok' });
  acquireSeconds.zero({ outcome: 'error' });
  pool.onAcquire((seconds, ok) => acquireSeconds.observe({ outcome: ok ? 'ok' : 'error' }, seconds));

  new Gauge({
    name: 'tool_catalog_database_up',
    help: '1 when the database answered a round trip during this scrape (within 2 s), else 0',
    registers: [registry],
    async collect() {
      try {
        await withTimeout(db.ping(), SAMPLE_TIMEOUT_MS, 'database ping');
        this.set(1);
      } catch {
        this.set(0);
      }
    },
  });

  const sample = catalogSampler(db);
  new Gauge({
    name: 'tool_catalog_tools',
    help: 'Tools in the catalog (latest version, not deleted), by status',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const seen = await sample();
      for (const [status, count] of seen?.tools ?? []) this.set({ status }, count);
    },
  });
  new Gauge({
    name: 'tool_catalog_catalog_revision',
    help: 'Catalog revision: the id of the newest catalog event (every change appends one)',
    registers: [registry],
    async collect() {
      const seen = await sample();
      if (seen) this.set(seen.revision);
    },
  });
  return registry;
}

/** Error codes the service gives; anything else is counted as OTHER so the label stays bounded. */
export const GRAPHQL_ERROR_CODES = [
  'BAD_USER_INPUT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'QUERY_TOO_COMPLEX',
  'CSRF_REJECTED',
  'PAYLOAD_TOO_LARGE',
  'INVALID_UTF8',
  'SERVICE_UNAVAILABLE',
  'SUBSCRIBER_TOO_SLOW',
  'EXECUTIONS_WITHOUT_UNITS',
  'INTERNAL_SERVER_ERROR',
  'OTHER',
] as const;

const knownCodes = new Set<string>(GRAPHQL_ERROR_CODES);

/** The code an error is counted under: its `extensions.code`, bounded to the known set. */
export function errorCode(error: Pick<GraphQLError, 'extensions'>): string {
  const code = error.extensions?.code;
  if (code === undefined) return 'INTERNAL_SERVER_ERROR';
  return typeof code === 'string' && knownCodes.has(code) ? code : 'OTHER';
}

/**
 * Counts every error a GraphQL response carries by its code (`tool_catalog_graphql_errors_total`),
 * including requests refused before execution (parse, validation, limits, access). Expected
 * outcomes of mutations are result types, not errors, and are not counted.
 */
export function useGraphQLErrorMetrics(registry: Registry): Plugin {
  const errors = new Counter({
    name: 'tool_catalog_graphql_errors_total',
    help: 'Errors in GraphQL responses, by error code (extensions.code; INTERNAL_SERVER_ERROR for masked errors)',
    labelNames: ['code'],
    registers: [registry],
  });
  for (const code of GRAPHQL_ERROR_CODES) errors.inc({ code }, 0);
  return {
    onResultProcess({ result }) {
      if (Symbol.asyncIterator in Object(result)) return;
      for (const one of Array.isArray(result) ? result : [result]) {
        for (const error of (one as { errors?: readonly GraphQLError[] }).errors ?? []) errors.inc({ code: errorCode(error) });
      }
    },
  };
}
