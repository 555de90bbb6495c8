import { Counter, Histogram, type Registry } from 'prom-client';
import { encodeDecisionId } from '../experiments/decisionIds.js';
import { experimentDecision, type ExperimentCatalog, type CompiledExperiment } from '../experiments/experimentCatalog.js';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { MemoryCatalog } from '../memoryCatalog/memoryCatalog.js';
import type { ObservedPerformanceView } from '../telemetry/observedPerformance.js';
import {
  EXCLUSION_REASONS,
  normaliseRequest,
  selectTools,
  type ExperimentInput,
  type ObservedLookup,
  type SelectToolsRequest,
  type SelectionHooks,
  type ToolSelection,
} from './selectTools.js';

/** What selection learns from besides the catalog: both answer from memory. */
export interface SelectionSources {
  /** Observed figures per pattern (last 7 days), for requests with `useObserved`. */
  observed?: Pick<ObservedPerformanceView, 'get'> & Partial<Pick<ObservedPerformanceView, 'current'>>;
  /** Running experiments, consulted for requests with a `unitId`. */
  experiments?: Pick<ExperimentCatalog, 'snapshot' | 'current'>;
}

/**
 * selectTools as the service runs it: one in-memory revision per call, and the selection metrics.
 * `hooks.candidates` narrows the candidates (tests); observed figures and experiments come from `sources`.
 */
export class SelectionService {
  readonly #selections?: Counter<'outcome'>;
  readonly #duration?: Histogram;
  readonly #exclusions?: Counter<'reason'>;
  readonly #stale?: Counter;

  constructor(
    readonly memory: MemoryCatalog,
    registry?: Registry,
    readonly hooks: SelectionHooks = {},
    readonly sources: SelectionSources = {},
  ) {
    if (!registry) return;
    this.#selections = new Counter({
      name: 'tool_catalog_selections_total',
      help: 'selectTools answers, by whether any candidate remained (selected) or none (empty)',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.#duration = new Histogram({
      name: 'tool_catalog_selection_duration_seconds',
      help: 'Time to compute one selectTools answer from the in-memory catalog',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      registers: [registry],
    });
    this.#exclusions = new Counter({
      name: 'tool_catalog_selection_exclusions_total',
      help: 'Candidate patterns excluded by selectTools, by reason',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.#stale = new Counter({
      name: 'tool_catalog_selection_stale_total',
      help: 'selectTools and profiles answers given from memory while the database was unreachable or memory could not be confirmed current',
      registers: [registry],
    });
    for (const outcome of ['selected', 'empty']) this.#selections.inc({ outcome }, 0);
    for (const reason of EXCLUSION_REASONS) this.#exclusions.inc({ reason }, 0);
  }

  /** Counts an answer given from memory that may be behind the database (profiles use this too). */
  countStale(): void {
    this.#stale?.inc();
  }

  /**
   * `db`: the request's client. Inside a read transaction (a query that also asks for fields the
   * database answers) a reload of the experiments must go through it: on PGlite another connection
   * would wait for that transaction to end.
   */
  async select(request: SelectToolsRequest, db?: PrismaClient): Promise<ToolSelection> {
    const { snapshot, stale } = await this.memory.read();
    // Observed figures are brought up to date before they are used (the view rests while no
    // selection asks for them); with the database unreachable the last view answers at once.
    if (request.useObserved && !this.memory.databaseUnreachable) await this.sources.observed?.current?.();
    const consulted = request.unitId ? await this.#experimentFor(request, db) : undefined;
    const started = performance.now();
    const observed: ObservedLookup | undefined = this.sources.observed
      ? (toolId, capability, pattern) => this.sources.observed!.get(toolId, capability, pattern)
      : undefined;
    const selection = selectTools(snapshot, request, { stale, hooks: this.hooks, observed, experiment: consulted?.input });
    if (consulted?.experiment && consulted.armIndex !== undefined && selection.experiment?.outcome === 'ASSIGNED') {
      // The decision id carries the assignment, signed: a run reported with it alone counts for this arm.
      selection.decisionId = encodeDecisionId(consulted.experiment, consulted.armIndex, request.unitId!);
    }
    this.#duration?.observe((performance.now() - started) / 1000);
    this.#selections?.inc({ outcome: selection.candidates.length ? 'selected' : 'empty' });
    if (this.#exclusions) {
      // One increment per reason, not per exclusion: an answer may exclude hundreds of patterns.
      const counts = new Map<string, number>();
      for (const excluded of selection.excluded) counts.set(excluded.reason, (counts.get(excluded.reason) ?? 0) + 1);
      for (const [reason, count] of counts) this.#exclusions.inc({ reason }, count);
    }
    if (stale) this.countStale();
    return selection;
  }

  /**
   * The running experiment's word on the request's unit. The experiments are reloaded (one query)
   * only when the catalog generation has moved; while the database is unreachable the last ones
   * loaded answer, as the catalog itself does.
   */
  async #experimentFor(request: SelectToolsRequest, db?: PrismaClient): Promise<{ input: ExperimentInput; armIndex?: number; experiment?: CompiledExperiment } | undefined> {
    const source = this.sources.experiments;
    if (!source) return undefined;
    // A bad request is reported by the rule itself, with the field it names.
    let normalised: ReturnType<typeof normaliseRequest>;
    try {
      normalised = normaliseRequest(request);
    } catch {
      return undefined;
    }
    const experiments = this.memory.databaseUnreachable && source.current ? source.current : await source.snapshot(db);
    const decision = experimentDecision(experiments, { capability: normalised.capability, platform: normalised.platform, unitId: normalised.unitId! });
    switch (decision.status) {
      case 'NO_EXPERIMENT':
        return undefined;
      case 'ASSIGNED':
        return { input: { status: 'ASSIGNED', arm: decision.arm }, armIndex: decision.arm.armIndex, experiment: experiments.byKey.get(decision.arm.experimentKey) };
      case 'NOT_IN_EXPERIMENT':
        return { input: decision };
      case 'AMBIGUOUS_PLATFORM':
        return { input: { status: 'AMBIGUOUS_PLATFORM', reason: decision.reason } };
    }
  }
}
