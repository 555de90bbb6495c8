import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Database } from './db/database.js';

/** One registry per service instance, so tests can build several apps in one process. */
export function createMetricsRegistry(db: Database): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service: 'tool-catalog' });
  collectDefaultMetrics({ register: registry });

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
  return registry;
}
