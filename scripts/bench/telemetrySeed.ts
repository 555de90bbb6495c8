// Seeds a telemetry benchmark database with millions of runs without going through the service:
// runs are generated here, deterministically, hour by hour; raw rows go to "ToolExecution" in
// bulk (INSERT ... SELECT FROM unnest of column arrays, 20,000 rows a statement, two statements in
// flight), and the same runs' roll-ups are accumulated here and written as the compaction job
// would leave them (compacted hourly rows plus one daily row per pattern and day), with the
// service's own roll-up serialisation. Raw rows and roll-ups hold exactly the same runs, so the API's
// percentiles can be checked against PostgreSQL's over the raw rows.
import pg from 'pg';
import { estimateVariables, evaluateEstimate } from '../../src/catalog/expressions.js';
import type { PrismaClient } from '../../src/generated/prisma/client.js';
import { StatsAccumulator } from '../../src/telemetry/accumulator.js';
import { patternEstimates, RUN_COLUMNS, type PatternEstimates } from '../../src/telemetry/ingest.js';
import { dayOf, insertDailyRollups, insertHourlyRollups, rollupRecord } from '../../src/telemetry/rollupStore.js';
import { random } from './seededRandom.js';

const HOUR_MS = 3_600_000;
const RAW_BATCH = 20_000;

export interface SeedPattern extends PatternEstimates {
  toolId: string;
  patternId: string;
  capability: string;
  pattern: string;
}

/** Every pattern of the catalog with its compiled estimates, the busiest first: the only pattern of a one-pattern tool version. */
export async function seedPatterns(prisma: PrismaClient): Promise<SeedPattern[]> {
  const tools = await prisma.tool.findMany({
    where: { deletedAt: null },
    orderBy: [{ name: 'asc' }, { platform: 'asc' }, { version: 'asc' }],
    select: { id: true, capabilities: { orderBy: { name: 'asc' }, select: { name: true, patterns: { orderBy: { name: 'asc' } } } } },
  });
  const patterns = tools.flatMap((tool) =>
    tool.capabilities.flatMap((capability) =>
      capability.patterns.map((p) => ({
        toolId: tool.id,
        patternId: p.id,
        capability: capability.name,
        pattern: p.name,
        ...patternEstimates(p),
        alone: capability.patterns.length === 1 && tool.capabilities.length === 1,
      })),
    ),
  );
  const first = patterns.findIndex((p) => p.alone && p.time);
  if (first > 0) patterns.unshift(...patterns.splice(first, 1));
  return patterns.map(({ alone: _alone, ...p }) => p);
}

export interface SeedOptions {
  runs: number;
  /** Runs start within this many days before now. */
  days: number;
  /** Write roll-ups only (no raw rows): the reads do not need them, the accuracy check does. */
  rollupsOnly: boolean;
  seed: number;
  progress(line: string): void;
}

/** One run's numbers: log-normal durations around the estimate (one pattern in five runs 3 × slower), 95 % successes. */
function makeRun(next: () => number, patterns: SeedPattern[]) {
  // Skewed: the first patterns are the busiest (index 0 takes ~6 % of all runs with 265 patterns).
  const index = Math.min(patterns.length - 1, Math.floor(patterns.length * next() ** 2));
  const pattern = patterns[index]!;
  const variables = { N: 1 + Math.floor(next() * 500) };
  const values = estimateVariables(pattern.inputs as never, variables);
  const estimate = pattern.time ? evaluateEstimate(pattern.time, values) : null;
  const estimatedTimeMs = estimate?.ok && estimate.value > 0 ? estimate.value : null;
  const costEstimate = pattern.cost ? evaluateEstimate(pattern.cost, values) : null;
  const median = (estimatedTimeMs ?? 50 + (index % 17) * 40) * (index % 5 === 1 ? 3 : 1);
  const u = Math.max(next(), 1e-12);
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
  const durationMs = Math.round(median * Math.exp(0.5 * z) * 100) / 100;
  const cost = Math.round(next() * 10_000) / 100;
  return {
    pattern,
    variables,
    success: next() < 0.95,
    durationMs,
    cost,
    estimatedTimeMs,
    estimatedCost: costEstimate?.ok ? costEstimate.value : null,
  };
}

