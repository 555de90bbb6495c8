import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTool } from '../src/catalog/toolCommands.js';
import { StatsAccumulator, type RollupRow } from '../src/telemetry/accumulator.js';
import { ExecutionIngestor } from '../src/telemetry/ingest.js';
import { compactRollups } from '../src/telemetry/maintenance.js';
import { RollupReader } from '../src/telemetry/rollupReader.js';
import { dayOf, windowRollups } from '../src/telemetry/rollupStore.js';
import { DEFAULT_DRIFT_RULE, driftingPatterns, failingTools, loadExecutionStats } from '../src/telemetry/stats.js';
import { TelemetryClock } from '../src/telemetry/telemetryClock.js';
import { STATS_WINDOWS, windowStart, type StatsWindow } from '../src/telemetry/windows.js';
import { random } from '../scripts/bench/seededRandom.js';
import { startTestService, type TestService } from './support/service.js';

// Daily roll-ups and the cache of merged sketches are shortcuts: every answer they give must be
// the answer the hourly roll-ups alone give for the same runs. Runs spread over 29 days are
// reported, compacted (which builds the days), reported late into compacted days, re-folded as
// after the migration, and pruned; at each step every window is compared with a merge of the
// hourly rows only.
const DAY = 86_400_000;
let service: TestService;
let toolId: string;
let patternIds: string[];
const rule = DEFAULT_DRIFT_RULE;


const next = random(15);
let counter = 0;
/**
 * Runs of the three patterns, started within [now - olderThan - span, now - olderThan), clustered
 * around 60 instants (a few minutes each) so that many runs share a roll-up row, as they do in
 * production, and the test stays quick on an embedded database.
 */
function runs(count: number, span: number, olderThan = 60_000) {
  const now = Date.now();
  const instants = Array.from({ length: 60 }, (_, k) => now - olderThan - (k === 0 ? 0 : Math.floor(next() * span)));
  return Array.from({ length: count }, () => {
    const instant = instants[Math.floor(next() * instants.length)]!;
    const pattern = ['fast', 'slow', 'plain'][Math.floor(next() * 3)]!;
    const u = Math.max(next(), 1e-12);
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
    return {
      executionId: `rollup-${counter++}`,
      toolId,
      capability: 'fold',
      pattern,
      startedAt: new Date(Math.max(now - olderThan - span, instant - Math.floor(next() * 300_000))).toISOString(),
      durationMs: Math.round((pattern === 'slow' ? 400 : 90) * Math.exp(0.5 * z) * 100) / 100,
      success: next() < (pattern === 'plain' ? 0.6 : 0.97),
      cost: pattern === 'plain' ? null : Math.round(next() * 500) / 100,
      variables: { N: 1 + Math.floor(next() * 50) },
    };
  });
}

let ingestor: ExecutionIngestor;
async function report(items: unknown[]) {
  for (let i = 0; i < items.length; i += 1000) {
    const summary = await ingestor.ingest(items.slice(i, i + 1000), 'graphql', 'test');
    expect(summary.rejected).toBe(0);
  }
}

/** The reference: every hourly row (partial or compacted) whose hour is in the window, merged. */
async function hourlyOnly(by: 'tool' | 'pattern', window: StatsWindow, now: number) {
  const from = windowStart(window, now) ?? new Date(0);
  const rows = await service.db.prisma.$queryRaw<Array<RollupRow & { toolId: string; patternId: string }>>`
    SELECT "toolId"::text AS "toolId", "patternId"::text AS "patternId", "runs", "successes", "durationSumMs", "costRuns", "costSum",
      "estimatedRuns", "durationSketch", "estimateSketch", "ratioSketch", "lastRunAt"
    FROM "ExecutionRollup" WHERE "hour" >= ${from}`;
  const merged = new Map<string, StatsAccumulator>();
  for (const row of rows) {
    const owner = by === 'tool' ? row.toolId : row.patternId;
    let acc = merged.get(owner);
    if (!acc) merged.set(owner, (acc = new StatsAccumulator()));
    acc.add(row);
  }
  return merged;
}

/** Sums are added in another order through the days, so they may differ in the last bits: 12 significant digits. */
const rounded = (value: unknown): unknown =>
  JSON.parse(JSON.stringify(value), (_key, v: unknown) => (typeof v === 'number' ? Number(v.toPrecision(12)) : v));

