import type { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type { PrismaPGlite } from 'pglite-prisma-adapter';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PrismaClient } from '../generated/prisma/client.js';
import type { Config } from '../config.js';

export type DatabaseConfig = Config['database'];

/** Observes every SQL statement Prisma sends; tests and metrics subscribe to it. */
export type StatementListener = (sql: string, durationMs: number) => void;

export interface Database {
  readonly kind: DatabaseConfig['kind'];
  readonly prisma: PrismaClient;
  /** A fresh adapter factory for Prisma's schema engine (migrations, diff). */
  migrationAdapter(): SqlMigrationAwareDriverAdapterFactory;
  /** Runs a real round trip to the database; rejects when it is unreachable. */
  ping(): Promise<void>;
  onStatement(listener: StatementListener): () => void;
  close(): Promise<void>;
}

type LoggingClient = PrismaClient<'query'>;

/** What differs between the two kinds of database; the rest of `Database` is built from it. */
interface Driver {
  kind: DatabaseConfig['kind'];
  adapter: PrismaPg | PrismaPGlite;
  migrationAdapter(): SqlMigrationAwareDriverAdapterFactory;
  ping(prisma: LoggingClient): Promise<void>;
  closeDriver(): Promise<void>;
}

function fromDriver(driver: Driver): Database {
  const prisma: LoggingClient = new PrismaClient({ adapter: driver.adapter, log: [{ emit: 'event', level: 'query' }] });
  const listeners = new Set<StatementListener>();
  prisma.$on('query', (event) => {
    for (const listener of listeners) listener(event.query, event.duration);
  });
  return {
    kind: driver.kind,
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
  return fromDriver({
    kind: 'pglite',
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
  return fromDriver({
    kind: 'postgres',
    // The adapter owns its pool and ends it on $disconnect.
    adapter: new PrismaPg(poolConfig),
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
