import { z } from 'zod';

/**
 * A bootstrap key must not be guessable: at least 128 bits by the characters' own frequencies
 * (Shannon entropy of the string times its length) and at least 10 distinct characters. A random
 * base64 key of 32+ characters passes with room to spare; `aaaa…`, `abab…` or a word repeated do not.
 */
export function hasEnoughEntropy(key: string): boolean {
  const counts = new Map<string, number>();
  for (const char of key) counts.set(char, (counts.get(char) ?? 0) + 1);
  const length = [...key].length;
  let bitsPerChar = 0;
  for (const count of counts.values()) bitsPerChar -= (count / length) * Math.log2(count / length);
  const repeated = /^(.+?)\1+$/s.test(key);
  return !repeated && counts.size >= 10 && bitsPerChar * length >= 128;
}

const RSS_SOFT_LIMIT_MESSAGE = 'must be auto, 0 (off) or a whole number of MiB between 64 and 1048576';

/** Environment variables the service reads, parsed once at start-up into one typed object. */
const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  /** PostgreSQL server URL. Unset: the embedded PGlite database in DATA_DIR. */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must start with postgresql:// or postgres://')
    .optional(),
  /** Where the embedded database keeps its files; `memory://` keeps them in memory only. */
  DATA_DIR: z.string().min(1).default('./data'),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(500).default(10),
  DB_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(5_000),
  DB_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(15_000),
  DB_IDLE_TIMEOUT_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
  /**
   * Client-side deadline on every database call (waiting for a pooled connection, each statement,
   * and a request's whole database work): enforced even when the server does not answer at all.
   */
  DB_QUERY_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(5_000),
  /** Directory of tool YAML files loaded into an empty database on first start. */
  CATALOG_DIR: z.string().min(1).default('./catalog'),
  SEED_ON_EMPTY: z.stringbool().default(true),
  /** Reloads soft-delete tools from CATALOG_DIR whose file is gone (the directory as source of truth). */
  CATALOG_PRUNE: z.stringbool().default(false),
  /** Unknown keys in tool definitions are errors, not warnings, on every path (import, reload, API). */
  STRICT_IMPORT: z.stringbool().default(false),
  /** Reload CATALOG_DIR when its files change; on unless NODE_ENV=production. */
  CATALOG_WATCH: z.stringbool().optional(),
  CATALOG_WATCH_DEBOUNCE_MS: z.coerce.number().int().min(10).max(60_000).default(300),
  /** Reload CATALOG_DIR on a schedule; 0 (the default) turns it off. */
  RELOAD_INTERVAL_MS: z.coerce
    .number()
    .int()
    .refine((ms) => ms === 0 || (ms >= 1_000 && ms <= 7 * 86_400_000), 'must be 0 (off) or between 1000 and 604800000')
    .default(0),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** How long SIGTERM waits for in-flight requests before closing anyway. */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).max(120_000).default(10_000),
  GRAPHIQL: z.stringbool().optional(),
  GRAPHQL_MAX_DEPTH: z.coerce.number().int().min(2).max(100).default(12),
  GRAPHQL_MAX_ALIASES: z.coerce.number().int().min(0).max(1000).default(15),
  GRAPHQL_MAX_TOKENS: z.coerce.number().int().min(100).max(1_000_000).default(5_000),
  GRAPHQL_MAX_COST: z.coerce.number().int().min(10).max(10_000_000).default(20_000),
  GRAPHQL_INTROSPECTION: z.stringbool().optional(),
  REQUEST_BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(512 * 1024 * 1024).default(16 * 1024 * 1024),
  /** Require a reader key for queries; by default reads are public. */
  READS_REQUIRE_KEY: z.stringbool().default(false),
  /** Bootstrap key for writes (Authorization: Bearer <key>). Unset: the GraphQL API is read-only. */
  ADMIN_API_KEY: z
    .string()
    .min(32, 'must be at least 32 characters (e.g. `openssl rand -base64 32`)')
    .refine(hasEnoughEntropy, 'is too predictable (repeated or few distinct characters); use a random key such as `openssl rand -base64 32`')
    .optional(),
  /** Failed key attempts one client address may make per minute before it is refused with 429. */
  AUTH_FAILURES_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(20),
  /** Serve repeated queries from memory until the catalog changes. */
  CACHE_ENABLED: z.stringbool().default(true),
  CACHE_MAX_ENTRIES: z.coerce.number().int().min(1).max(10_000_000).default(10_000),
  CACHE_MAX_BYTES: z.coerce.number().int().min(1024).max(16 * 1024 * 1024 * 1024).default(64 * 1024 * 1024),
  /** Safety net only: invalidation is exact, by catalog generation. */
  CACHE_TTL_MS: z.coerce.number().int().min(1).max(86_400_000).default(300_000),
  /**
   * RSS (MiB) above which the service runs full garbage collections itself instead of waiting for
   * V8's schedule: at idle moments, and while busy only far above it (src/heap/rssSoftLimit.ts).
   * `auto` (the default): 1.2 times the RSS at ready. 0 turns it off.
   */
  RSS_SOFT_LIMIT_MB: z
    .union([z.literal('auto'), z.coerce.number().int()], { error: RSS_SOFT_LIMIT_MESSAGE })
    .refine((mb) => mb === 'auto' || mb === 0 || (mb >= 64 && mb <= 1_048_576), RSS_SOFT_LIMIT_MESSAGE)
    .default('auto'),
  /** Events one subscriber may have waiting before it is dropped as too slow. */
  SUBSCRIPTION_QUEUE_LIMIT: z.coerce.number().int().min(10).max(1_000_000).default(10_000),
  /** WebSocket connections that send no connection_init within this long are closed. */
  WS_INIT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(3_000),
  /** Ping WebSocket clients this often; one that misses a pong is disconnected. */
  WS_KEEPALIVE_MS: z.coerce.number().int().min(1_000).max(600_000).default(12_000),
  /** Catalog events are kept this long for subscribers that resume with `since`. */
  EVENT_RETENTION_DAYS: z.coerce.number().min(0.001).max(3_650).default(30),
  /**
   * Origins (scheme://host[:port], comma-separated) whose web pages may call the API from a browser,
   * with credentials. Empty (the default): CORS is off and no other origin can read answers.
   */
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((value) => value.split(',').map((origin) => origin.trim()).filter(Boolean))
    .refine(
      (origins) => origins.every((origin) => /^https?:\/\/[^/\s*]+$/.test(origin)),
      'must be a comma-separated list of origins such as https://ops.example.com (scheme, host, optional port; no path, no *)',
    ),
  /** Reported runs are kept this long (raw rows); older ones are pruned and refused. */
  TELEMETRY_RETENTION_DAYS: z.coerce.number().min(1).max(3_650).default(30),
  /** Hourly roll-ups of runs (counts, sums, quantile sketches) are kept this long. */
  TELEMETRY_ROLLUP_RETENTION_DAYS: z.coerce.number().min(1).max(36_500).default(400),
  /** A pattern drifts when its observed median time differs from the estimate by more than this fraction. */
  DRIFT_THRESHOLD: z.coerce.number().gt(0).max(100).default(0.5),
  /** ...over at least this many runs with an estimate in the window. */
  DRIFT_MIN_RUNS: z.coerce.number().int().min(1).max(1_000_000_000).default(30),
  /** Behind a reverse proxy: take the client address for the audit log from X-Forwarded-For. */
  TRUST_PROXY: z.stringbool().default(false),
  /** Where the profiles JSON is written after every change, and served from (stale) when the database is unreachable at start-up. */
  PROFILES_SNAPSHOT_PATH: z.string().min(1).optional(),
  /** The commit the running code was built from, shown in tool_catalog_build_info (set by the image build). */
  BUILD_COMMIT: z.string().regex(/^[0-9a-zA-Z._-]{1,64}$/, 'must be a commit id or tag (letters, digits, . _ -)').default('unknown'),
});

