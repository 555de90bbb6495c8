import type { PrismaClient } from '../generated/prisma/client.js';
import type { Logger } from '../logger.js';
import { mergeStored, newSketch, quantile, type DDSketch } from './sketches.js';
import type { TelemetryClock } from './telemetryClock.js';
import { windowStart } from './windows.js';

/** What selection may use in place of a pattern's estimates. */
export interface ObservedPerformance {
  /** Median duration over the last 7 days, in ms. */
  p50TimeMs: number;
  /** Mean reported cost over the last 7 days; null when no run reported a cost. */
  meanCost: number | null;
  /** Runs over the last 7 days. */
  runs: number;
}

const key = (toolId: string, capability: string, pattern: string) => `${toolId}\u0000${capability}\u0000${pattern}`;

/**
 * An in-memory view, per (tool version, capability, pattern), of the last 7 days of observed
 * performance, for selection: `get` is a map lookup and never runs SQL. The view is rebuilt from the
 * hourly roll-ups (one statement) when the telemetry generation advances — at most once per
 * `minRefreshMs`, coalescing bursts of reports — and every `refreshEveryMs` so the 7-day window
 * slides and runs reported to other instances arrive. Until the first build, `get` returns undefined.
 */
export class ObservedPerformanceView {
  #byPattern = new Map<string, ObservedPerformance>();
  #builtGeneration = -1;
  #builtAt = 0;
  #running: Promise<void> | undefined;
  #pending = false;
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly clock: TelemetryClock,
    private readonly options: { log?: Logger; minRefreshMs?: number; refreshEveryMs?: number } = {},
  ) {}

  /** Observed performance of one pattern of one tool version, or undefined when it has no runs in the last 7 days. */
  get(toolId: string, capability: string, pattern: string): ObservedPerformance | undefined {
    return this.#byPattern.get(key(toolId, capability, pattern));
  }

  /** The telemetry generation the view reflects (-1 before the first build). */
  get generation(): number {
    return this.#builtGeneration;
  }

  /** Rebuilds now (waits for a rebuild already running, then runs one more if the generation moved meanwhile). */
  async refresh(): Promise<void> {
    while (this.#running) await this.#running;
    this.#running = this.#build().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  start(): this {
    this.#unsubscribe = this.clock.onAdvance(() => this.#schedule());
    const every = this.options.refreshEveryMs ?? 60_000;
    this.#timer = setInterval(() => this.#schedule(), every);
    this.#timer.unref();
    this.#schedule();
    return this;
  }

  stop(): void {
    this.#unsubscribe?.();
    if (this.#timer) clearInterval(this.#timer);
  }

  #schedule(): void {
    if (this.#pending) return;
    this.#pending = true;
    const wait = Math.max(0, this.#builtAt + (this.options.minRefreshMs ?? 1_000) - Date.now());
    setTimeout(() => {
      this.#pending = false;
      this.refresh().catch((error: unknown) => this.options.log?.warn({ err: error }, 'could not refresh observed performance'));
    }, wait).unref();
  }

  async #build(): Promise<void> {
    const generation = this.clock.generation;
    const from = windowStart('LAST_7D')!;
    const rows = await this.prisma.$queryRaw<
      Array<{ toolId: string; capability: string; pattern: string; runs: number; costRuns: number; costSum: number; durationSketch: Uint8Array }>
    >`
      SELECT r."toolId"::text AS "toolId", c."name" AS capability, p."name" AS pattern, r."runs", r."costRuns", r."costSum", r."durationSketch"
      FROM "ExecutionRollup" r
      JOIN "Pattern" p ON p."id" = r."patternId"
      JOIN "Capability" c ON c."id" = p."capabilityId"
      WHERE r."hour" >= ${from}`;
    const merged = new Map<string, { runs: number; costRuns: number; costSum: number; duration: DDSketch }>();
    for (const row of rows) {
      const k = key(row.toolId, row.capability, row.pattern);
      let entry = merged.get(k);
      if (!entry) merged.set(k, (entry = { runs: 0, costRuns: 0, costSum: 0, duration: newSketch() }));
      entry.runs += row.runs;
      entry.costRuns += row.costRuns;
      entry.costSum += row.costSum;
      mergeStored(entry.duration, row.durationSketch);
    }
    const next = new Map<string, ObservedPerformance>();
    for (const [k, entry] of merged) {
      next.set(k, { p50TimeMs: quantile(entry.duration, 0.5)!, meanCost: entry.costRuns ? entry.costSum / entry.costRuns : null, runs: entry.runs });
    }
    this.#byPattern = next;
    this.#builtGeneration = generation;
    this.#builtAt = Date.now();
  }
}
