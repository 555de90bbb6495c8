import type { PrismaClient } from '../generated/prisma/client.js';
import { assignUnit } from './experimentCatalog.js';
import type { ArmDefinition, ExperimentDefinition } from './definition.js';
import { emptySummary, type ArmSummary } from './statistics.js';

/**
 * Runs of one unit with one tool version and pattern, summed: what the observation source hands
 * the experiment. The service recomputes the unit's arm itself; a run whose tool does not match its
 * unit's arm is a mismatch, never an observation.
 */
export interface UnitRuns {
  unitId: string;
  toolName: string;
  toolPlatform: string;
  toolVersion: string;
  pattern: string | null;
  runs: number;
  successes: number;
  durationCount: number;
  durationSum: number;
  durationSquares: number;
  costCount: number;
  costSum: number;
  costSquares: number;
}

/** Where the runs come from (the ToolExecution table in the service; plain arrays in tests). */
export interface ObservationSource {
  /** `db`: the request's client (a read transaction's, when the request runs in one). */
  unitRuns(experiment: ExperimentDefinition, db?: PrismaClient): Promise<UnitRuns[]>;
}

export interface ObservedExperiment {
  arms: ArmSummary[];
  /** Runs per arm whose tool (or pattern) is not the arm's: counted, never used as observations. */
  mismatchedRuns: number[];
  /** Runs by units the experiment does not cover (outside every arm's range). */
  outsideRuns: number;
}

const matches = (arm: ArmDefinition, runs: UnitRuns) =>
  arm.toolName === runs.toolName &&
  arm.toolPlatform === runs.toolPlatform &&
  (arm.toolVersion === null || arm.toolVersion === runs.toolVersion) &&
  (arm.pattern === null || arm.pattern === runs.pattern);

/** Per-arm summaries of the metric, from per-unit runs, with each unit's arm recomputed from its id. */
export function summarise(experiment: ExperimentDefinition, rows: readonly UnitRuns[]): ObservedExperiment {
  const arms = experiment.arms.map(() => emptySummary());
  const units = experiment.arms.map(() => new Set<string>());
  const mismatchedRuns = experiment.arms.map(() => 0);
  let outsideRuns = 0;
  const armOf = new Map<string, number | null>();
  for (const row of rows) {
    let armIndex = armOf.get(row.unitId);
    if (armIndex === undefined) armOf.set(row.unitId, (armIndex = assignUnit(experiment, row.unitId).armIndex));
    if (armIndex === null) {
      outsideRuns += row.runs;
      continue;
    }
    if (!matches(experiment.arms[armIndex]!, row)) {
      mismatchedRuns[armIndex]! += row.runs;
      continue;
    }
    const arm = arms[armIndex]!;
    units[armIndex]!.add(row.unitId);
    arm.runs += row.runs;
    arm.successes += row.successes;
    if (experiment.metric === 'SUCCESS_RATE') {
      arm.valueCount += row.runs;
      arm.sum += row.successes;
      arm.sumSquares += row.successes;
    } else if (experiment.metric === 'DURATION') {
      arm.valueCount += row.durationCount;
      arm.sum += row.durationSum;
      arm.sumSquares += row.durationSquares;
    } else {
      arm.valueCount += row.costCount;
      arm.sum += row.costSum;
      arm.sumSquares += row.costSquares;
    }
  }
  arms.forEach((arm, i) => (arm.units = units[i]!.size));
  return { arms, mismatchedRuns, outsideRuns };
}

/** The runs table cannot tie runs to units (no `unitId` column): results cannot be computed. */
export class ObservationsUnavailableError extends Error {
  override name = 'ObservationsUnavailableError';
}

/**
 * Runs from the ToolExecution table: those reported with a `unitId`, for the experiment's
 * capability and platform, since it started (and until it stopped), grouped by unit, tool version
 * and pattern in SQL. The `unitId` column is the one execution reporting stores (issue 15's
 * ExecutionInput.unitId).
 */
export function toolExecutionObservations(prisma: PrismaClient): ObservationSource {
  let hasUnitColumn = false;
  return {
    async unitRuns(experiment, db = prisma) {
      if (!experiment.startedAt) return [];
      // Checked until found (a migration may add it while the service runs), then never again.
      hasUnitColumn ||= (
        await db.$queryRaw<unknown[]>`SELECT 1 FROM information_schema.columns WHERE table_name = 'ToolExecution' AND column_name = 'unitId'`
      ).length > 0;
      if (!hasUnitColumn) {
        throw new ObservationsUnavailableError('runs cannot be tied to units yet: the ToolExecution table has no "unitId" column (execution reporting adds it)');
      }
      const until = experiment.stoppedAt ?? new Date('9999-12-31T00:00:00Z');
      const rows = await db.$queryRaw<Array<Record<string, unknown>>>`
        SELECT e."unitId" AS "unitId", t.name AS "toolName", t.platform AS "toolPlatform", t.version AS "toolVersion",
               e.pattern AS pattern,
               count(*)::int AS runs,
               count(*) FILTER (WHERE e.success)::int AS successes,
               count(e."durationMs")::int AS "durationCount",
               coalesce(sum(e."durationMs"::float8), 0)::float8 AS "durationSum",
               coalesce(sum(e."durationMs"::float8 * e."durationMs"::float8), 0)::float8 AS "durationSquares",
               count(e.cost)::int AS "costCount",
               coalesce(sum(e.cost), 0)::float8 AS "costSum",
               coalesce(sum(e.cost * e.cost), 0)::float8 AS "costSquares"
        FROM "ToolExecution" e JOIN "Tool" t ON t.id = e."toolId"
        WHERE e."unitId" IS NOT NULL
          AND lower(e.capability) = ${experiment.capability}
          AND t.platform = ${experiment.platform}
          AND e."startedAt" >= ${experiment.startedAt}
          AND e."startedAt" <= ${until}
        GROUP BY 1, 2, 3, 4, 5`;
      return rows.map((row) => ({
        unitId: String(row.unitId),
        toolName: String(row.toolName),
        toolPlatform: String(row.toolPlatform),
        toolVersion: String(row.toolVersion),
        pattern: row.pattern === null ? null : String(row.pattern),
        runs: Number(row.runs),
        successes: Number(row.successes),
        durationCount: Number(row.durationCount),
        durationSum: Number(row.durationSum),
        durationSquares: Number(row.durationSquares),
        costCount: Number(row.costCount),
        costSum: Number(row.costSum),
        costSquares: Number(row.costSquares),
      }));
    },
  };
}