export type Env = z.infer<typeof envSchema>;

/** Limits a request must stay within; the defaults suit the catalog's own deepest queries. */
export const DEFAULT_LIMITS = {
  maxDepth: 12,
  maxAliases: 15,
  maxTokens: 5_000,
  maxCost: 20_000,
  bodyBytes: 16 * 1024 * 1024,
  introspection: true,
} as const;

export const DEFAULT_CACHE = { enabled: true, maxEntries: 10_000, maxBytes: 64 * 1024 * 1024, ttlMs: 300_000 } as const;

export interface Config {
  env: Env['NODE_ENV'];
  host: string;
  port: number;
  database:
    | { kind: 'pglite'; dataDir: string }
    | {
        kind: 'postgres';
        url: string;
        poolMax: number;
        connectTimeoutMs: number;
        statementTimeoutMs: number;
        idleTimeoutMs: number;
        /** Client-side deadline per statement and per connection wait (DB_QUERY_TIMEOUT_MS). */
        queryTimeoutMs?: number;
      };
  catalogDir: string;
  seedOnEmpty: boolean;
  /** CATALOG_PRUNE and STRICT_IMPORT. */
  catalogChecks: { prune: boolean; strict: boolean };
  reloadTriggers: { watch: boolean; debounceMs: number; intervalMs: number };
  logLevel: Env['LOG_LEVEL'];
  shutdownTimeoutMs: number;
  /** Longest any request waits on the database before it is answered 503 (DB_QUERY_TIMEOUT_MS; PGlite too). */
  dbQueryTimeoutMs: number;
  graphiql: boolean;
  adminApiKey?: string;
  /** AUTH_FAILURES_PER_MINUTE: failed key attempts per client address per minute before 429. */
  authFailuresPerMinute: number;
  readsRequireKey: boolean;
  trustProxy: boolean;
  /** Origins allowed to read the API from a browser (CORS_ORIGINS); empty: CORS off. */
  corsOrigins: string[];
  /** PROFILES_SNAPSHOT_PATH, when set. */
  profilesSnapshotPath?: string;
  buildCommit: string;
  cache: { enabled: boolean; maxEntries: number; maxBytes: number; ttlMs: number };
  /** RSS_SOFT_LIMIT_MB in bytes; 0: off; auto: 1.2 times the RSS at ready. */
  rssSoftLimitBytes: number | 'auto';
  subscriptions: { queueLimit: number; wsInitTimeoutMs: number; wsKeepAliveMs: number; eventRetentionMs: number };
  telemetry: { retention: { rawMs: number; rollupMs: number }; drift: { threshold: number; minRuns: number } };
  limits: {
    maxDepth: number;
    maxAliases: number;
    maxTokens: number;
    maxCost: number;
    bodyBytes: number;
    introspection: boolean;
  };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment; throws ConfigError naming each bad variable. */
export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  const relevant = Object.fromEntries(
    Object.keys(envSchema.shape).map((key) => [key, source[key] === '' ? undefined : source[key]]),
  );
  const parsed = envSchema.safeParse(relevant);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? '?');
      const value = source[name];
      const shown = name === 'DATABASE_URL' || name === 'ADMIN_API_KEY' ? '(hidden)' : JSON.stringify(value);
      return `${name}=${shown}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration: ${lines.join('; ')}`);
  }
  const env = parsed.data;
  if (env.TELEMETRY_ROLLUP_RETENTION_DAYS < env.TELEMETRY_RETENTION_DAYS) {
    // Windows must stay answerable from roll-ups once their raw runs are gone.
    throw new ConfigError(
      `invalid configuration: TELEMETRY_ROLLUP_RETENTION_DAYS=${JSON.stringify(source.TELEMETRY_ROLLUP_RETENTION_DAYS ?? '400')}: must be at least TELEMETRY_RETENTION_DAYS (${env.TELEMETRY_RETENTION_DAYS})`,
    );
  }
  return {
    env: env.NODE_ENV,
    host: env.HOST,
    port: env.PORT,
    database: env.DATABASE_URL
      ? {
          kind: 'postgres',
          url: env.DATABASE_URL,
          poolMax: env.DB_POOL_MAX,
          connectTimeoutMs: env.DB_CONNECT_TIMEOUT_MS,
          statementTimeoutMs: env.DB_STATEMENT_TIMEOUT_MS,
          idleTimeoutMs: env.DB_IDLE_TIMEOUT_MS,
          queryTimeoutMs: env.DB_QUERY_TIMEOUT_MS,
        }
      : { kind: 'pglite', dataDir: env.DATA_DIR },
    catalogDir: env.CATALOG_DIR,
    seedOnEmpty: env.SEED_ON_EMPTY,
    catalogChecks: { prune: env.CATALOG_PRUNE, strict: env.STRICT_IMPORT },
    reloadTriggers: {
      watch: env.CATALOG_WATCH ?? env.NODE_ENV !== 'production',
      debounceMs: env.CATALOG_WATCH_DEBOUNCE_MS,
      intervalMs: env.RELOAD_INTERVAL_MS,
    },
    logLevel: env.LOG_LEVEL,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    dbQueryTimeoutMs: env.DB_QUERY_TIMEOUT_MS,
    graphiql: env.GRAPHIQL ?? env.NODE_ENV !== 'production',
    adminApiKey: env.ADMIN_API_KEY,
    authFailuresPerMinute: env.AUTH_FAILURES_PER_MINUTE,
    readsRequireKey: env.READS_REQUIRE_KEY,
    trustProxy: env.TRUST_PROXY,
    corsOrigins: env.CORS_ORIGINS,
    profilesSnapshotPath: env.PROFILES_SNAPSHOT_PATH,
    buildCommit: env.BUILD_COMMIT,
    cache: { enabled: env.CACHE_ENABLED, maxEntries: env.CACHE_MAX_ENTRIES, maxBytes: env.CACHE_MAX_BYTES, ttlMs: env.CACHE_TTL_MS },
    rssSoftLimitBytes: env.RSS_SOFT_LIMIT_MB === 'auto' ? 'auto' : env.RSS_SOFT_LIMIT_MB * 1024 * 1024,
    subscriptions: {
      queueLimit: env.SUBSCRIPTION_QUEUE_LIMIT,
      wsInitTimeoutMs: env.WS_INIT_TIMEOUT_MS,
      wsKeepAliveMs: env.WS_KEEPALIVE_MS,
      eventRetentionMs: Math.round(env.EVENT_RETENTION_DAYS * 86_400_000),
    },
    telemetry: {
      retention: { rawMs: Math.round(env.TELEMETRY_RETENTION_DAYS * 86_400_000), rollupMs: Math.round(env.TELEMETRY_ROLLUP_RETENTION_DAYS * 86_400_000) },
      drift: { threshold: env.DRIFT_THRESHOLD, minRuns: env.DRIFT_MIN_RUNS },
    },
    limits: {
      maxDepth: env.GRAPHQL_MAX_DEPTH,
      maxAliases: env.GRAPHQL_MAX_ALIASES,
      maxTokens: env.GRAPHQL_MAX_TOKENS,
      maxCost: env.GRAPHQL_MAX_COST,
      bodyBytes: env.REQUEST_BODY_LIMIT_BYTES,
      introspection: env.GRAPHQL_INTROSPECTION ?? env.NODE_ENV !== 'production',
    },
  };
}
