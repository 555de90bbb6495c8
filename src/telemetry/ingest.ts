import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import { compileEstimate, estimateVariables, evaluateEstimate, type CompiledEstimate } from '../catalog/expressions.js';
import { Prisma, type PrismaClient } from '../generated/prisma/client.js';
import { StatsAccumulator } from './accumulator.js';
import { HOURLY_ROLLUP_COLUMNS, hourlyRollupRows, insertHourlyRollups, rollupRecord, type RollupRecord } from './rollupStore.js';
import type { TelemetryClock } from './telemetryClock.js';
import type { TelemetryMetrics } from './metrics.js';
import { hourOf } from './windows.js';

/** Most runs one reportExecutions call (or one NDJSON chunk) carries. */
export const MAX_BATCH = 1_000;
/** A run may start this far in the future (clock skew between reporter and catalog). */
export const FUTURE_TOLERANCE_MS = 5 * 60_000;
export const ERROR_MESSAGE_MAX_BYTES = 2_048;
export const MAX_DECISION_ID_LENGTH = 512;

/**
 * What the experiments make of a decision id (the service wires src/experiments' check in; telemetry
 * does not import experiments): the unit a signed assignment carries, or why one that claims to carry
 * an assignment is not believed. Ids that claim nothing are left out of the map.
 */
export type DecisionAttribution = { unitId: string } | { refused: string };
export type DecisionResolver = (decisionIds: readonly string[]) => Promise<ReadonlyMap<string, DecisionAttribution>>;

export const REJECTION_REASONS = [
  'INVALID_INPUT',
  'UNKNOWN_TOOL',
  'UNKNOWN_PATTERN',
  'NEGATIVE_DURATION',
  'STARTED_IN_FUTURE',
  'STARTED_TOO_LONG_AGO',
] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

export type ExecutionOutcome = 'ACCEPTED' | 'DUPLICATE' | 'REJECTED';
export type IngestPath = 'graphql' | 'ndjson';

/** What happened to one reported run, by its position in the batch. */
export interface ExecutionResult {
  index: number;
  executionId: string | null;
  outcome: ExecutionOutcome;
  reason: RejectionReason | null;
  message: string | null;
}

export interface IngestSummary {
  accepted: number;
  duplicates: number;
  rejected: number;
  results: ExecutionResult[];
}

const text = (max: number) => z.string().min(1).max(max);
const optionalText = (max: number) => z.string().max(max).nullish();

/** The shape of one reported run, whether it came as GraphQL input or as an NDJSON line. */
export const executionShape = z
  .object({
    executionId: text(128),
    toolId: z.uuid().nullish(),
    name: text(128).nullish(),
    platform: text(64).nullish(),
    version: text(64).nullish(),
    capability: text(128),
    pattern: text(128),
    startedAt: z.union([z.date(), z.iso.datetime({ offset: true })]).transform((value) => new Date(value)),
    durationMs: z.number().refine(Number.isFinite, 'must be a finite number'),
    success: z.boolean(),
    cost: z.number().refine(Number.isFinite, 'must be a finite number').nullish(),
    errorType: optionalText(128),
    errorMessage: z.string().nullish(),
    environment: optionalText(64),
    variables: z.record(z.string().max(128), z.number().refine(Number.isFinite, 'must be a finite number')).nullish(),
    // Long enough for a decision id that carries a signed experiment assignment (up to 256 characters of unit).
    decisionId: optionalText(MAX_DECISION_ID_LENGTH),
    unitId: optionalText(256),
  })
  .refine((run) => run.toolId || (run.name && run.platform && run.version), {
    message: 'name the tool by toolId, or by name, platform and version',
    path: ['toolId'],
  });
export type ExecutionReport = z.input<typeof executionShape>;
type ParsedReport = z.output<typeof executionShape>;

/** What a run of a pattern is checked against: its compiled estimates and declared inputs. */
export interface PatternEstimates {
  time: CompiledEstimate | null;
  cost: CompiledEstimate | null;
  inputs: { requiredInputs: unknown[]; optionalInputs: unknown[] };
}
interface ResolvedPattern extends PatternEstimates {
  id: string;
}
interface ResolvedTool {
  id: string;
  patterns: Map<string, ResolvedPattern>;
}