/** Every window, by tool and by pattern, plus drifting and failing lists: reader (cold and warm cache) against hourly-only. */
async function expectSameAsHourly(reader: RollupReader) {
  const now = Date.now();
  const cold = new RollupReader();
  for (const window of STATS_WINDOWS) {
    for (const by of ['tool', 'pattern'] as const) {
      const ids = by === 'tool' ? [toolId] : patternIds;
      const reference = new Map([...(await hourlyOnly(by, window, now))].map(([id, acc]) => [id, acc.stats(rule)]));
      expect(reference.size, `${by} ${window}`).toBeGreaterThan(0);
      for (const candidate of [cold, reader, reader]) {
        const answer = await loadExecutionStats(service.db.prisma, candidate, by, window, ids, rule, now);
        expect(rounded(Object.fromEntries(answer)), `${by} ${window}`).toEqual(rounded(Object.fromEntries(reference)));
      }
    }
    const reference = await hourlyOnly('pattern', window, now);
    const expectedDrifting = [...reference]
      .filter(([, acc]) => acc.stats(rule).drifting)
      .map(([id, acc]) => ({ patternId: id, drift: acc.stats(rule).drift! }))
      .sort((a, b) => Math.abs(b.drift) - Math.abs(a.drift) || a.patternId.localeCompare(b.patternId));
    const drifting = (await driftingPatterns(service.db.prisma, reader, window, rule, now)).map((d) => ({ patternId: d.patternId, drift: d.drift }));
    expect(rounded(drifting), `drifting ${window}`).toEqual(rounded(expectedDrifting));
    const tool = (await hourlyOnly('tool', window, now)).get(toolId)!;
    const failing = await failingTools(service.db.prisma, window, 1, 0.99, now);
    expect(failing, `failing ${window}`).toEqual([{ toolId, runs: tool.runs, successes: tool.successes, successRate: tool.successes / tool.runs }]);
  }
}

async function compactAll() {
  while ((await compactRollups(service.db.prisma, 500)) > 0);
}

beforeAll(async () => {
  service = await startTestService({ seed: false });
  toolId = await createTool(
    service.db.prisma,
    {
      name: 'rollup-probe',
      platform: 'linux',
      version: '1.0',
      category: 'system',
      capabilities: [
        {
          name: 'fold',
          patterns: [
            { name: 'fast', timeEstimateMs: '3 * N' },
            { name: 'slow', timeEstimateMs: '100' },
            { name: 'plain' },
          ],
        },
      ],
    },
    { actor: 'test', trigger: 'test' },
  );
  patternIds = (await service.db.prisma.pattern.findMany({ where: { capability: { toolId } }, orderBy: { name: 'asc' } })).map((p) => p.id);
  ingestor = new ExecutionIngestor(service.db.prisma, { clock: new TelemetryClock(), retentionMs: 30 * DAY });
}, 60_000);
afterAll(() => service.close());

