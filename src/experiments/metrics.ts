import { Gauge, type Registry } from 'prom-client';
import type { ExperimentCatalog } from './experimentCatalog.js';
import type { ObservationSource } from './observations.js';
import { experimentResults } from './results.js';

/**
 * Experiment gauges, computed when Prometheus scrapes: no per-experiment labels (an experiment's
 * own figures are in the API), so the series count never grows with the number of experiments.
 */
export function registerExperimentMetrics(registry: Registry, experiments: ExperimentCatalog, observations: ObservationSource): void {
  let alarms = 0;
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
        let count = 0;
        for (const experiment of snapshot.running.values()) {
          if ((await experimentResults(experiment, observations)).srm.alarm) count++;
        }
        alarms = count;
      } catch {
        // The database is unreachable: keep the last value rather than report a false all-clear.
      }
      this.set(alarms);
    },
  });
}
