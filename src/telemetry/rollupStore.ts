import { Prisma, type PrismaClient } from '../generated/prisma/client.js';
import type { RollupCounts, StatsAccumulator } from './accumulator.js';
import { encodeSketch } from './sketches.js';

type Sql = Pick<PrismaClient, '$executeRaw' | '$queryRaw'>;

export const DAY_MS = 86_400_000;

export function dayOf(at: Date | number): Date {
  const ms = typeof at === 'number' ? at : at.getTime();
  return new Date(Math.floor(ms / DAY_MS) * DAY_MS);
}

/** One roll-up row ready to insert: sketches as protobuf in base64, times in ISO. */
export interface RollupRecord extends RollupCounts {
  toolId: string;
  patternId: string;
  /** Start of the hour (hourly roll-ups) or of the day (daily roll-ups). */
  at: string;
  durationSketch: string;
  estimateSketch: string | null;
  ratioSketch: string | null;
  lastRunAt: string;
}

/** The row of one pattern for one hour or day, from what was accumulated for it. */
export function rollupRecord(owner: { toolId: string; patternId: string }, at: Date, acc: StatsAccumulator): RollupRecord {
  return {
    toolId: owner.toolId,
    patternId: owner.patternId,
    at: at.toISOString(),
    runs: acc.runs,
    successes: acc.successes,
    durationSumMs: acc.durationSumMs,
    costRuns: acc.costRuns,
    costSum: acc.costSum,
    estimatedRuns: acc.estimatedRuns,
    durationSketch: encodeSketch(acc.duration).toString('base64'),
    estimateSketch: acc.estimatedRuns ? encodeSketch(acc.estimate).toString('base64') : null,
    ratioSketch: acc.estimatedRuns ? encodeSketch(acc.ratio).toString('base64') : null,
    lastRunAt: acc.lastRunAt!.toISOString(),
  };
}

/** `SELECT <columns> FROM <records>`: the records as a relation, sketches decoded to bytea. */
function recordsRelation(records: readonly RollupRecord[]): Prisma.Sql {
  return Prisma.sql`
    SELECT r."toolId", r."patternId", r."at", r."runs", r."successes", r."durationSumMs", r."costRuns", r."costSum", r."estimatedRuns",
      decode(r."durationSketch", 'base64') AS "durationSketch", decode(r."estimateSketch", 'base64') AS "estimateSketch",
      decode(r."ratioSketch", 'base64') AS "ratioSketch", r."lastRunAt"
    FROM jsonb_to_recordset(${JSON.stringify(records)}::jsonb) AS r("toolId" uuid, "patternId" uuid, "at" timestamp(3), "runs" int,
      "successes" int, "durationSumMs" float8, "costRuns" int, "costSum" float8, "estimatedRuns" int, "durationSketch" text,
      "estimateSketch" text, "ratioSketch" text, "lastRunAt" timestamp(3))`;
}

/** The columns an hourly roll-up row is inserted with, in `recordsRelation`'s order, then "compacted". */
export const HOURLY_ROLLUP_COLUMNS = Prisma.raw(
  '"toolId", "patternId", "hour", "runs", "successes", "durationSumMs", "costRuns", "costSum", "estimatedRuns", "durationSketch", "estimateSketch", "ratioSketch", "lastRunAt", "compacted"',
);

/** The hourly roll-up rows of `records` as a relation (the columns of HOURLY_ROLLUP_COLUMNS). */
export function hourlyRollupRows(records: readonly RollupRecord[], compacted: boolean): Prisma.Sql {
  return Prisma.sql`SELECT *, ${compacted}::boolean AS "compacted" FROM (${recordsRelation(records)}) AS records`;
}

/** Inserts hourly roll-ups: partials from ingestion (`compacted` false) or merged ones from compaction. */
export function insertHourlyRollups(sql: Sql, records: readonly RollupRecord[], compacted: boolean): Promise<number> {
  return sql.$executeRaw`INSERT INTO "ExecutionRollup" (${HOURLY_ROLLUP_COLUMNS}) ${hourlyRollupRows(records, compacted)}`;
}

/** Inserts daily roll-ups (the caller has deleted the rows they replace). */
export function insertDailyRollups(sql: Sql, records: readonly RollupRecord[]): Promise<number> {
  return sql.$executeRaw`
    INSERT INTO "ExecutionRollupDaily" ("toolId", "patternId", "day", "runs", "successes", "durationSumMs", "costRuns", "costSum",
      "estimatedRuns", "durationSketch", "estimateSketch", "ratioSketch", "lastRunAt")
    ${recordsRelation(records)}`;
}

/** The columns every roll-up read takes, from a row aliased `r`. */
export const ROLLUP_FIGURES = Prisma.sql`r."runs", r."successes", r."durationSumMs", r."costRuns", r."costSum", r."estimatedRuns", r."lastRunAt"`;
export const ROLLUP_SKETCHES = Prisma.sql`r."durationSketch", r."estimateSketch", r."ratioSketch"`;

/**
 * The roll-up rows that cover, each run exactly once, every run started from `from` (an hour; null:
 * every row kept), as one relation with columns level ('d' daily, 'h' hourly), id, "at" (its hour
 * or day), "compacted" (true for daily rows), "toolId", "patternId", the figures and (with
 * `sketches`) the three sketches. `filter` (a condition on
 * "toolId"/"patternId") is applied in each part, so the indexes serve it.
 *
 * Compaction adds every hour it compacts to that hour's daily row in the same transaction, so a
 * compacted hourly row is always in its day and a waiting (uncompacted) one never is. Hence:
 * - whole days from the first midnight at or after `from`: daily rows, plus hourly rows still waiting;
 * - the hours before that midnight (at most 23): hourly rows, compacted or not.
 * A 30-day read so takes ~31 daily + ≤23 hourly rows per pattern (+ the few waiting), not 720.
 */
export function windowRollups(from: Date | null, options: { sketches: boolean; filter?: Prisma.Sql }): Prisma.Sql {
  const columns = options.sketches ? Prisma.sql`${ROLLUP_FIGURES}, ${ROLLUP_SKETCHES}` : ROLLUP_FIGURES;
  const filter = options.filter ?? Prisma.sql`TRUE`;
  const hourly = (condition: Prisma.Sql) =>
    Prisma.sql`SELECT 'h'::text AS level, r."id", r."hour" AS "at", r."compacted", r."toolId", r."patternId", ${columns}
      FROM "ExecutionRollup" r WHERE ${condition} AND ${filter}`;
  const daily = (condition: Prisma.Sql) =>
    Prisma.sql`SELECT 'd'::text AS level, r."id", r."day" AS "at", TRUE AS "compacted", r."toolId", r."patternId", ${columns}
      FROM "ExecutionRollupDaily" r WHERE ${condition} AND ${filter}`;
  if (from === null) return Prisma.sql`${hourly(Prisma.sql`NOT r."compacted"`)} UNION ALL ${daily(Prisma.sql`TRUE`)}`;
  const wholeDays = dayOf(from.getTime() + DAY_MS - 1);
  const parts = [hourly(Prisma.sql`r."hour" >= ${wholeDays} AND NOT r."compacted"`), daily(Prisma.sql`r."day" >= ${wholeDays}`)];
  if (wholeDays > from) parts.push(hourly(Prisma.sql`r."hour" >= ${from} AND r."hour" < ${wholeDays}`));
  return Prisma.join(parts, ' UNION ALL ');
}
