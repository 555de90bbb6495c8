import type { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { performance } from 'node:perf_hooks';
import type { SqlDriverAdapterFactory, SqlMigrationAwareDriverAdapterFactory, SqlQuery, SqlQueryable } from '@prisma/driver-adapter-utils';
import type { PrismaPGlite } from 'pglite-prisma-adapter';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PrismaClient } from '../generated/prisma/client.js';
import type { Config } from '../config.js';

export type DatabaseConfig = Config['database'];

/** Observes every SQL statement Prisma sends; tests and metrics subscribe to it. */
export type StatementListener = (sql: string, durationMs: number) => void;

/** Where the service's database connections stand right now, and how long getting one took. */
export interface ConnectionPool {
  /** Most connections the pool may hold. */
  readonly max: number;
  /** Connections open now (idle + in use). */
  total(): number;
  idle(): number;
  /** Callers waiting for a connection. */
  waiting(): number;
  /** Called for every acquisition with its wait in seconds and whether a connection was had. */
  onAcquire(listener: (seconds: number, ok: boolean) => void): () => void;
}

export interface Database {
  readonly kind: DatabaseConfig['kind'];
  /** The connection pool of a PostgreSQL server, or the embedded database's single connection. */
  readonly pool: ConnectionPool;
  readonly prisma: PrismaClient;
  /** A fresh adapter factory for Prisma's schema engine (migrations, diff). */
  migrationAdapter(): SqlMigrationAwareDriverAdapterFactory;
  /** Runs a real round trip to the database; rejects when it is unreachable. */
  ping(): Promise<void>;
  onStatement(listener: StatementListener): () => void;
  close(): Promise<void>;
}


/** What differs between the two kinds of database; the rest of `Database` is built from it. */
interface Driver {
  kind: DatabaseConfig['kind'];
  adapter: PrismaPg | PrismaPGlite;
  pool: ConnectionPool;
  migrationAdapter(): SqlMigrationAwareDriverAdapterFactory;
  ping(prisma: PrismaClient): Promise<void>;
  closeDriver(): Promise<void>;
}

/** Times every statement a queryable (the connection, or one transaction) runs, for the listeners. */
function observeStatements<T extends SqlQueryable>(queryable: T, emit: (sql: string, durationMs: number) => void): T {
  const timed =
    <R>(run: (query: SqlQuery) => Promise<R>) =>
    async (query: SqlQuery): Promise<R> => {
      const startedAt = performance.now();
      try {
        return await run(query);
      } finally {
        emit(query.sql, performance.now() - startedAt);
      }
    };
  queryable.queryRaw = timed(queryable.queryRaw.bind(queryable));
  queryable.executeRaw = timed(queryable.executeRaw.bind(queryable));
  return queryable;
}

/**
 * The adapter factory with every statement observed where the driver runs it. Prisma's own query
 * log would do it too, but it serialises each statement's parameters for the log event: for the
 * megabyte batches of reported runs, that was about 5 % of the service's CPU while it ingested.
 */
function observedAdapter(factory: SqlDriverAdapterFactory, emit: (sql: string, durationMs: number) => void): SqlDriverAdapterFactory {
  const connect = factory.connect.bind(factory);
  factory.connect = async () => {
    const adapter = observeStatements(await connect(), emit);
    const startTransaction = adapter.startTransaction.bind(adapter);
    adapter.startTransaction = async (...args) => observeStatements(await startTransaction(...args), emit);
    return adapter;
  };
  return factory;
}

function fromDriver(driver: Driver): Database {
  const listeners = new Set<StatementListener>();
  const emit = (sql: string, durationMs: number) => {
    for (const listener of listeners) listener(sql, durationMs);
  };
  const prisma = new PrismaClient({ adapter: observedAdapter(driver.adapter, emit) });
  return {
    kind: driver.kind,
    pool: driver.pool,
    prisma,
    migrationAdapter: driver.migrationAdapter,
    ping: () => driver.ping(prisma),
    onStatement(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      await prisma.$disconnect();
      await driver.closeDriver();
    },
  };
}