/** Ingestion's own columns, in its order, less those a seeded run leaves empty. */
const LEFT_EMPTY = new Set(['errorType', 'errorMessage', 'environment', 'decisionId', 'unitId']);
const COLUMNS = RUN_COLUMNS.filter(([name]) => !LEFT_EMPTY.has(name));

const INSERT_RAW = `
  INSERT INTO "ToolExecution" ("id", ${COLUMNS.map(([name]) => `"${name}"`).join(', ')}, "reportedBy")
  SELECT gen_random_uuid(), r.*, 'bench-seed'
  FROM unnest(${COLUMNS.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ')}) AS r`;

/**
 * Seeds `options.runs` runs spread evenly over the last `options.days` days (the newest a minute
 * ago). Returns the number of raw rows and roll-up rows written.
 */
export async function seedTelemetry(prisma: PrismaClient, databaseUrl: string, patterns: SeedPattern[], options: SeedOptions) {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  const next = random(options.seed);
  const end = Math.floor((Date.now() - 60_000) / HOUR_MS) * HOUR_MS;
  const hours = options.days * 24;
  const start = end - (hours - 1) * HOUR_MS;
  const inFlight = new Set<Promise<unknown>>();
  let columns: unknown[][] = COLUMNS.map(() => []);
  let rows = 0;
  let rollups = 0;
  let written = 0;
  const flushRaw = async () => {
    if (columns[0]!.length === 0) return;
    const values = columns;
    columns = COLUMNS.map(() => []);
    while (inFlight.size >= 2) await Promise.race(inFlight);
    const insert: Promise<unknown> = pool.query(INSERT_RAW, values).finally(() => inFlight.delete(insert));
    inFlight.add(insert);
  };
  let day = new Map<string, { toolId: string; patternId: string; acc: StatsAccumulator }>();
  let currentDay = dayOf(start).getTime();
  const flushDay = async () => {
    const records = [...day.values()].map(({ acc, ...owner }) => rollupRecord(owner, new Date(currentDay), acc));
    if (records.length) rollups += await insertDailyRollups(prisma, records);
    day = new Map();
  };
  try {
    for (let h = 0; h < hours; h++) {
      const hourStart = start + h * HOUR_MS;
      if (dayOf(hourStart).getTime() !== currentDay) {
        await flushDay();
        currentDay = dayOf(hourStart).getTime();
      }
      const count = Math.floor(((h + 1) * options.runs) / hours) - Math.floor((h * options.runs) / hours);
      const hour = new Map<string, { toolId: string; patternId: string; acc: StatsAccumulator }>();
      for (let i = 0; i < count; i++) {
        const run = makeRun(next, patterns);
        const startedAt = new Date(hourStart + Math.floor(next() * HOUR_MS));
        const { toolId, patternId } = run.pattern;
        const rolled = { success: run.success, durationMs: run.durationMs, cost: run.cost, estimatedTimeMs: run.estimatedTimeMs, startedAt };
        for (const groups of [hour, day]) {
          let group = groups.get(patternId);
          if (!group) groups.set(patternId, (group = { toolId, patternId, acc: new StatsAccumulator() }));
          group.acc.addRun(rolled);
        }
        if (!options.rollupsOnly) {
          const values = [
            `seed-${written + i}`,
            toolId,
            patternId,
            run.pattern.capability,
            run.pattern.pattern,
            run.success,
            run.durationMs,
            run.cost,
            run.estimatedTimeMs,
            run.estimatedCost,
            run.estimatedTimeMs === null ? null : run.durationMs - run.estimatedTimeMs,
            run.estimatedCost === null ? null : run.cost - run.estimatedCost,
            JSON.stringify(run.variables),
            startedAt.toISOString(),
          ];
          values.forEach((value, c) => columns[c]!.push(value));
          if (columns[0]!.length >= RAW_BATCH) await flushRaw();
          rows += 1;
        }
      }
      written += count;
      const records = [...hour.values()].map(({ acc, ...owner }) => rollupRecord(owner, new Date(hourStart), acc));
      if (records.length) rollups += await insertHourlyRollups(prisma, records, true);
      if (Math.floor(written / 1_000_000) !== Math.floor((written - count) / 1_000_000)) options.progress(`seeded ${written.toLocaleString('en')} runs`);
    }
    await flushDay();
    await flushRaw();
    await Promise.all(inFlight);
  } finally {
    await Promise.allSettled(inFlight);
    await pool.end();
  }
  return { rows, rollups };
}
