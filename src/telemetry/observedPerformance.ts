import type { PrismaClient } from '../generated/prisma/client.js';
import type { Logger } from '../logger.js';
import type { RollupReader } from './rollupReader.js';
import { quantile } from './sketches.js';
import { patternNames } from './stats.js';
import type { TelemetryClock } from './telemetryClock.js';

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

/** How long after the last selection that used it the view keeps following reports by itself. */
export const OBSERVED_VIEW_IN_USE_MS = 10 * 60_000;
/** After a failed on-demand rebuild, selections use the last view this long before trying again. */
const RETRY_AFTER_FAILURE_MS = 5_000;

/**
 * An in-memory view, per (tool version, capability, pattern), of the last 7 days of observed
 * performance, for selection: `get` is a map lookup and never runs SQL. The view is rebuilt from the
 * roll-ups (through the reader's cache: only patterns whose rows changed are merged again).
 *
 * While it is in use (a selection asked for observed figures in the last OBSERVED_VIEW_IN_USE_MS)
 * it follows the telemetry generation by itself — at most once per `minRefreshMs`, coalescing bursts
 * of reports — and every `refreshEveryMs` so the 7-day window slides and runs reported to other
 * instances arrive. Otherwise it only notes that it is behind, and `current()` (which selection awaits
 * before using it) rebuilds it then: a service that ingests runs no selection looks at does not merge
 * roll-ups every second for nothing. Until the first build, `get` returns undefined.
 */
export class ObservedPerformanceView {
  #byPattern = new Map<string, ObservedPerformance>();
  #builtGeneration = -1;
  #builtAt = 0;
  #running: Promise<void> | undefined;
  #pending = false;
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  /** When a selection last asked for the view (0: never). */
  #usedAt = 0;
  /** Set when the view may be behind the roll-ups and no rebuild is scheduled. */
  #behind = true;
  #failedAt = 0;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly clock: TelemetryClock,
    private readonly rollups: RollupReader,
    private readonly options: { log?: Logger; minRefreshMs?: number; refreshEveryMs?: number; inUseMs?: number } = {},
  ) {}

  /** Observed performance of one pattern of one tool version, or undefined when it has no runs in the last 7 days. */
  get(toolId: string, capability: string, pattern: string): ObservedPerformance | undefined {
    return this.#byPattern.get(key(toolId, capability, pattern));
  }

  /**
   * Brings the view up to date if it is behind (nothing to do while it is in use and following the
   * reports), and keeps it following them for a while. A failed rebuild is logged, not thrown: the
   * last view answers, and the next try waits a few seconds.
   */
  async current(): Promise<void> {
    this.#usedAt = Date.now();
    if (!this.#behind || Date.now() - this.#failedAt < RETRY_AFTER_FAILURE_MS) return;
    try {
      await this.refresh();
    } catch (error) {
      this.#failedAt = Date.now();
      this.options.log?.warn({ err: error }, 'could not refresh observed performance');
    }
  }

  #inUse(): boolean {
    return Date.now() - this.#usedAt < (this.options.inUseMs ?? OBSERVED_VIEW_IN_USE_MS);
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
    if (!this.#inUse()) {
      this.#behind = true;
      return;
    }
    if (this.#pending) return;
    this.#pending = true;
    const wait = Math.max(0, this.#builtAt + (this.options.minRefreshMs ?? 1_000) - Date.now());
    setTimeout(() => {
      this.#pending = false;
      this.refresh().catch((error: unknown) => {
        this.#behind = true;
        this.options.log?.warn({ err: error }, 'could not refresh observed performance');
      });
    }, wait).unref();
  }

  async #build(): Promise<void> {
    const generation = this.clock.generation;
    const merged = await this.rollups.merge(this.prisma, { by: 'pattern', window: 'LAST_7D' });
    const names = await patternNames(this.prisma, [...merged.keys()]);
    const next = new Map<string, ObservedPerformance>();
    for (const [patternId, acc] of merged) {
      const name = names.get(patternId);
      if (!name || acc.runs === 0) continue;
      next.set(key(name.toolId, name.capability, name.pattern), {
        p50TimeMs: quantile(acc.duration, 0.5)!,
        meanCost: acc.costRuns ? acc.costSum / acc.costRuns : null,
        runs: acc.runs,
      });
    }
    this.#byPattern = next;
    this.#builtGeneration = generation;
    this.#builtAt = Date.now();
    // Behind again if reports arrived while it was built (their advance scheduled the next build).
    this.#behind = this.clock.generation !== generation;
  }
}
