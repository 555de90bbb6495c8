import { Gauge, type Registry } from 'prom-client';
import type { ExperimentCatalog } from './experimentCatalog.js';
import type { ObservationSource } from './observations.js';
import { experimentResults } from './results.js';

/**
 * Experiment gauges, computed when Prometheus scrapes: no per-experiment labels (an experiment's
 * own figures are in the API), so the series count never grows with the number of experiments.
 */
/** SRM figures need each running experiment's runs: recomputed at most this often, whatever the scrape rate. */
const SRM_REFRESH_MS = 60_000;

export function registerExperimentMetrics(registry: Registry, experiments: ExperimentCatalog, observations: ObservationSource): void {
  let alarms = 0;
  let computedAt = -Infinity;
  let computedGeneration = -1;
  new Gauge({
    name: 'tool_catalog_experiments_running',
    help: 'Experiments in the RUNNING state',
    registers: [registry],
    async collect() {
      const snapshot = await experiments.snapshot().catch(() => experiments.current);
      if (snapshot) this.set(snapshot.running.size);
    },
  });
  new Gauge({
    name: 'tool_catalog_experiment_srm_alarms',
    help: 'Running experiments whose units do not follow the configured weights (sample-ratio mismatch, chi-square p < 0.001)',
    registers: [registry],
    async collect() {
      try {
        const snapshot = await experiments.snapshot();
        // A start or stop shows at once; new runs within SRM_REFRESH_MS.
        if (snapshot.generation === computedGeneration && performance.now() - computedAt < SRM_REFRESH_MS) {
          this.set(alarms);
          return;
        }
        let count = 0;
        for (const experiment of snapshot.running.values()) {
          if ((await experimentResults(experiment, observations)).srm.alarm) count++;
        }
        alarms = count;
        computedAt = performance.now();
        computedGeneration = snapshot.generation;
      } catch {
        // The database is unreachable: keep the last value rather than report a false all-clear.
      }
      this.set(alarms);
    },
  });
}
