import { PothosValidationError } from '@pothos/core';
import { queryFromInfo } from '@pothos/plugin-prisma';
import { resolveArrayConnection } from '@pothos/plugin-relay';
import type { ToolQuery } from '../loaders.js';
import { MAX_BATCH, REJECTION_REASONS, type ExecutionResult, type IngestSummary, type RejectionReason } from '../telemetry/ingest.js';
import { driftingPatterns, failingTools, type DriftingPattern, type ExecutionStats, type FailingTool } from '../telemetry/stats.js';
import { STATS_WINDOWS, type StatsWindow } from '../telemetry/windows.js';
import { builder } from './builder.js';
import { ToolRef } from './tool.js';

const WINDOW_DESCRIPTIONS: Record<StatsWindow, string> = {
  LAST_HOUR: 'Runs that started from the beginning of the previous hour.',
  LAST_24H: 'Runs that started from the beginning of the hour 24 hours ago.',
  LAST_7D: 'Runs that started from the beginning of the hour 7 days ago.',
  LAST_30D: 'Runs that started from the beginning of the hour 30 days ago.',
  ALL: 'Every run whose roll-up is still kept (TELEMETRY_ROLLUP_RETENTION_DAYS).',
};

export const StatsWindowEnum = builder.enumType('StatsWindow', {
  description: 'A window of reported runs. Runs are rolled up by the hour they started in, so a window starts on a whole hour.',
  values: Object.fromEntries(STATS_WINDOWS.map((w) => [w, { value: w, description: WINDOW_DESCRIPTIONS[w] }])) as Record<
    StatsWindow,
    { value: StatsWindow; description: string }
  >,
});

const DurationStats = builder.objectRef<NonNullable<ExecutionStats['durationMs']>>('DurationStats').implement({
  description: 'Observed run durations in milliseconds. Percentiles come from merged DDSketch sketches: within 1 % of the exact value.',
  fields: (t) => ({
    p50: t.exposeFloat('p50', { description: 'Median.' }),
    p95: t.exposeFloat('p95', { description: '95th percentile.' }),
    p99: t.exposeFloat('p99', { description: '99th percentile.' }),
    mean: t.exposeFloat('mean', { description: 'Mean (exact).' }),
  }),
});

const CostStats = builder.objectRef<NonNullable<ExecutionStats['cost']>>('CostStats').implement({
  description: 'Reported costs of runs that reported one.',
  fields: (t) => ({
    mean: t.exposeFloat('mean', { description: 'Mean cost per run that reported a cost.' }),
    total: t.exposeFloat('total', { description: 'Sum of reported costs.' }),
  }),
});

const EstimateError = builder.objectRef<NonNullable<ExecutionStats['estimateError']>>('EstimateError').implement({
  description: "How observed times compare with the pattern's time estimate evaluated with each run's variables.",
  fields: (t) => ({
    runs: t.exposeInt('runs', { description: 'Runs whose estimate could be evaluated (the others have no estimate or lack a variable).' }),
    medianRatio: t.exposeFloat('medianRatio', { description: 'Median of observed ÷ estimated time: 1 is exact, 2 twice as slow as estimated.' }),
    estimatedMedianMs: t.exposeFloat('estimatedMedianMs', { description: 'Median of the estimated times, in milliseconds.' }),
  }),
});

