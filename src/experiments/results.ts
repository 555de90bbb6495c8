import type { PrismaClient } from '../generated/prisma/client.js';
import type { ExperimentDefinition } from './definition.js';
import { summarise, type ObservationSource, type ObservedExperiment } from './observations.js';
import { analyseExperiment, type ExperimentAnalysis } from './statistics.js';

export interface ExperimentResults extends ExperimentAnalysis {
  observed: ObservedExperiment;
}

/** Results of an experiment now: its runs, summarised per arm, through the statistics. */
export async function experimentResults(experiment: ExperimentDefinition, source: ObservationSource, db?: PrismaClient): Promise<ExperimentResults> {
  const observed = summarise(experiment, await source.unitRuns(experiment, db));
  const analysis = analyseExperiment(
    {
      metric: experiment.metric,
      weights: experiment.arms.map((a) => a.weight),
      minimumSampleSize: experiment.minimumSampleSize,
      alpha: experiment.alpha,
      armKeys: experiment.arms.map((a) => a.key),
    },
    observed.arms,
  );
  return { ...analysis, observed };
}