function acquireListeners() {
  const listeners = new Set<(seconds: number, ok: boolean) => void>();
  return {
    emit(startedAt: number, ok: boolean) {
      const seconds = (performance.now() - startedAt) / 1000;
      for (const listener of listeners) listener(seconds, ok);
    },
    add(listener: (seconds: number, ok: boolean) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/**
 * The embedded database is one connection that runs one call at a time (PGlite's own FIFO mutex
 * around query, exec and transaction). Its "pool" is that connection: the calls Prisma made are
 * queued here in the same order, so the head is the one running, the rest are waiting, and a
 * call's wait is the time from its call until the one before it finished. Bookkeeping only: the
 * calls themselves are passed through unchanged.
 */
function instrumentPglite(pglite: PGlite): ConnectionPool {
  const acquired = acquireListeners();
  let queued = 0;
  // Settles when the latest queued call has finished; the next call's turn starts then.
  let tail: Promise<void> = Promise.resolve();
  const wrap = <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> => {
      const calledAt = performance.now();
      queued += 1;
      const previous = tail;
      let done!: () => void;
      tail = new Promise<void>((resolve) => (done = resolve));
      void previous.then(() => acquired.emit(calledAt, true));
      const result = call(...args);
      void result
        .catch(() => undefined)
        .then(() => previous)
        .then(() => {
          queued -= 1;
          done();
        });
      return result;
    };
  pglite.query = wrap(pglite.query.bind(pglite)) as PGlite['query'];
  pglite.exec = wrap(pglite.exec.bind(pglite)) as PGlite['exec'];
  pglite.transaction = wrap(pglite.transaction.bind(pglite)) as PGlite['transaction'];
  return {
    max: 1,
    total: () => 1,
    idle: () => (queued > 0 ? 0 : 1),
    waiting: () => Math.max(queued - 1, 0),
    onAcquire: acquired.add,
  };
}

/** node-postgres' pool, with every checkout (pool.query checks out through `connect` too) timed. */
function instrumentPgPool(pool: pg.Pool, max: number): ConnectionPool {
  const acquired = acquireListeners();
  const connect = pool.connect.bind(pool) as (callback?: (...args: unknown[]) => void) => Promise<pg.PoolClient> | undefined;
  pool.connect = ((callback?: (error: Error | undefined, ...rest: unknown[]) => void) => {
    const startedAt = performance.now();
    if (callback) {
      return connect((error, ...rest) => {
        acquired.emit(startedAt, !error);
        callback(error as Error | undefined, ...rest);
      });
    }
    return connect()!.then(
      (client) => {
        acquired.emit(startedAt, true);
        return client;
      },
      (error: unknown) => {
        acquired.emit(startedAt, false);
        throw error;
      },
    );
  }) as typeof pool.connect;
  return {
    max,
    total: () => pool.totalCount,
    idle: () => pool.idleCount,
    waiting: () => pool.waitingCount,
    onAcquire: acquired.add,
  };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * PGlite is one PostgreSQL in one process: two processes on one data directory corrupt it.
 * A lock file with the owner's pid keeps a second process (a CLI next to the server) out.
 */
function lockDataDir(dataDir: string): () => void {
  const lockPath = path.join(dataDir, 'tool-catalog.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockPath, String(process.pid), { flag: 'wx' });
      return () => rmSync(lockPath, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number.parseInt(readFileSync(lockPath, 'utf8'), 10);
      if (Number.isInteger(owner) && owner !== process.pid && isRunning(owner)) {
        throw new Error(
          `the embedded database in ${dataDir} is in use by process ${owner} (a running service?); ` +
            'stop it, or use its GraphQL API, or run against PostgreSQL with DATABASE_URL',
        );
      }
      rmSync(lockPath, { force: true }); // left behind by a process that is gone
    }
  }
  throw new Error(`cannot lock ${lockPath}`);
}

async function openPglite(dataDir: string): Promise<Database> {
  let unlock = () => {};
  if (!dataDir.startsWith('memory://')) {
    mkdirSync(dataDir, { recursive: true });
    unlock = lockDataDir(dataDir);
  }
  // Loaded only in embedded mode: a service on a PostgreSQL server does not carry PGlite's memory.
  const [{ PGlite }, { PrismaPGlite }] = await Promise.all([import('@electric-sql/pglite'), import('pglite-prisma-adapter')]);
  let pglite: PGlite;
  try {
    pglite = await PGlite.create(dataDir);
  } catch (error) {
    unlock();
    throw error;
  }
  const pool = instrumentPglite(pglite);
  return fromDriver({
    kind: 'pglite',
    pool,
    adapter: new PrismaPGlite(pglite),
    migrationAdapter: () => new PrismaPGlite(pglite),
    ping: async () => {
      await pglite.query('SELECT 1');
    },
    closeDriver: async () => {
      await pglite.close();
      unlock();
    },
  });
}

function openPostgres(config: Extract<DatabaseConfig, { kind: 'postgres' }>): Database {
  // Prisma 7 with node-postgres waits forever for a pooled connection unless told otherwise, and
  // the server's statement_timeout means nothing when the server itself does not answer (frozen,
  // half-open connection): query_timeout is the client's own deadline on every statement.
  const queryTimeoutMs = config.queryTimeoutMs ?? config.statementTimeoutMs;
  const poolConfig = {
    connectionString: config.url,
    max: config.poolMax,
    connectionTimeoutMillis: Math.min(config.connectTimeoutMs, queryTimeoutMs),
    query_timeout: queryTimeoutMs,
    idleTimeoutMillis: config.idleTimeoutMs,
    statement_timeout: config.statementTimeoutMs,
    application_name: 'tool-catalog',
  };
  // Our own pool, so that its sizes and checkouts can be measured; the adapter ends it on $disconnect.
  const pool = new pg.Pool(poolConfig);
  return fromDriver({
    kind: 'postgres',
    pool: instrumentPgPool(pool, config.poolMax),
    adapter: new PrismaPg(pool, { disposeExternalPool: true }),
    // Migrations may run long statements: the server's statement_timeout bounds them, not the client's deadline.
    migrationAdapter: () => new PrismaPg({ ...poolConfig, max: 2, query_timeout: undefined }),
    ping: async (prisma) => {
      await prisma.$queryRaw`SELECT 1`;
    },
    closeDriver: async () => {},
  });
}

export async function openDatabase(config: DatabaseConfig): Promise<Database> {
  return config.kind === 'pglite' ? openPglite(config.dataDir) : openPostgres(config);
}
