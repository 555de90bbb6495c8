import type { PrismaClient } from '../generated/prisma/client.js';
import type { DriftRule, ExecutionStats } from './accumulator.js';
import type { RollupReader } from './rollupReader.js';
import { windowRollups } from './rollupStore.js';
import { windowStart, type StatsWindow } from './windows.js';

export { DEFAULT_DRIFT_RULE, EMPTY_STATS, StatsAccumulator, type DriftRule, type ExecutionStats, type RollupRow } from './accumulator.js';

type Sql = Pick<PrismaClient, '$queryRaw'>;

/** Stats of several tool versions (`by: 'tool'`) or patterns (`by: 'pattern'`) over one window. */
export async function loadExecutionStats(
  sql: Sql,
  reader: RollupReader,
  by: 'tool' | 'pattern',
  window: StatsWindow,
  ids: readonly string[],
  rule: DriftRule,
  now = Date.now(),
): Promise<Map<string, ExecutionStats>> {
  const merged = await reader.merge(sql, { by, window, ids, now });
  return new Map([...merged].map(([id, acc]) => [id, acc.stats(rule)]));
}

export interface PatternName {
  toolId: string;
  capability: string;
  pattern: string;
}

/** Tool version, capability and pattern names of pattern ids (patterns since removed are left out). */
export async function patternNames(sql: Sql, patternIds: readonly string[]): Promise<Map<string, PatternName>> {
  if (patternIds.length === 0) return new Map();
  const rows = await sql.$queryRaw<Array<PatternName & { patternId: string }>>`
    SELECT p."id"::text AS "patternId", c."toolId"::text AS "toolId", c."name" AS capability, p."name" AS pattern
    FROM "Pattern" p JOIN "Capability" c ON c."id" = p."capabilityId" WHERE p."id" = ANY(${[...patternIds]}::uuid[])`;
  return new Map(rows.map(({ patternId, ...name }) => [patternId, name]));
}

export interface DriftingPattern {
  toolId: string;
  patternId: string;
  capability: string;
  pattern: string;
  runs: number;
  estimatedRuns: number;
  observedMedianMs: number;
  estimatedMedianMs: number;
  medianRatio: number;
  drift: number;
}

/**
 * Patterns whose observed time differs from their estimate by more than the rule allows over the
 * window, worst first. Patterns without enough estimated runs are left out in SQL, before any
 * sketch is read; the others' merged sketches usually come from the reader's cache.
 */
export async function driftingPatterns(sql: Sql, reader: RollupReader, window: StatsWindow, rule: DriftRule, now = Date.now()): Promise<DriftingPattern[]> {
  const merged = await reader.merge(sql, { by: 'pattern', window, minEstimatedRuns: Math.max(1, rule.minRuns), now });
  const found: Array<{ patternId: string; stats: ExecutionStats }> = [];
  for (const [patternId, acc] of merged) {
    const stats = acc.stats(rule);
    if (stats.drifting && stats.estimateError && stats.durationMs) found.push({ patternId, stats });
  }
  const names = await patternNames(sql, found.map((f) => f.patternId));
  const drifting: DriftingPattern[] = [];
  for (const { patternId, stats } of found) {
    const name = names.get(patternId);
    if (!name) continue;
    drifting.push({
      ...name,
      patternId,
      runs: stats.runs,
      estimatedRuns: stats.estimateError!.runs,
      observedMedianMs: stats.durationMs!.p50,
      estimatedMedianMs: stats.estimateError!.estimatedMedianMs,
      medianRatio: stats.estimateError!.medianRatio,
      drift: stats.drift!,
    });
  }
  return drifting.sort((a, b) => Math.abs(b.drift) - Math.abs(a.drift) || a.patternId.localeCompare(b.patternId));
}

export interface FailingTool {
  toolId: string;
  runs: number;
  successes: number;
  successRate: number;
}

/** Tool versions with at least `minRuns` runs in the window whose success rate is below `maxSuccessRate`, worst first. Counts only: no sketch is read. */
export async function failingTools(sql: Sql, window: StatsWindow, minRuns: number, maxSuccessRate: number, now = Date.now()): Promise<FailingTool[]> {
  const rows = await sql.$queryRaw<Array<{ toolId: string; runs: bigint; successes: bigint }>>`
    SELECT w."toolId"::text AS "toolId", sum(w."runs") AS runs, sum(w."successes") AS successes
    FROM (${windowRollups(windowStart(window, now), { sketches: false })}) w
    GROUP BY w."toolId"
    HAVING sum(w."runs") >= ${minRuns} AND sum(w."successes")::float8 / sum(w."runs") < ${maxSuccessRate}
    ORDER BY sum(w."successes")::float8 / sum(w."runs"), w."toolId"`;
  return rows.map((row) => ({
    toolId: row.toolId,
    runs: Number(row.runs),
    successes: Number(row.successes),
    successRate: Number(row.successes) / Number(row.runs),
  }));
}