/** A run ready to store. */
interface StoredRun {
  index: number;
  executionId: string;
  toolId: string;
  patternId: string;
  capability: string;
  pattern: string;
  success: boolean;
  durationMs: number;
  cost: number | null;
  estimatedTimeMs: number | null;
  estimatedCost: number | null;
  timeVarianceMs: number | null;
  costVariance: number | null;
  errorType: string | null;
  errorMessage: string | null;
  environment: string | null;
  variables: Record<string, number>;
  decisionId: string | null;
  unitId: string | null;
  startedAt: Date;
}

/**
 * The columns a stored run fills, in the order of the rows of a batch. A batch is sent as one JSON
 * array of arrays, not of objects: the key names would double its size, and Prisma escapes a raw
 * query's parameter into JSON and parses it back, byte by byte, before the driver sends it.
 */
export const RUN_COLUMNS = [
  ['executionId', 'varchar(128)'],
  ['toolId', 'uuid'],
  ['patternId', 'uuid'],
  ['capability', 'varchar(128)'],
  ['pattern', 'varchar(128)'],
  ['success', 'boolean'],
  ['durationMs', 'float8'],
  ['cost', 'float8'],
  ['estimatedTimeMs', 'float8'],
  ['estimatedCost', 'float8'],
  ['timeVarianceMs', 'float8'],
  ['costVariance', 'float8'],
  ['errorType', 'varchar(128)'],
  ['errorMessage', 'text'],
  ['environment', 'varchar(64)'],
  ['variables', 'jsonb'],
  ['decisionId', 'varchar(512)'],
  ['unitId', 'varchar(256)'],
  ['startedAt', 'timestamp(3)'],
] as const satisfies ReadonlyArray<readonly [keyof StoredRun, string]>;
const RUN_COLUMN_NAMES = Prisma.raw(RUN_COLUMNS.map(([name]) => `"${name}"`).join(', '));
/** Each column from a batch row `r` (a JSON array): the text at its position cast to its type, or the JSON itself. */
const RUN_COLUMN_VALUES = Prisma.raw(RUN_COLUMNS.map(([, type], at) => (type === 'jsonb' ? `r -> ${at}` : `(r ->> ${at})::${type}`)).join(', '));
const EXECUTION_ID_AT = RUN_COLUMNS.findIndex(([name]) => name === 'executionId');

/**
 * A new run's id: a time-ordered UUID (the version 7 layout: milliseconds since the epoch, then
 * random bits). Runs arriving together then go to neighbouring pages at one place in the primary
 * key's index, instead of each to a random page of an index that is hundreds of megabytes once ten
 * million runs are stored.
 */
const TIME_ORDERED_UUID = Prisma.raw(
  `encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3) FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid`,
);

/** A run as one row of a batch, its values in RUN_COLUMNS order. */
const batchRow = (run: StoredRun) => RUN_COLUMNS.map(([name]) => (name === 'startedAt' ? run.startedAt.toISOString() : run[name]));

const patternKey = (capability: string, pattern: string) => `${capability}\u0000${pattern}`;
const refKey = (run: ParsedReport) =>
  run.toolId ? `id:${run.toolId.toLowerCase()}` : `ref:${run.name}\u0000${run.platform!.toLowerCase()}\u0000${run.version}`;

function compiled(source: string | null): CompiledEstimate | null {
  if (!source) return null;
  const result = compileEstimate(source);
  return result.ok ? result : null;
}

/** A stored pattern's estimates as ingestion evaluates them (the telemetry bench seeds runs the same way). */
export function patternEstimates(pattern: { timeEstimateMs: string | null; costEstimate: string | null; requiredInputs: unknown; optionalInputs: unknown }): PatternEstimates {
  return {
    time: compiled(pattern.timeEstimateMs),
    cost: compiled(pattern.costEstimate),
    inputs: {
      requiredInputs: Array.isArray(pattern.requiredInputs) ? pattern.requiredInputs : [],
      optionalInputs: Array.isArray(pattern.optionalInputs) ? pattern.optionalInputs : [],
    },
  };
}

function evaluated(estimate: CompiledEstimate | null, variables: Record<string, number>): number | null {
  if (!estimate) return null;
  const value = evaluateEstimate(estimate, variables);
  return value.ok ? value.value : null;
}

/** At most `max` bytes of UTF-8, never cutting a character in half. */
export function truncateUtf8(value: string, max: number): string {
  if (Buffer.byteLength(value) <= max) return value;
  return Buffer.from(value).subarray(0, max).toString('utf8').replace(/\uFFFD+$/, '');
}

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0]!;
  return `${issue.path.join('.') || 'execution'}: ${issue.message}`;
}

