import type { Registry } from 'prom-client';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { Logger } from '../logger.js';
import { ExecutionIngestor, type DecisionResolver } from './ingest.js';
import { TelemetryMaintenance, type TelemetryRetention } from './maintenance.js';
import { createTelemetryMetrics } from './metrics.js';
import { ObservedPerformanceView } from './observedPerformance.js';
import { RollupReader } from './rollupReader.js';
import { DEFAULT_DRIFT_RULE, type DriftRule } from './stats.js';
import { TelemetryClock } from './telemetryClock.js';

export interface TelemetryConfig {
  retention: TelemetryRetention;
  drift: DriftRule;
}

export const DEFAULT_TELEMETRY: TelemetryConfig = {
  retention: { rawMs: 30 * 86_400_000, rollupMs: 400 * 86_400_000 },
  drift: DEFAULT_DRIFT_RULE,
};

/** Everything one service instance needs for execution telemetry. Nothing runs until `start`. */
export interface Telemetry {
  clock: TelemetryClock;
  ingestor: ExecutionIngestor;
  maintenance: TelemetryMaintenance;
  /** Merged roll-ups per tool version or pattern, with a bounded cache of merged sketches (never stale). */
  rollups: RollupReader;
  /** Per-pattern observed performance for selection: `observedPerformance.get(toolId, capability, pattern)`. */
  observedPerformance: ObservedPerformanceView;
  drift: DriftRule;
  /** Starts compaction, pruning and the observed-performance view's refreshes. */
  start(): void;
  stop(): void;
}

export function createTelemetry(
  prisma: PrismaClient,
  deps: { registry: Registry; log: Logger; config?: TelemetryConfig; /** Attributes decision-only runs to experiment units. */ decisions?: DecisionResolver },
): Telemetry {
  const config = deps.config ?? DEFAULT_TELEMETRY;
  const clock = new TelemetryClock();
  const maintenance = new TelemetryMaintenance(prisma, { retention: config.retention, log: deps.log });
  const metrics = createTelemetryMetrics(deps.registry, () => maintenance.lagSeconds());
  const ingestor = new ExecutionIngestor(prisma, { clock, metrics, retentionMs: config.retention.rawMs, decisions: deps.decisions, onStored: () => maintenance.notePending() });
  const rollups = new RollupReader();
  const observedPerformance = new ObservedPerformanceView(prisma, clock, rollups, { log: deps.log });
  return {
    clock,
    ingestor,
    maintenance,
    rollups,
    observedPerformance,
    drift: config.drift,
    start() {
      maintenance.start();
      observedPerformance.start();
    },
    stop() {
      maintenance.stop();
      observedPerformance.stop();
    },
  };
}

export type { ObservedPerformance } from './observedPerformance.js';
export type { DecisionAttribution, DecisionResolver } from './ingest.js';
export type { ExecutionStats, DriftRule } from './stats.js';
export type { StatsWindow } from './windows.js';
