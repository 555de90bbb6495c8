import type { CatalogClock } from '../cache/catalogClock.js';
import type { PrismaClient } from '../generated/prisma/client.js';
import { assign, armRanges, type BucketRange } from './assignment.js';
import { loadExperiments } from './commands.js';
import type { ArmDefinition, ExperimentDefinition } from './definition.js';

/**
 * Experiments as the decision reads them: every experiment, held in memory and reloaded (one
 * query) when the catalog generation moves — a local change, or another instance's change heard
 * through the change listener. Assignment and the selection's consultation cost no SQL.
 */
export interface ExperimentSnapshot {
  /** Catalog generation the snapshot was loaded at (read before loading, so a change during the load is reloaded). */
  generation: number;
  byKey: ReadonlyMap<string, CompiledExperiment>;
  /** Running experiments by `capability\0platform` (at most one each, by the database's constraint). */
  running: ReadonlyMap<string, CompiledExperiment>;
  all: readonly CompiledExperiment[];
}

export interface CompiledExperiment extends ExperimentDefinition {
  ranges: readonly BucketRange[];
}

const runningKey = (capability: string, platform: string) => `${capability.toLowerCase()}\u0000${platform.toLowerCase()}`;

export function compileSnapshot(experiments: readonly ExperimentDefinition[], generation: number): ExperimentSnapshot {
  const all = experiments.map((e) => ({ ...e, ranges: armRanges(e.arms.map((a) => a.weight), e.coverage) }));
  return {
    generation,
    all,
    byKey: new Map(all.map((e) => [e.key, e])),
    running: new Map(all.filter((e) => e.status === 'RUNNING').map((e) => [runningKey(e.capability, e.platform), e])),
  };
}

export class ExperimentCatalog {
  #snapshot: ExperimentSnapshot | undefined;
  #loading: Promise<ExperimentSnapshot> | undefined;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly clock: CatalogClock,
  ) {}

  /**
   * The experiments as of the current catalog generation; loads them only when it has moved. When
   * the database cannot be read, the last snapshot answers (as selection keeps answering from memory).
   */
  async snapshot(db?: PrismaClient): Promise<ExperimentSnapshot> {
    const generation = this.clock.generation;
    if (this.#snapshot?.generation === generation) return this.#snapshot;
    // Inside a read transaction (a query that also reads other things), read through it: on PGlite
    // another connection would wait for it to end. Its view may predate the generation, so it is
    // used for that request only, never kept.
    if (db && db !== this.prisma) return compileSnapshot(await loadExperiments(db), generation);
    this.#loading ??= loadExperiments(this.prisma)
      .then((experiments) => {
        const snapshot = compileSnapshot(experiments, generation);
        if (!this.#snapshot || this.#snapshot.generation <= generation) this.#snapshot = snapshot;
        return snapshot;
      })
      .finally(() => {
        this.#loading = undefined;
      });
    let loaded: ExperimentSnapshot;
    try {
      loaded = await this.#loading;
    } catch (error) {
      if (this.#snapshot) return this.#snapshot;
      throw error;
    }
    // A load that began before this caller's generation may have missed its change: load again.
    return loaded.generation >= generation ? loaded : this.snapshot(db);
  }

  /** The last snapshot loaded, without waiting (metrics read this). */
  get current(): ExperimentSnapshot | undefined {
    return this.#snapshot;
  }
}

/** How an arm's tool is named for the decision: a pinned version, or null for the latest. */
export interface ArmChoice {
  experimentKey: string;
  armKey: string;
  armIndex: number;
  bucket: number;
  tool: { name: string; platform: string; version: string | null };
  pattern: string | null;
}

/** What the running experiments say about one unit in one decision. */
export type ExperimentDecision =
  | { status: 'NO_EXPERIMENT' }
  | { status: 'ASSIGNED'; arm: ArmChoice }
  | { status: 'NOT_IN_EXPERIMENT'; experimentKey: string; bucket: number; reason: string }
  | { status: 'AMBIGUOUS_PLATFORM'; experimentKeys: string[]; reason: string };

const choice = (experiment: CompiledExperiment, arm: ArmDefinition, armIndex: number, bucket: number): ArmChoice => ({
  experimentKey: experiment.key,
  armKey: arm.key,
  armIndex,
  bucket,
  tool: { name: arm.toolName, platform: arm.toolPlatform, version: arm.toolVersion },
  pattern: arm.pattern,
});

/**
 * The one question selection asks (pure, no I/O): is this unit in the running experiment for this
 * capability (and platform), and if so, which arm's tool should come first? Without a platform,
 * the capability's running experiment is used when there is exactly one across platforms.
 */
export function experimentDecision(
  snapshot: ExperimentSnapshot,
  request: { capability: string; platform?: string | null; unitId: string },
): ExperimentDecision {
  let experiment: CompiledExperiment | undefined;
  if (request.platform) experiment = snapshot.running.get(runningKey(request.capability, request.platform));
  else {
    const capability = request.capability.toLowerCase();
    const matches = [...snapshot.running.values()].filter((e) => e.capability === capability);
    if (matches.length > 1) {
      return {
        status: 'AMBIGUOUS_PLATFORM',
        experimentKeys: matches.map((e) => e.key),
        reason: `experiments run for ${capability} on several platforms (${matches.map((e) => e.platform).join(', ')}); pass a platform`,
      };
    }
    experiment = matches[0];
  }
  if (!experiment) return { status: 'NO_EXPERIMENT' };
  const { bucket, armIndex } = assignUnit(experiment, request.unitId);
  if (armIndex === null) {
    return {
      status: 'NOT_IN_EXPERIMENT',
      experimentKey: experiment.key,
      bucket,
      reason: `unit's bucket ${bucket} is outside the ${Math.round(experiment.coverage * 100)} % of units that experiment ${experiment.key} covers`,
    };
  }
  return { status: 'ASSIGNED', arm: choice(experiment, experiment.arms[armIndex]!, armIndex, bucket) };
}

export function assignUnit(experiment: ExperimentDefinition, unitId: string) {
  return assign({ seed: experiment.seed, coverage: experiment.coverage, weights: experiment.arms.map((a) => a.weight) }, unitId);
}
