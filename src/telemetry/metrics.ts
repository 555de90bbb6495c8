import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface TelemetryMetrics {
  reported: Counter<'outcome' | 'path'>;
  ingestSeconds: Histogram<'path'>;
  rollupLag: Gauge;
}

/**
 * Telemetry metrics, no per-tool labels. `rollupLagSeconds` reads the age of the oldest roll-up row
 * still waiting to be compacted, as last measured by the compaction job.
 */
export function createTelemetryMetrics(registry: Registry, rollupLagSeconds: () => number): TelemetryMetrics {
  const metrics: TelemetryMetrics = {
    reported: new Counter({
      name: 'tool_catalog_executions_reported_total',
      help: 'Reported runs, by outcome (accepted, duplicate, rejected) and path (graphql, ndjson)',
      labelNames: ['outcome', 'path'],
      registers: [registry],
    }),
    ingestSeconds: new Histogram({
      name: 'tool_catalog_execution_ingest_duration_seconds',
      help: 'Time to validate and store one batch of reported runs, by path',
      labelNames: ['path'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    rollupLag: new Gauge({
      name: 'tool_catalog_telemetry_rollup_lag_seconds',
      help: 'Age of the oldest partial hourly roll-up not yet compacted (0 when all are)',
      registers: [registry],
      collect() {
        this.set(rollupLagSeconds());
      },
    }),
  };
  // Every outcome and path exported at 0 from start-up: the first rejection is an increase Prometheus sees.
  for (const outcome of ['accepted', 'duplicate', 'rejected']) for (const path of ['graphql', 'ndjson']) metrics.reported.inc({ outcome, path }, 0);
  return metrics;
}