describe('daily roll-ups', () => {
  const reader = new RollupReader();

  it('answer every window exactly as the hourly roll-ups do, before and after compaction builds the days', async () => {
    await report(runs(4000, 29 * DAY));
    expect(await service.db.prisma.executionRollupDaily.count()).toBe(0);
    await expectSameAsHourly(reader);

    await compactAll();
    expect(await service.db.prisma.executionRollup.count({ where: { compacted: false } })).toBe(0);
    // Each day holds exactly its compacted hours.
    const [check] = await service.db.prisma.$queryRaw<Array<{ mismatched: bigint; days: bigint }>>`
      SELECT count(*) FILTER (WHERE d."runs" IS DISTINCT FROM h."runs") AS mismatched, count(*) AS days
      FROM (SELECT "patternId", date_trunc('day', "hour") AS day, sum("runs")::int AS runs FROM "ExecutionRollup" GROUP BY 1, 2) h
      FULL JOIN "ExecutionRollupDaily" d ON d."patternId" = h."patternId" AND d."day" = h.day`;
    expect(Number(check!.mismatched)).toBe(0);
    expect(Number(check!.days)).toBeGreaterThanOrEqual(3 * 20);
    await expectSameAsHourly(reader);
  }, 120_000);

  it('stay exact when late runs land in days already folded, waiting and then compacted', async () => {
    await report(runs(1000, 20 * DAY, 5 * DAY));
    expect(await service.db.prisma.executionRollup.count({ where: { compacted: false } })).toBeGreaterThan(0);
    await expectSameAsHourly(reader);
    await compactAll();
    await expectSameAsHourly(reader);
  }, 120_000);

  it('are rebuilt from the hourly rows after the migration marks them waiting', async () => {
    // What the migration does to a database written before daily roll-ups existed.
    await service.db.prisma.executionRollupDaily.deleteMany();
    await service.db.prisma.$executeRaw`UPDATE "ExecutionRollup" SET "compacted" = false`;
    await expectSameAsHourly(reader);
    await compactAll();
    expect(await service.db.prisma.executionRollupDaily.count()).toBeGreaterThanOrEqual(3 * 20);
    await expectSameAsHourly(reader);
  }, 120_000);

  it('are pruned in whole days with their hours, so ALL still agrees', async () => {
    const now = Date.now();
    const pruned = await service.app.telemetry.maintenance.prune(now + (400 - 10) * DAY);
    expect(pruned.rollups).toBeGreaterThan(0);
    const cutoff = dayOf(now - 10 * DAY);
    const [oldest] = await service.db.prisma.$queryRaw<Array<{ hour: Date; day: Date; before: bigint }>>`
      SELECT (SELECT min("hour") FROM "ExecutionRollup") AS hour, (SELECT min("day") FROM "ExecutionRollupDaily") AS day,
        (SELECT count(*) FROM "ExecutionRollup" WHERE "hour" < ${cutoff}) AS before`;
    // Everything before the cutoff's midnight went, and nothing of the cutoff's day.
    expect(Number(oldest!.before)).toBe(0);
    expect(oldest!.day.getTime()).toBeGreaterThanOrEqual(cutoff.getTime());
    expect(dayOf(oldest!.hour)).toEqual(oldest!.day);
    await expectSameAsHourly(reader);
  }, 120_000);

  it('bound the rows a 30-day read takes per pattern, whatever the number of runs', async () => {
    await report(runs(3000, 29 * DAY));
    await compactAll();
    const [rows] = await service.db.prisma.$queryRaw<Array<{ daily: bigint; hourly: bigint; allHourly: bigint }>>`
      SELECT count(*) FILTER (WHERE w.level = 'd') AS daily, count(*) FILTER (WHERE w.level = 'h') AS hourly,
        (SELECT count(*) FROM "ExecutionRollup" WHERE "patternId" = ${patternIds[0]}::uuid AND "hour" >= ${windowStart('LAST_30D')}) AS "allHourly"
      FROM (${windowRollups(windowStart('LAST_30D'), { sketches: false })}) w WHERE w."patternId" = ${patternIds[0]}::uuid`;
    expect(Number(rows!.daily)).toBeLessThanOrEqual(31);
    expect(Number(rows!.hourly)).toBeLessThanOrEqual(23);
    expect(Number(rows!.allHourly)).toBeGreaterThan(60);
  }, 120_000);
});

