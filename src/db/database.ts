import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { mkdirSync } from 'node:fs';
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

function attachStatementEvents(prisma: LoggingClient, listeners: Set<StatementListener>) {
  prisma.$on('query', (event) => {
    for (const listener of listeners) listener(event.query, event.duration);
  });
}

function newClient(adapter: PrismaPg | PrismaPGlite): LoggingClient {
  return new PrismaClient({ adapter, log: [{ emit: 'event', level: 'query' }] });
}

async function openPglite(dataDir: string): Promise<Database> {
  if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true });
  const pglite = await PGlite.create(dataDir);
  const prisma = newClient(new PrismaPGlite(pglite));
  const listeners = new Set<StatementListener>();
  attachStatementEvents(prisma, listeners);
  return {
    kind: 'pglite',
    prisma,
    migrationAdapter: () => new PrismaPGlite(pglite),
    ping: async () => {
      await pglite.query('SELECT 1');
    },
    onStatement(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      await prisma.$disconnect();
      await pglite.close();
    },
  };
}

async function openPostgres(config: Extract<DatabaseConfig, { kind: 'postgres' }>): Promise<Database> {
  // Prisma 7 with node-postgres waits forever for a pooled connection unless told otherwise.
  const poolConfig = {
    connectionString: config.url,
    max: config.poolMax,
    connectionTimeoutMillis: config.connectTimeoutMs,
    idleTimeoutMillis: config.idleTimeoutMs,
    statement_timeout: config.statementTimeoutMs,
    application_name: 'tool-catalog',
  };
  const prisma = newClient(new PrismaPg(poolConfig));
  const listeners = new Set<StatementListener>();
  attachStatementEvents(prisma, listeners);
  return {
    kind: 'postgres',
    prisma,
    migrationAdapter: () => new PrismaPg({ ...poolConfig, max: 2 }),
    ping: async () => {
      await prisma.$queryRaw`SELECT 1`;
    },
    onStatement(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      await prisma.$disconnect();
    },
  };
}

export function openDatabase(config: DatabaseConfig): Promise<Database> {
  return config.kind === 'pglite' ? openPglite(config.dataDir) : openPostgres(config);
}
