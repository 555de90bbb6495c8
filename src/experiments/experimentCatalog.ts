import type { CatalogClock } from '../cache/catalogClock.js';
import { TOOL_CONTENT_INCLUDE } from '../catalog/toolContent.js';
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import { compileTool, type MemoryTool, type MemoryToolRow } from '../memoryCatalog/snapshot.js';
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
  byId: ReadonlyMap<string, CompiledExperiment>;
  /** Running experiments by `capability\0platform` (at most one each, by the database's constraint). */
  running: ReadonlyMap<string, CompiledExperiment>;
  all: readonly CompiledExperiment[];
  /**
   * The exact versions that running experiments' arms pin, with their content, compiled as the
   * in-memory catalog compiles its tools (by `pinnedKey`). The in-memory catalog holds only latest
   * versions; these let selection put an older pinned version first for the units of its arm.
   */
  pinned: ReadonlyMap<string, MemoryTool>;
}

export interface CompiledExperiment extends ExperimentDefinition {
  ranges: readonly BucketRange[];
}

const runningKey = (capability: string, platform: string) => `${capability.toLowerCase()}\u0000${platform.toLowerCase()}`;
export const pinnedKey = (name: string, platform: string, version: string) => `${name}\u0000${platform.toLowerCase()}\u0000${version}`;

export function compileSnapshot(
  experiments: readonly ExperimentDefinition[],
  generation: number,
  pinned: ReadonlyMap<string, MemoryTool> = new Map(),
): ExperimentSnapshot {
  const all = experiments.map((e) => ({ ...e, ranges: armRanges(e.arms.map((a) => a.weight), e.coverage) }));
  return {
    generation,
    all,
    byKey: new Map(all.map((e) => [e.key, e])),
    byId: new Map(all.map((e) => [e.id, e])),
    running: new Map(all.filter((e) => e.status === 'RUNNING').map((e) => [runningKey(e.capability, e.platform), e])),
    pinned,
  };
}

/**
 * Loads (one query, only when a running experiment pins versions) the pinned versions' rows with
 * their capabilities and patterns, compiled like the in-memory catalog's tools. A version already
 * compiled in `previous` in the same state is reused.
 */
export async function loadPinnedTools(
  db: PrismaClient | Prisma.TransactionClient,
  experiments: readonly ExperimentDefinition[],
  previous?: ReadonlyMap<string, MemoryTool>,
): Promise<Map<string, MemoryTool>> {
  const wanted = new Map<string, { name: string; platform: string; version: string }>();
  for (const experiment of experiments) {
    if (experiment.status !== 'RUNNING') continue;
    for (const arm of experiment.arms) {
      if (arm.toolVersion !== null) wanted.set(pinnedKey(arm.toolName, arm.toolPlatform, arm.toolVersion), { name: arm.toolName, platform: arm.toolPlatform, version: arm.toolVersion });
    }
  }
  const pinned = new Map<string, MemoryTool>();
  if (!wanted.size) return pinned;
  const rows = await db.tool.findMany({
    where: { deletedAt: null, OR: [...wanted.values()] },
    include: { ...TOOL_CONTENT_INCLUDE, _count: { select: { capabilities: true } } },
  });
  for (const row of rows) {
    const key = pinnedKey(row.name, row.platform, row.version);
    const known = previous?.get(key);
    // Same id, revision, update time and lifecycle: the compiled form is still exact.
    const same = known && known.row.id === row.id && known.row.revision === row.revision && known.row.updatedAt.getTime() === row.updatedAt.getTime() && known.row.status === row.status && known.row.enabled === row.enabled;
    pinned.set(key, same ? known : compileTool(row as MemoryToolRow));
  }
  return pinned;
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
    if (db && db !== this.prisma) {
      const experiments = await loadExperiments(db);
      return compileSnapshot(experiments, generation, await loadPinnedTools(db, experiments, this.#snapshot?.pinned));
    }
    this.#loading ??= loadExperiments(this.prisma)
      .then(async (experiments) => [experiments, await loadPinnedTools(this.prisma, experiments, this.#snapshot?.pinned)] as const)
      .then(([experiments, pinned]) => {
        const snapshot = compileSnapshot(experiments, generation, pinned);
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
  /** The pinned version's row and patterns (compiled), when the arm pins a version and it was found. */
  pinnedTool: MemoryTool | null;
}

/** What the running experiments say about one unit in one decision. */
export type ExperimentDecision =
  | { status: 'NO_EXPERIMENT' }
  | { status: 'ASSIGNED'; arm: ArmChoice }
  | { status: 'NOT_IN_EXPERIMENT'; experimentKey: string; bucket: number; reason: string }
  | { status: 'AMBIGUOUS_PLATFORM'; experimentKeys: string[]; reason: string };

const choice = (snapshot: ExperimentSnapshot, experiment: CompiledExperiment, arm: ArmDefinition, armIndex: number, bucket: number): ArmChoice => ({
  experimentKey: experiment.key,
  armKey: arm.key,
  armIndex,
  bucket,
  tool: { name: arm.toolName, platform: arm.toolPlatform, version: arm.toolVersion },
  pattern: arm.pattern,
  pinnedTool: arm.toolVersion === null ? null : (snapshot.pinned.get(pinnedKey(arm.toolName, arm.toolPlatform, arm.toolVersion)) ?? null),
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
  return { status: 'ASSIGNED', arm: choice(snapshot, experiment, experiment.arms[armIndex]!, armIndex, bucket) };
}

export function assignUnit(experiment: ExperimentDefinition, unitId: string) {
  return assign({ seed: experiment.seed, coverage: experiment.coverage, weights: experiment.arms.map((a) => a.weight) }, unitId);
}