const ExecutionStatsRef = builder.objectRef<ExecutionStats>('ExecutionStats').implement({
  description: 'How a tool version or a pattern behaved in the runs the pipeline reported, over a window, from the hourly and daily roll-ups.',
  fields: (t) => ({
    runs: t.exposeInt('runs', { description: 'Runs reported.' }),
    successes: t.exposeInt('successes', { description: 'Runs that succeeded.' }),
    successRate: t.float({
      nullable: true,
      resolve: (stats) => (stats.runs ? stats.successes / stats.runs : null),
      description: 'Successes over runs; null without runs.',
    }),
    durationMs: t.field({ type: DurationStats, nullable: true, resolve: (stats) => stats.durationMs, description: 'Durations; null without runs.' }),
    avgDurationMs: t.float({ nullable: true, resolve: (stats) => stats.durationMs?.mean ?? null, description: 'Mean duration in milliseconds (same as `durationMs.mean`).' }),
    cost: t.field({ type: CostStats, nullable: true, resolve: (stats) => stats.cost, description: 'Costs; null when no run reported one.' }),
    estimateError: t.field({ type: EstimateError, nullable: true, resolve: (stats) => stats.estimateError, description: 'Observed against estimated time; null without evaluable estimates.' }),
    drift: t.float({
      nullable: true,
      resolve: (stats) => stats.drift,
      description: '`estimateError.medianRatio` − 1: +0.8 means runs take 80 % longer than estimated, −0.5 half the estimate.',
    }),
    drifting: t.exposeBoolean('drifting', {
      description: '|drift| is above DRIFT_THRESHOLD over at least DRIFT_MIN_RUNS runs with an estimate in the window.',
    }),
    lastRunAt: t.expose('lastRunAt', { type: 'DateTime', nullable: true, description: 'When the latest reported run started.' }),
  }),
});

builder.prismaObjectField('Tool', 'executionStats', (t) =>
  t.field({
    type: ExecutionStatsRef,
    description: 'How this version behaved in the runs the pipeline reported, over `window`. Never stale: a read after a report includes it.',
    args: { window: t.arg({ type: StatsWindowEnum, defaultValue: 'LAST_30D', required: true, description: 'Which runs; the last 30 days by default.' }) },
    resolve: (tool, args, ctx) => ctx.loaders.executionStats().load({ by: 'tool', id: tool.id, window: args.window }),
  }),
);

builder.prismaObjectField('Pattern', 'executionStats', (t) =>
  t.field({
    type: ExecutionStatsRef,
    description: 'How this pattern of this tool version behaved in the runs the pipeline reported, over `window`.',
    args: { window: t.arg({ type: StatsWindowEnum, defaultValue: 'LAST_30D', required: true, description: 'Which runs; the last 30 days by default.' }) },
    resolve: (pattern, args, ctx) => ctx.loaders.executionStats().load({ by: 'pattern', id: pattern.id, window: args.window }),
  }),
);

const DriftingPatternRef = builder.objectRef<DriftingPattern>('DriftingPattern').implement({
  description: 'A pattern whose observed median time differs from its estimate by more than DRIFT_THRESHOLD.',
  fields: (t) => ({
    tool: t.field({
      type: ToolRef,
      nullable: true,
      description: 'The tool version (null if it has since been deleted).',
      resolve: async (drifting, _args, ctx, info) => {
        const row = await ctx.loaders.toolById(queryFromInfo({ context: ctx, info, typeName: 'Tool' }) as ToolQuery).load(drifting.toolId);
        return row && !row.deletedAt ? row : null;
      },
    }),
    capability: t.exposeString('capability', { description: 'Capability name.' }),
    pattern: t.exposeString('pattern', { description: 'Pattern name.' }),
    patternId: t.exposeID('patternId', { description: 'Id of the pattern (of this tool version).' }),
    runs: t.exposeInt('runs', { description: 'Runs in the window.' }),
    estimatedRuns: t.exposeInt('estimatedRuns', { description: 'Runs whose estimate could be evaluated.' }),
    observedMedianMs: t.exposeFloat('observedMedianMs', { description: 'Observed median time, ms.' }),
    estimatedMedianMs: t.exposeFloat('estimatedMedianMs', { description: 'Median of the estimates evaluated for those runs, ms.' }),
    medianRatio: t.exposeFloat('medianRatio', { description: 'Median of observed ÷ estimated time.' }),
    drift: t.exposeFloat('drift', { description: 'medianRatio − 1 (positive: slower than estimated).' }),
  }),
});

const FailingToolRef = builder.objectRef<FailingTool>('FailingTool').implement({
  description: 'A tool version whose success rate fell below the bound asked for.',
  fields: (t) => ({
    tool: t.field({
      type: ToolRef,
      nullable: true,
      description: 'The tool version (null if it has since been deleted).',
      resolve: async (failing, _args, ctx, info) => {
        const row = await ctx.loaders.toolById(queryFromInfo({ context: ctx, info, typeName: 'Tool' }) as ToolQuery).load(failing.toolId);
        return row && !row.deletedAt ? row : null;
      },
    }),
    runs: t.exposeInt('runs', { description: 'Runs in the window.' }),
    successes: t.exposeInt('successes', { description: 'Successful runs.' }),
    successRate: t.exposeFloat('successRate', { description: 'successes ÷ runs.' }),
  }),
});

