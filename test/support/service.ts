import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { createApp, type App, type AppState } from '../../src/app.js';
import { prepareDatabase } from '../../src/bootstrap.js';
import { openDatabase, type Database } from '../../src/db/database.js';
import type { Config } from '../../src/config.js';

export const SAMPLE_CATALOG_DIR = new URL('../../catalog/', import.meta.url).pathname;
export const silentLog = pino({ level: 'silent' });
/** Transaction control as the drivers log it (PGlite as comments, pg as plain statements): not reads. */
const TRANSACTION_MARKER = /^(--|BEGIN\b|COMMIT\b|ROLLBACK\b|SET TRANSACTION\b)/i;

/**
 * A throwaway database of the kind under test: PGlite in memory by default, or a fresh database
 * on the PostgreSQL server named by DATABASE_URL (created here, dropped by `drop`).
 */
/** A fresh, empty database on the PostgreSQL server at `serverUrl`; `drop` removes it. */
export async function createPostgresDatabase(serverUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `tc_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const cleanup = new pg.Client({ connectionString: serverUrl });
      await cleanup.connect();
      // Pools just closed may still be ending their connections: give them (bounded) time, so that
      // FORCE only cuts what was left open.
      for (let i = 0; i < 20; i++) {
        const { rows } = await cleanup.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [name]);
        if (rows[0].n === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await cleanup.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await cleanup.end();
    },
  };
}

/**
 * A throwaway database of the kind under test: PGlite in memory by default, or a fresh database
 * on the PostgreSQL server named by DATABASE_URL (created here, dropped by `drop`).
 */
export async function openTestDatabase(): Promise<{ db: Database; drop: () => Promise<void> }> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const db = await openDatabase({ kind: 'pglite', dataDir: 'memory://' });
    return { db, drop: () => db.close() };
  }
  const fresh = await createPostgresDatabase(serverUrl);
  const db = await openDatabase({
    kind: 'postgres',
    url: fresh.url,
    poolMax: 5,
    connectTimeoutMs: 5_000,
    statementTimeoutMs: 15_000,
    idleTimeoutMs: 10_000,
  });
  return {
    db,
    drop: async () => {
      await db.close();
      await fresh.drop();
    },
  };
}

export interface GraphQLResponse<T = Record<string, unknown>> {
  data?: T | null;
  errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, unknown> }>;
}

export interface TestService {
  app: App;
  db: Database;
  state: AppState;
  /** POSTs a GraphQL document through the app's front door (`yoga.fetch`, no port). */
  graphql<T = any>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GraphQLResponse<T>>;
  /** Runs `fn` and returns the SQL statements Prisma sent meanwhile (transaction markers excluded). */
  recordStatements<R>(fn: () => Promise<R>): Promise<{ result: R; statements: string[] }>;
  /**
   * After rows were changed by hand (SQL without a catalog event, which no write path of the service
   * does): makes the in-memory catalog read every tool again, as `reloadCatalog(source: DATABASE)` would.
   */
  syncMemory(): Promise<void>;
  close(): Promise<void>;
}

export async function startTestService(
  options: {
    catalogDir?: string;
    seed?: boolean;
    adminApiKey?: string;
    limits?: Config['limits'];
    cache?: Config['cache'];
    subscriptions?: Config['subscriptions'];
    readsRequireKey?: boolean;
    corsOrigins?: string[];
    /** DB_QUERY_TIMEOUT_MS: a request's deadline on the database (PostgreSQL only). */
    dbQueryTimeoutMs?: number;
  } = {},
): Promise<TestService> {
  const { db, drop } = await openTestDatabase();
  await prepareDatabase(
    db,
    { catalogDir: options.catalogDir ?? SAMPLE_CATALOG_DIR, seedOnEmpty: options.seed ?? true },
    silentLog,
  );
  const state: AppState = { catalogLoaded: true };
  const app = createApp({
    db,
    config: {
      graphiql: true,
      adminApiKey: options.adminApiKey,
      limits: options.limits,
      cache: options.cache,
      catalogDir: options.catalogDir ?? SAMPLE_CATALOG_DIR,
      subscriptions: options.subscriptions,
      readsRequireKey: options.readsRequireKey,
      corsOrigins: options.corsOrigins,
      dbQueryTimeoutMs: options.dbQueryTimeoutMs,
    },
    log: silentLog,
    state,
  });
  let recording: string[] | undefined;
  db.onStatement((sql) => {
    if (recording && !TRANSACTION_MARKER.test(sql)) recording.push(sql);
  });
  return {
    app,
    db,
    state,
    async graphql(query, variables, headers = {}) {
      const response = await app.yoga.fetch('http://catalog.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as GraphQLResponse<never>;
    },
    async recordStatements(fn) {
      recording = [];
      try {
        const result = await fn();
        return { result, statements: recording };
      } finally {
        recording = undefined;
      }
    },
    async syncMemory() {
      if (!(await app.memory.invalidate())) throw new Error('the in-memory catalog could not be rebuilt');
    },
    close: async () => {
      app.events.stop();
      // A rebuild a last change started would otherwise reconnect after the pool has closed, and
      // have its connection cut by the database's removal.
      app.memory.stop();
      await app.memory.settled();
      await drop();
    },
  };
}

/**
 * Environment that points a child process (the server, the CLI) at a fresh database of the kind
 * under test: a new database on the DATABASE_URL server, or an embedded one under `workDir`.
 */
export async function processDatabase(workDir: string): Promise<{ env: Record<string, string>; drop: () => Promise<void> }> {
  if (!process.env.DATABASE_URL) return { env: { DATA_DIR: path.join(workDir, 'data') }, drop: async () => {} };
  const fresh = await createPostgresDatabase(process.env.DATABASE_URL);
  return { env: { DATABASE_URL: fresh.url }, drop: fresh.drop };
}