describe('the cache of merged roll-ups', () => {
  const STATS = `query ($id: ID!) { toolById(id: $id) { executionStats(window: LAST_30D) { runs } capabilities { patterns { executionStats(window: LAST_7D) { runs durationMs { p99 } } } } } }`;

  it('answers a settled window without reading a sketch, and a run reported by another instance at once', async () => {
    await service.graphql(STATS, { id: toolId });
    const { result, statements } = await service.recordStatements(() => service.graphql(STATS, { id: toolId }));
    expect(result.errors).toBeUndefined();
    expect(statements.length).toBeGreaterThan(0);
    expect(statements.filter((sql) => /durationSketch/.test(sql))).toEqual([]);
    const before = (result.data as any).toolById.executionStats.runs as number;

    // Another instance: its own ingestor and telemetry clock; this one hears nothing of the report.
    const other = new ExecutionIngestor(service.db.prisma, { clock: new TelemetryClock(), retentionMs: 30 * DAY });
    const generation = service.app.telemetry.clock.generation;
    const rowsMerged = service.app.telemetry.rollups.rowsMerged;
    // Started now, so it is today's (a run from before midnight would land in a settled day, which is read whole).
    expect((await other.ingest([{ ...runs(1, 60_000)[0]!, startedAt: new Date().toISOString() }], 'ndjson', 'elsewhere')).accepted).toBe(1);
    expect(service.app.telemetry.clock.generation).toBe(generation);
    const after = await service.recordStatements(() => service.graphql(STATS, { id: toolId }));
    expect((after.result.data as any).toolById.executionStats.runs).toBe(before + 1);
    // Only what the run touched is merged again, and of it only today's rows: the tool over 30 days
    // (~3 × 54 rows) and the pattern over 7 days take their settled days from the cache.
    expect(after.statements.filter((sql) => /durationSketch/.test(sql))).toHaveLength(2);
    expect(service.app.telemetry.rollups.rowsMerged - rowsMerged).toBeGreaterThan(0);
    expect(service.app.telemetry.rollups.rowsMerged - rowsMerged).toBeLessThanOrEqual(8);
    // Compaction folds the partial into today's hour and day: again only today's rows are read.
    await compactAll();
    const compacted = service.app.telemetry.rollups.rowsMerged;
    expect(((await service.graphql(STATS, { id: toolId })).data as any).toolById.executionStats.runs).toBe(before + 1);
    expect(service.app.telemetry.rollups.rowsMerged - compacted).toBeGreaterThan(0);
    expect(service.app.telemetry.rollups.rowsMerged - compacted).toBeLessThanOrEqual(8);
  }, 60_000);

  it('reads only the partials reported since a cached read, and agrees with a reader starting cold', async () => {
    const reader = new RollupReader();
    const figures = (merged: Map<string, StatsAccumulator>) =>
      [...merged].sort(([a], [b]) => (a < b ? -1 : 1)).map(([owner, acc]) => [owner, acc.runs, acc.successes, acc.durationSumMs, acc.duration.getValueAtQuantile(0.5), acc.duration.getValueAtQuantile(0.99)]);
    await reader.merge(service.db.prisma, { by: 'pattern', window: 'LAST_7D' });
    const other = new ExecutionIngestor(service.db.prisma, { clock: new TelemetryClock(), retentionMs: 30 * DAY });
    for (let batch = 0; batch < 3; batch++) {
      // Today's runs, not compacted: each batch adds one partial row per pattern it touches.
      const batchRuns = runs(12, 1_000, 0).map((run) => ({ ...run, startedAt: new Date().toISOString() }));
      expect((await other.ingest(batchRuns, 'ndjson', 'elsewhere')).accepted).toBe(12);
      const touched = new Set(batchRuns.map((run) => run.pattern)).size;
      const rowsMerged = reader.rowsMerged;
      const cached = await reader.merge(service.db.prisma, { by: 'pattern', window: 'LAST_7D' });
      expect(reader.rowsMerged - rowsMerged).toBe(touched);
      const cold = figures(await new RollupReader().merge(service.db.prisma, { by: 'pattern', window: 'LAST_7D' }));
      // Sums of durations are floating point: the cached reader adds the new partials to a sum it
      // holds, the cold one adds every row in its own order, so they agree to rounding, not to the bit.
      const withoutSums = (rows: ReturnType<typeof figures>) => rows.map(([owner, runs, successes, , p50, p99]) => [owner, runs, successes, p50, p99]);
      expect(withoutSums(figures(cached))).toEqual(withoutSums(cold));
      figures(cached).forEach((row, i) => expect(row[3] as number).toBeCloseTo(cold[i]![3] as number, 6));
    }
  }, 60_000);

  it('holds a bounded number of entries', async () => {
    const small = new RollupReader({ maxEntries: 2 });
    const first = await small.merge(service.db.prisma, { by: 'pattern', window: 'ALL' });
    expect(first.size).toBe(3);
    const { statements } = await service.recordStatements(() => small.merge(service.db.prisma, { by: 'pattern', window: 'ALL' }));
    // Three patterns, two entries: at least one pattern is read again.
    expect(statements.filter((sql) => /durationSketch/.test(sql))).toHaveLength(1);
  });
});