builder.queryFields((t) => ({
  driftingPatterns: t.connection(
    {
      type: DriftingPatternRef,
      description: 'Patterns whose observed median time differs from the estimate by more than DRIFT_THRESHOLD over at least DRIFT_MIN_RUNS runs, worst first.',
      args: { window: t.arg({ type: StatsWindowEnum, defaultValue: 'LAST_7D', required: true, description: 'Which runs; the last 7 days by default.' }) },
      resolve: async (_root, args, ctx) => {
        if (args.first != null && (args.first < 0 || args.first > 200)) throw new PothosValidationError('Argument "first" must be between 0 and 200');
        return resolveArrayConnection({ args }, await driftingPatterns(ctx.prisma, ctx.telemetry.rollups, args.window, ctx.telemetry.drift));
      },
    },
    { name: 'DriftingPatternConnection', description: 'A page of drifting patterns, worst first.' },
    { name: 'DriftingPatternEdge', description: 'A drifting pattern with its cursor.' },
  ),
  failingTools: t.field({
    type: [FailingToolRef],
    description: 'Tool versions with at least `minRuns` runs in the window whose success rate is below `maxSuccessRate`, lowest first.',
    args: {
      window: t.arg({ type: StatsWindowEnum, defaultValue: 'LAST_24H', required: true, description: 'Which runs; the last 24 hours by default.' }),
      minRuns: t.arg.int({ defaultValue: 30, required: true, description: 'Fewest runs for a tool to be judged.' }),
      maxSuccessRate: t.arg.float({ defaultValue: 0.9, required: true, description: 'Tools below this success rate (0 to 1) are listed.' }),
    },
    resolve: (_root, args, ctx) => {
      if (args.minRuns < 1) throw new PothosValidationError('Argument "minRuns" must be at least 1');
      if (!(args.maxSuccessRate >= 0 && args.maxSuccessRate <= 1)) throw new PothosValidationError('Argument "maxSuccessRate" must be between 0 and 1');
      return failingTools(ctx.prisma, args.window, args.minRuns, args.maxSuccessRate);
    },
  }),
}));

const ExecutionInput = builder.inputType('ExecutionInput', {
  description: 'One run of a tool by the pipeline. Name the tool by `toolId`, or by `name`, `platform` and `version`.',
  fields: (t) => ({
    executionId: t.string({ required: true, description: "The reporter's idempotency key (up to 128 characters): a run reported again with it is stored once." }),
    toolId: t.id({ description: 'The tool version by id.' }),
    name: t.string({ description: 'Tool name (with platform and version).' }),
    platform: t.string({ description: 'Platform, case-insensitive.' }),
    version: t.string({ description: 'The version that ran.' }),
    capability: t.string({ required: true, description: 'Capability name.' }),
    pattern: t.string({ required: true, description: 'Pattern name within the capability.' }),
    startedAt: t.field({ type: 'DateTime', required: true, description: 'When the run started; at most 5 minutes in the future, and within TELEMETRY_RETENTION_DAYS.' }),
    durationMs: t.float({ required: true, description: 'How long it took, in milliseconds (0 or more).' }),
    success: t.boolean({ required: true, description: 'Whether it succeeded.' }),
    cost: t.float({ description: 'What it cost (0 or more), in the unit of the pattern’s cost estimate.' }),
    errorType: t.string({ description: 'A short error class (TIMEOUT, AUTH...), up to 128 characters.' }),
    errorMessage: t.string({ description: 'The error text; stored truncated to 2 KiB.' }),
    environment: t.string({ description: 'Where it ran (production, staging...), up to 64 characters.' }),
    variables: t.field({ type: 'JSON', description: 'The numbers the run used, e.g. `{"N": 250}`; the estimates are evaluated with them.' }),
    decisionId: t.string({
      description:
        'The selection decision that chose this tool, up to 512 characters: the pipeline\'s own id, or the `decisionId` selectTools gave. A decisionId from a decision that ' +
        'assigned an experiment arm ties the run to that unit when `unitId` is not given (an explicit `unitId` wins); one that does not hold up is stored but not attributed, and the item\'s message says why.',
    }),
    unitId: t.string({ description: "The experiment unit (request, session, tenant) the run belongs to." }),
  }),
});