export interface ExecutionIngestorOptions {
  clock: TelemetryClock;
  metrics?: TelemetryMetrics;
  /** Runs that started longer ago than this are refused: their raw rows would be pruned at once. */
  retentionMs: number;
  /** Attributes runs reported with a decisionId but no unitId to the unit their decision assigned. */
  decisions?: DecisionResolver;
  /** Called after runs (and their partial roll-ups) were stored. */
  onStored?: () => void;
}

/**
 * Stores reported runs. Each run is checked on its own (a bad one never stops the others), tied to
 * its tool version and pattern, given the pattern's estimates evaluated with the run's variables,
 * then written with `ON CONFLICT ("executionId") DO NOTHING`: a run reported twice — a retry, even
 * concurrent with the first attempt — is stored once and answered DUPLICATE. The same transaction
 * appends the batch's partial hourly roll-ups, so stats read after the answer include the runs.
 * Nothing here touches the catalog, its caches or its event log.
 */
export class ExecutionIngestor {
  // Tool versions and their patterns never change after insert, so what was resolved stays true.
  readonly #tools = new LRUCache<string, ResolvedTool>({ max: 20_000 });

  constructor(
    private readonly prisma: PrismaClient,
    private readonly options: ExecutionIngestorOptions,
  ) {}

  async ingest(items: readonly unknown[], path: IngestPath, actor: string): Promise<IngestSummary> {
    const started = performance.now();
    const results: ExecutionResult[] = new Array(items.length);
    const parsed: Array<{ index: number; run: ParsedReport }> = [];
    const now = Date.now();
    const oldest = now - this.options.retentionMs;
    const reject = (index: number, executionId: string | null, reason: RejectionReason, message: string) => {
      results[index] = { index, executionId, outcome: 'REJECTED', reason, message };
    };
    items.forEach((item, index) => {
      const shape = executionShape.safeParse(item);
      const id = typeof (item as { executionId?: unknown })?.executionId === 'string' ? (item as { executionId: string }).executionId : null;
      if (!shape.success) return reject(index, id, 'INVALID_INPUT', firstIssue(shape.error));
      const run = shape.data;
      if (run.durationMs < 0) return reject(index, run.executionId, 'NEGATIVE_DURATION', `durationMs: must not be negative, found ${run.durationMs}`);
      if (run.cost != null && run.cost < 0) return reject(index, run.executionId, 'INVALID_INPUT', `cost: must not be negative, found ${run.cost}`);
      if (run.startedAt.getTime() > now + FUTURE_TOLERANCE_MS) {
        return reject(index, run.executionId, 'STARTED_IN_FUTURE', `startedAt: ${run.startedAt.toISOString()} is more than 5 minutes ahead of the catalog's clock`);
      }
      if (run.startedAt.getTime() < oldest) {
        return reject(index, run.executionId, 'STARTED_TOO_LONG_AGO', `startedAt: ${run.startedAt.toISOString()} is older than the raw-run retention`);
      }
      parsed.push({ index, run });
    });

    const tools = await this.#resolveTools(parsed.map(({ run }) => run));
    const seen = new Set<string>();
    const runs: StoredRun[] = [];
    for (const { index, run } of parsed) {
      const tool = tools.get(refKey(run));
      if (!tool) {
        reject(index, run.executionId, 'UNKNOWN_TOOL', run.toolId ? `no tool version with id ${run.toolId}` : `no version ${run.version} of tool ${run.name} (${run.platform})`);
        continue;
      }
      const pattern = tool.patterns.get(patternKey(run.capability, run.pattern));
      if (!pattern) {
        reject(index, run.executionId, 'UNKNOWN_PATTERN', `this tool version has no pattern ${run.pattern} under capability ${run.capability}`);
        continue;
      }
      if (seen.has(run.executionId)) {
        results[index] = { index, executionId: run.executionId, outcome: 'DUPLICATE', reason: null, message: 'executionId repeated in this batch' };
        continue;
      }
      seen.add(run.executionId);
      const variables = estimateVariables(pattern.inputs, run.variables);
      const estimatedTimeMs = evaluated(pattern.time, variables);
      const estimatedCost = evaluated(pattern.cost, variables);
      const cost = run.cost ?? null;
      runs.push({
        index,
        executionId: run.executionId,
        toolId: tool.id,
        patternId: pattern.id,
        capability: run.capability,
        pattern: run.pattern,
        success: run.success,
        durationMs: run.durationMs,
        cost,
        estimatedTimeMs,
        estimatedCost,
        timeVarianceMs: estimatedTimeMs === null ? null : run.durationMs - estimatedTimeMs,
        costVariance: estimatedCost === null || cost === null ? null : cost - estimatedCost,
        errorType: run.errorType ?? null,
        errorMessage: run.errorMessage == null ? null : truncateUtf8(run.errorMessage, ERROR_MESSAGE_MAX_BYTES),
        environment: run.environment ?? null,
        variables: run.variables ?? {},
        decisionId: run.decisionId ?? null,
        unitId: run.unitId ?? null,
        startedAt: run.startedAt,
      });
    }

    const notes = await this.#attributeDecisions(runs);
    const stored = runs.length ? await this.#store(runs, actor) : new Set<string>();
    for (const run of runs) {
      results[run.index] = stored.has(run.executionId)
        ? { index: run.index, executionId: run.executionId, outcome: 'ACCEPTED', reason: null, message: notes.get(run.index) ?? null }
        : { index: run.index, executionId: run.executionId, outcome: 'DUPLICATE', reason: null, message: 'already reported' };
    }
    if (stored.size) {
      this.options.onStored?.();
      this.options.clock.advance();
    }
    const summary: IngestSummary = { accepted: 0, duplicates: 0, rejected: 0, results };
    for (const result of results) {
      if (result.outcome === 'ACCEPTED') summary.accepted += 1;
      else if (result.outcome === 'DUPLICATE') summary.duplicates += 1;
      else summary.rejected += 1;
    }
    const metrics = this.options.metrics;
    if (metrics) {
      if (summary.accepted) metrics.reported.inc({ outcome: 'accepted', path }, summary.accepted);
      if (summary.duplicates) metrics.reported.inc({ outcome: 'duplicate', path }, summary.duplicates);
      if (summary.rejected) metrics.reported.inc({ outcome: 'rejected', path }, summary.rejected);
      metrics.ingestSeconds.observe({ path }, (performance.now() - started) / 1000);
    }
    return summary;
  }