const ExecutionOutcomeEnum = builder.enumType('ExecutionOutcome', {
  description: 'What happened to one reported run.',
  values: {
    ACCEPTED: { description: 'Stored.' },
    DUPLICATE: { description: 'Its executionId was already stored (or repeated in the batch): nothing changed.' },
    REJECTED: { description: 'Not stored; see `reason`.' },
  } as const,
});

const REASON_DESCRIPTIONS: Record<RejectionReason, string> = {
  INVALID_INPUT: 'A field is missing, of the wrong type or too long.',
  UNKNOWN_TOOL: 'No such tool version.',
  UNKNOWN_PATTERN: 'The tool version has no such capability and pattern.',
  NEGATIVE_DURATION: 'durationMs is negative.',
  STARTED_IN_FUTURE: 'startedAt is more than 5 minutes ahead of the catalog’s clock.',
  STARTED_TOO_LONG_AGO: 'startedAt is older than TELEMETRY_RETENTION_DAYS.',
};

const RejectionReasonEnum = builder.enumType('ExecutionRejection', {
  description: 'Why a reported run was refused.',
  values: Object.fromEntries(REJECTION_REASONS.map((r) => [r, { value: r, description: REASON_DESCRIPTIONS[r] }])) as Record<
    RejectionReason,
    { value: RejectionReason; description: string }
  >,
});

const ExecutionResultRef = builder.objectRef<ExecutionResult>('ExecutionReportItem').implement({
  description: 'The outcome of one reported run, by its position in the list.',
  fields: (t) => ({
    index: t.exposeInt('index', { description: 'Position in `executions`, from 0.' }),
    executionId: t.exposeString('executionId', { nullable: true, description: 'Its executionId, when it had one.' }),
    outcome: t.field({ type: ExecutionOutcomeEnum, resolve: (r) => r.outcome, description: 'Accepted, duplicate or rejected.' }),
    reason: t.field({ type: RejectionReasonEnum, nullable: true, resolve: (r) => r.reason, description: 'Why it was rejected.' }),
    message: t.exposeString('message', { nullable: true, description: 'Details, naming the field.' }),
  }),
});

const ReportExecutionsResultRef = builder.objectRef<IngestSummary>('ReportExecutionsResult').implement({
  description: 'Counts and per-run outcomes of one report.',
  fields: (t) => ({
    accepted: t.exposeInt('accepted', { description: 'Runs stored.' }),
    duplicates: t.exposeInt('duplicates', { description: 'Runs already stored.' }),
    rejected: t.exposeInt('rejected', { description: 'Runs refused.' }),
    items: t.field({ type: [ExecutionResultRef], resolve: (s) => s.results, description: 'One outcome per run, in order.' }),
  }),
});

builder.mutationField('reportExecutions', (t) =>
  t.field({
    type: ReportExecutionsResultRef,
    // A pipeline's reporter key may do this and nothing else that changes data.
    skipTypeScopes: true,
    authScopes: { reporter: true },
    description:
      'Reports up to 1,000 runs. Each is checked on its own: valid runs are stored even when others are rejected, and a run whose ' +
      'executionId is already stored is a DUPLICATE that changes nothing. Needs a reporter key or above. Not a catalog change: ' +
      'no catalog event, no cache flush.',
    args: { executions: t.arg({ type: [ExecutionInput], required: true, description: 'The runs, at most 1,000.' }) },
    resolve: (_root, args, ctx) => {
      if (args.executions.length > MAX_BATCH) throw new PothosValidationError(`Argument "executions" holds ${args.executions.length} runs; at most ${MAX_BATCH} per call`);
      return ctx.telemetry.ingestor.ingest(args.executions, 'graphql', ctx.caller.name);
    },
  }),
);