  /**
   * A run with a decisionId and no unitId gets the unit its decision assigned (when the decision id
   * is a signed assignment that holds up), so it counts for that arm. An explicit unitId wins.
   * Returns a note per run whose decision id claimed an assignment that was not believed.
   */
  async #attributeDecisions(runs: StoredRun[]): Promise<Map<number, string>> {
    const notes = new Map<number, string>();
    const resolver = this.options.decisions;
    const pending = runs.filter((run) => run.unitId === null && run.decisionId !== null);
    if (!resolver || !pending.length) return notes;
    const attributions = await resolver([...new Set(pending.map((run) => run.decisionId!))]);
    for (const run of pending) {
      const attribution = attributions.get(run.decisionId!);
      if (!attribution) continue;
      if ('unitId' in attribution) run.unitId = attribution.unitId;
      else notes.set(run.index, `decisionId: not attributed to an experiment arm: ${attribution.refused}`);
    }
    return notes;
  }

  /** Tool versions (with their patterns and estimates) for every reference, in one statement for those not known yet. */
  async #resolveTools(runs: readonly ParsedReport[]): Promise<Map<string, ResolvedTool>> {
    const resolved = new Map<string, ResolvedTool>();
    const ids = new Set<string>();
    const refs = new Map<string, { name: string; platform: string; version: string }>();
    for (const run of runs) {
      const key = refKey(run);
      const known = this.#tools.get(key);
      if (known) resolved.set(key, known);
      else if (run.toolId) ids.add(run.toolId.toLowerCase());
      else refs.set(key, { name: run.name!, platform: run.platform!.toLowerCase(), version: run.version! });
    }
    if (ids.size === 0 && refs.size === 0) return resolved;
    const rows = await this.prisma.tool.findMany({
      where: {
        OR: [
          ...(ids.size ? [{ id: { in: [...ids] } }] : []),
          ...[...refs.values()].map((ref) => ({ name: ref.name, platform: { equals: ref.platform, mode: 'insensitive' as const }, version: ref.version })),
        ],
      },
      select: {
        id: true,
        name: true,
        platform: true,
        version: true,
        capabilities: {
          select: {
            name: true,
            patterns: { select: { id: true, name: true, timeEstimateMs: true, costEstimate: true, requiredInputs: true, optionalInputs: true } },
          },
        },
      },
    });
    for (const row of rows) {
      const tool: ResolvedTool = { id: row.id, patterns: new Map() };
      for (const capability of row.capabilities) {
        for (const pattern of capability.patterns) {
          tool.patterns.set(patternKey(capability.name, pattern.name), { id: pattern.id, ...patternEstimates(pattern) });
        }
      }
      for (const key of [`id:${row.id}`, `ref:${row.name}\u0000${row.platform.toLowerCase()}\u0000${row.version}`]) {
        this.#tools.set(key, tool);
        if (ids.has(key.slice(3)) || refs.has(key)) resolved.set(key, tool);
      }
    }
    return resolved;
  }

  /** Inserts the runs and their partial roll-ups, atomically; returns the execution ids actually inserted. */
  async #store(runs: StoredRun[], actor: string): Promise<Set<string>> {
    const payload = JSON.stringify(runs.map(batchRow));
    // Every run new (a run reported twice is a retry, and rare): the runs and their partial roll-ups
    // in one statement, one round trip and no transaction to open. The statement counts what it
    // inserted and divides by zero unless that is every run, so with any run already stored it
    // stores nothing, and the transaction below stores what is new. A deadlock (with a writer outside
    // this module) also leaves it to the transaction, which tries again.
    const partials = rollupPartials(runs);
    try {
      await this.prisma.$executeRaw`
        WITH inserted AS (${insertRuns(payload, actor)}),
          every AS (SELECT 1 / (CASE WHEN count(*) = ${runs.length} THEN 1 ELSE 0 END) AS stored FROM inserted)
        INSERT INTO "ExecutionRollup" (${HOURLY_ROLLUP_COLUMNS})
        SELECT partial.* FROM (${hourlyRollupRows(partials, false)}) AS partial, every WHERE every.stored = 1`;
      return new Set(runs.map((run) => run.executionId));
    } catch (error) {
      if (!isDivisionByZero(error) && !isDeadlock(error)) throw error;
    }
    const attempt = () =>
      this.prisma.$transaction(async (tx) => {
        const inserted = await tx.$queryRaw<Array<{ executionId: string }>>`${insertRuns(payload, actor)}`;
        const ids = new Set(inserted.map((row) => row.executionId));
        const partials = rollupPartials(runs.filter((run) => ids.has(run.executionId)));
        if (partials.length) await insertHourlyRollups(tx, partials, false);
        return ids;
      }, { maxWait: 10_000, timeout: 60_000 });
    try {
      return await attempt();
    } catch (error) {
      // A deadlock with a writer outside this module (the order above prevents them between batches).
      if (isDeadlock(error)) return attempt();
      throw error;
    }
  }
}

/**
 * The batch's runs inserted, those already stored left alone, returning the ids inserted. Sorted by
 * executionId: two batches sharing ids take their unique-index locks in the same order, so
 * concurrent ones wait for each other instead of deadlocking.
 */
function insertRuns(payload: string, actor: string): Prisma.Sql {
  return Prisma.sql`
    INSERT INTO "ToolExecution" ("id", ${RUN_COLUMN_NAMES}, "reportedBy")
    SELECT ${TIME_ORDERED_UUID}, ${RUN_COLUMN_VALUES}, ${actor}
    FROM jsonb_array_elements(${payload}::jsonb) AS r
    ORDER BY r ->> ${Prisma.raw(String(EXECUTION_ID_AT))}
    ON CONFLICT ("executionId") DO NOTHING
    RETURNING "executionId"`;
}

const isDeadlock = (error: unknown) => /deadlock/i.test(String((error as Error)?.message));

/** PostgreSQL's division_by_zero (22012), as the driver adapter reports it through Prisma. */
function isDivisionByZero(error: unknown): boolean {
  return /22012|division by zero/i.test(`${(error as { code?: unknown })?.code ?? ''} ${(error as Error)?.message ?? ''} ${JSON.stringify((error as { meta?: unknown })?.meta ?? '')}`);
}

/** The batch's runs as one partial roll-up row per (pattern, hour). */
function rollupPartials(runs: readonly StoredRun[]): RollupRecord[] {
  const groups = new Map<string, { toolId: string; patternId: string; hour: Date; acc: StatsAccumulator }>();
  for (const run of runs) {
    const hour = hourOf(run.startedAt);
    const key = `${run.patternId}\u0000${hour.getTime()}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { toolId: run.toolId, patternId: run.patternId, hour, acc: new StatsAccumulator() }));
    group.acc.addRun(run);
  }
  return [...groups.values()].map(({ hour, acc, ...owner }) => rollupRecord(owner, hour, acc));
}
