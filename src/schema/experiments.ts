import { PothosValidationError } from '@pothos/core';
import { GraphQLError } from 'graphql';
import { ObservationsUnavailableError } from '../experiments/observations.js';
import { resolveOffsetConnection } from '@pothos/plugin-relay';
import { CatalogValidationError, ConflictError, NotFoundError } from '../catalog/errors.js';
import { changeOrigin, type Context } from '../context.js';
import { assignUnit } from '../experiments/experimentCatalog.js';
import {
  concludeExperiment,
  createExperiment,
  setExperimentCoverage,
  startExperiment,
  stopExperiment,
} from '../experiments/commands.js';
import { DEFAULT_ALPHA, DEFAULT_MINIMUM_SAMPLE_SIZE, type ArmDefinition, type ExperimentDefinition } from '../experiments/definition.js';
import { experimentResults, type ExperimentResults } from '../experiments/results.js';
import { SRM_ALPHA, SRM_MIN_UNITS_PER_ARM } from '../experiments/statistics.js';
import { builder } from './builder.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './paging.js';
import './errors.js';

/**
 * An experiment as the API shows it: its definition (from the in-memory experiments) and, computed
 * once per request and only when a statistics field is asked for, its results from the runs reported.
 */
class ExperimentView {
  #results: Promise<ExperimentResults> | undefined;
  constructor(
    readonly definition: ExperimentDefinition,
    private readonly ctx: Context,
  ) {}
  results(): Promise<ExperimentResults> {
    return (this.#results ??= experimentResults(this.definition, this.ctx.observations, this.ctx.prisma).catch((error: unknown) => {
      if (error instanceof ObservationsUnavailableError) throw new GraphQLError(error.message, { extensions: { code: 'EXECUTIONS_WITHOUT_UNITS' } });
      throw error;
    }));
  }
}

interface ArmView {
  experiment: ExperimentView;
  index: number;
  arm: ArmDefinition;
}

const ExperimentStatusEnum = builder.enumType('ExperimentStatus', {
  description: 'Lifecycle of an experiment.',
  values: {
    DRAFT: { description: 'Defined; assigns nobody yet.' },
    RUNNING: { description: 'Units are assigned to arms; at most one per capability and platform.' },
    STOPPED: { description: 'No more assignment; results stay readable.' },
    CONCLUDED: { description: 'A winner was recorded.' },
  } as const,
});

const ExperimentMetricEnum = builder.enumType('ExperimentMetric', {
  description: 'What an experiment compares.',
  values: {
    SUCCESS_RATE: { description: 'Share of successful runs; higher is better. Two-proportion z-test.' },
    DURATION: { description: 'Run duration in ms; lower is better. Welch’s t-test.' },
    COST: { description: 'Run cost; lower is better. Welch’s t-test over runs reported with a cost.' },
  } as const,
});

const ExperimentToolRef = builder.objectRef<ArmDefinition>('ExperimentTool').implement({
  description: 'The tool an arm puts first.',
  fields: (t) => ({
    name: t.exposeString('toolName', { description: 'Tool name.' }),
    platform: t.exposeString('toolPlatform', { description: 'Platform.' }),
    version: t.exposeString('toolVersion', { nullable: true, description: 'Pinned version; null means whichever version is latest.' }),
  }),
});

const LiftRef = builder.objectRef<{ relative: number | null; ci95: [number, number] | null }>('ExperimentLift').implement({
  description: 'Relative lift of an arm’s mean over the control’s (mean_arm / mean_control − 1) with its 95 % interval by the delta method.',
  fields: (t) => ({
    relative: t.exposeFloat('relative', { nullable: true, description: 'E.g. −0.12: 12 % lower than the control (better, for DURATION or COST).' }),
    ci95: t.exposeFloatList('ci95', { nullable: true, description: '[low, high] of the 95 % confidence interval.' }),
  }),
});

const ComparisonRef = builder
  .objectRef<{ lift: { relative: number | null; ci95: [number, number] | null }; statistic: number | null; degreesOfFreedom: number | null; pValue: number | null }>('ExperimentComparison')
  .implement({
    description: 'One arm against the control (the first arm).',
    fields: (t) => ({
      lift: t.field({ type: LiftRef, resolve: (c) => c.lift, description: 'Relative lift and its interval.' }),
      statistic: t.exposeFloat('statistic', { nullable: true, description: 'z (SUCCESS_RATE) or Welch’s t.' }),
      degreesOfFreedom: t.exposeFloat('degreesOfFreedom', { nullable: true, description: 'Welch–Satterthwaite degrees of freedom (DURATION, COST).' }),
      pValue: t.exposeFloat('pValue', { nullable: true, description: 'Two-sided p-value.' }),
    }),
  });

const SrmRef = builder.objectRef<{ chiSquare: number | null; pValue: number | null; alarm: boolean }>('SampleRatioMismatch').implement({
  description: `Chi-square test of units per arm against the configured weights. Alarms when p < ${SRM_ALPHA} with at least ${SRM_MIN_UNITS_PER_ARM} units in every arm; no winner is recommended while it alarms.`,
  fields: (t) => ({
    chiSquare: t.exposeFloat('chiSquare', { nullable: true, description: 'The statistic; null before any unit reported.' }),
    pValue: t.exposeFloat('pValue', { nullable: true, description: 'Its p-value (arms − 1 degrees of freedom).' }),
    alarm: t.exposeBoolean('alarm', { description: 'True when units do not follow the weights: the results cannot be trusted.' }),
  }),
});

const armStats = async (arm: ArmView) => (await arm.experiment.results()).arms[arm.index]!;
const comparisonOf = async (arm: ArmView) => (await arm.experiment.results()).comparisons.find((c) => c.armIndex === arm.index) ?? null;

const ExperimentArmRef = builder.objectRef<ArmView>('ExperimentArm').implement({
  description: 'One arm: its tool, weight and bucket range, and what its runs show.',
  fields: (t) => ({
    key: t.string({ resolve: (a) => a.arm.key, description: 'Arm key, unique in the experiment.' }),
    control: t.boolean({ resolve: (a) => a.index === 0, description: 'True for the first arm, which every other arm is compared with.' }),
    tool: t.field({ type: ExperimentToolRef, resolve: (a) => a.arm, description: 'Tool the arm puts first.' }),
    pattern: t.string({ nullable: true, resolve: (a) => a.arm.pattern, description: 'Pattern the arm uses; null for any of the tool’s patterns for the capability.' }),
    weight: t.float({ resolve: (a) => a.arm.weight, description: 'Share of covered units.' }),
    bucketRange: t.floatList({
      resolve: (a) => {
        const start = a.experiment.definition.arms.slice(0, a.index).reduce((sum, arm) => sum + arm.weight, 0);
        return [start, start + a.experiment.definition.coverage * a.arm.weight];
      },
      description: '[start, end) of the buckets this arm takes: start = sum of earlier weights, end = start + coverage × weight.',
    }),
    units: t.int({ resolve: async (a) => (await armStats(a)).units, description: 'Distinct units with at least one observation.' }),
    runs: t.int({ resolve: async (a) => (await armStats(a)).runs, description: 'Runs that are observations of this arm.' }),
    successRate: t.float({ nullable: true, resolve: async (a) => (await armStats(a)).successRate, description: 'Successful runs ÷ runs.' }),
    mean: t.float({ nullable: true, resolve: async (a) => (await armStats(a)).mean, description: 'Mean of the metric (the success rate for SUCCESS_RATE).' }),
    variance: t.float({ nullable: true, resolve: async (a) => (await armStats(a)).variance, description: 'Sample variance of the metric (p(1 − p) for SUCCESS_RATE).' }),
    ci95: t.floatList({ nullable: true, resolve: async (a) => (await armStats(a)).ci95, description: '95 % confidence interval of the mean.' }),
    mismatchedRuns: t.int({
      resolve: async (a) => (await a.experiment.results()).observed.mismatchedRuns[a.index]!,
      description: 'Runs by this arm’s units with another tool or pattern: counted, never observations.',
    }),
    versusControl: t.field({
      type: ComparisonRef,
      nullable: true,
      resolve: async (a) => {
        const c = await comparisonOf(a);
        return c && { lift: { relative: c.relativeLift, ci95: c.liftCi95 }, statistic: c.statistic, degreesOfFreedom: c.degreesOfFreedom, pValue: c.pValue };
      },
      description: 'This arm against the control; null for the control.',
    }),
  }),
});

const ExperimentRef = builder.objectRef<ExperimentView>('Experiment').implement({
  description: 'A comparison of tools (or versions) for one capability on one platform, on real runs.',
  fields: (t) => ({
    key: t.string({ resolve: (e) => e.definition.key, description: 'Unique, stable key.' }),
    description: t.string({ resolve: (e) => e.definition.description, description: 'What it tests and why.' }),
    capability: t.string({ resolve: (e) => e.definition.capability, description: 'Capability compared (lower-case).' }),
    platform: t.string({ resolve: (e) => e.definition.platform, description: 'Platform of every arm’s tool.' }),
    metric: t.field({ type: ExperimentMetricEnum, resolve: (e) => e.definition.metric, description: 'What is compared.' }),
    coverage: t.float({ resolve: (e) => e.definition.coverage, description: 'Share of units that take part, 0–1.' }),
    minimumSampleSize: t.int({ resolve: (e) => e.definition.minimumSampleSize, description: 'Runs every arm needs before a result may be significant.' }),
    alpha: t.float({ resolve: (e) => e.definition.alpha, description: 'Significance level (divided by arms − 1 when there are several challengers).' }),
    seed: t.string({ resolve: (e) => e.definition.seed, description: 'Hash seed (the key unless given).' }),
    status: t.field({ type: ExperimentStatusEnum, resolve: (e) => e.definition.status, description: 'Where it is in its lifecycle.' }),
    createdAt: t.field({ type: 'DateTime', resolve: (e) => e.definition.createdAt, description: 'When it was created.' }),
    createdBy: t.string({ resolve: (e) => e.definition.createdBy, description: 'Who created it.' }),
    startedAt: t.field({ type: 'DateTime', nullable: true, resolve: (e) => e.definition.startedAt, description: 'When it started; runs from then on count.' }),
    stoppedAt: t.field({ type: 'DateTime', nullable: true, resolve: (e) => e.definition.stoppedAt, description: 'When it stopped; runs after it do not count.' }),
    concludedAt: t.field({ type: 'DateTime', nullable: true, resolve: (e) => e.definition.concludedAt, description: 'When it was concluded.' }),
    arms: t.field({
      type: [ExperimentArmRef],
      resolve: (e) => e.definition.arms.map((arm, index) => ({ experiment: e, index, arm })),
      description: 'Arms in order; the first is the control.',
    }),
    lift: t.field({
      type: LiftRef,
      nullable: true,
      resolve: async (e) => {
        const primary = (await e.results()).primary;
        return primary && { relative: primary.relativeLift, ci95: primary.liftCi95 };
      },
      description: 'Lift of the deciding challenger (the best one; the only one with two arms) over the control.',
    }),
    pValue: t.float({ nullable: true, resolve: async (e) => (await e.results()).primary?.pValue ?? null, description: 'p-value of the deciding comparison.' }),
    srm: t.field({ type: SrmRef, resolve: async (e) => (await e.results()).srm, description: 'Sample-ratio mismatch check.' }),
    significant: t.boolean({
      resolve: async (e) => (await e.results()).significant,
      description: 'True only when every arm has minimumSampleSize runs and the deciding p-value is below alpha.',
    }),
    recommendedWinner: t.string({
      nullable: true,
      resolve: async (e) => {
        const { winnerIndex } = await e.results();
        return winnerIndex === null ? null : e.definition.arms[winnerIndex]!.key;
      },
      description: 'Arm the statistics recommend; null when not significant or while the sample ratio alarms.',
    }),
    winner: t.string({
      nullable: true,
      resolve: async (e) => {
        if (e.definition.status === 'CONCLUDED') return e.definition.winner;
        const { winnerIndex } = await e.results();
        return winnerIndex === null ? null : e.definition.arms[winnerIndex]!.key;
      },
      description: 'The winner recorded when concluded; before that, the recommended winner (or null).',
    }),
    recommendation: t.string({ resolve: async (e) => (await e.results()).recommendation, description: 'What to do next, in one sentence.' }),
    mismatchedRuns: t.int({
      resolve: async (e) => (await e.results()).observed.mismatchedRuns.reduce((sum, n) => sum + n, 0),
      description: 'Runs by units in the experiment whose tool or pattern was not their arm’s.',
    }),
    outsideRuns: t.int({ resolve: async (e) => (await e.results()).observed.outsideRuns, description: 'Runs by units the experiment does not cover.' }),
  }),
});

const AssignmentRef = builder
  .objectRef<{ experiment: ExperimentView; unitId: string; bucket: number; armIndex: number | null }>('ExperimentAssignment')
  .implement({
    description: 'Where a unit falls in an experiment: computed from the unit id alone, never stored, never moving.',
    fields: (t) => ({
      experimentKey: t.string({ resolve: (a) => a.experiment.definition.key, description: 'The experiment.' }),
      unitId: t.exposeString('unitId', { description: 'The unit asked about.' }),
      bucket: t.exposeFloat('bucket', { description: 'GrowthBook hash v2 bucket: fnv1a32(String(fnv1a32(seed + unitId))) % 10000 / 10000.' }),
      inExperiment: t.boolean({ resolve: (a) => a.armIndex !== null, description: 'False when the bucket is outside every arm’s range (coverage).' }),
      active: t.boolean({
        resolve: (a) => a.experiment.definition.status === 'RUNNING' && a.armIndex !== null,
        description: 'True when the experiment is running and the unit is in it: selection puts the arm’s tool first.',
      }),
      arm: t.field({
        type: ExperimentArmRef,
        nullable: true,
        resolve: (a) => (a.armIndex === null ? null : { experiment: a.experiment, index: a.armIndex, arm: a.experiment.definition.arms[a.armIndex]! }),
        description: 'The unit’s arm; null when it is not in the experiment.',
      }),
    }),
  });

const ExperimentToolInput = builder.inputType('ExperimentToolInput', {
  description: 'The tool of an arm.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Tool name.' }),
    platform: t.string({ required: true, description: 'Platform (every arm of an experiment shares one).' }),
    version: t.string({ description: 'Pin a version; without it the arm follows the latest version.' }),
  }),
});

const ExperimentArmInput = builder.inputType('ExperimentArmInput', {
  description: 'One arm.',
  fields: (t) => ({
    key: t.string({ required: true, description: 'Arm key: letters, digits, `. _ -`, up to 64.' }),
    tool: t.field({ type: ExperimentToolInput, required: true, description: 'Its tool: must exist, be enabled and offer the capability.' }),
    pattern: t.string({ description: 'Restrict the arm to one of the tool’s patterns for the capability.' }),
    weight: t.float({ required: true, description: 'Share of covered units, > 0; weights sum to 1 ± 0.01.' }),
  }),
});

const CreateExperimentInput = builder.inputType('CreateExperimentInput', {
  description: 'A new experiment, created as a DRAFT.',
  fields: (t) => ({
    key: t.string({ required: true, description: 'Unique, stable key (also the default hash seed).' }),
    description: t.string({ description: 'What it tests and why.' }),
    capability: t.string({ required: true, description: 'Capability compared (case-insensitive).' }),
    arms: t.field({ type: [ExperimentArmInput], required: true, description: 'Two or more arms; the first is the control.' }),
    coverage: t.float({ defaultValue: 1, description: 'Share of units that take part, 0–1.' }),
    metric: t.field({ type: ExperimentMetricEnum, required: true, description: 'What is compared.' }),
    minimumSampleSize: t.int({ defaultValue: DEFAULT_MINIMUM_SAMPLE_SIZE, description: 'Runs per arm before a result may be significant.' }),
    alpha: t.float({ defaultValue: DEFAULT_ALPHA, description: 'Significance level, 0 < alpha < 0.5.' }),
    seed: t.string({ description: 'Hash seed; defaults to the key. Give the seed a GrowthBook experiment uses to assign the same units.' }),
  }),
});

async function view(ctx: Context, key: string): Promise<ExperimentView | null> {
  const experiment = (await ctx.experiments.snapshot(ctx.prisma)).byKey.get(key);
  return experiment ? new ExperimentView(experiment, ctx) : null;
}

builder.queryFields((t) => ({
  experiment: t.field({
    type: ExperimentRef,
    nullable: true,
    description: 'One experiment by key, with its results from the runs reported so far (never served from the response cache).',
    args: { key: t.arg.string({ required: true, description: 'Experiment key.' }) },
    resolve: (_root, args, ctx) => view(ctx, args.key),
  }),
  experiments: t.connection({
    type: ExperimentRef,
    description: 'Experiments, newest first, optionally of one status.',
    args: { status: t.arg({ type: ExperimentStatusEnum, description: 'Only experiments in this status.' }) },
    resolve: async (_root, args, ctx) => {
      if ((args.first ?? 0) > MAX_PAGE_SIZE) throw new PothosValidationError(`Argument "first" must be at most ${MAX_PAGE_SIZE}, got ${args.first}`);
      const { all } = await ctx.experiments.snapshot(ctx.prisma);
      const selected = args.status ? all.filter((e) => e.status === args.status) : all;
      return resolveOffsetConnection({ args: { ...args, first: args.first ?? (args.last ? undefined : DEFAULT_PAGE_SIZE) }, defaultSize: DEFAULT_PAGE_SIZE, maxSize: MAX_PAGE_SIZE }, ({ limit, offset }) =>
        selected.slice(offset, offset + limit).map((e) => new ExperimentView(e, ctx)),
      );
    },
  }),
  assignment: t.field({
    type: AssignmentRef,
    nullable: true,
    description: 'The arm a unit gets in an experiment, and its bucket; from memory, no SQL. Null when there is no such experiment.',
    args: {
      experimentKey: t.arg.string({ required: true, description: 'Experiment key.' }),
      unitId: t.arg.string({ required: true, description: 'The pipeline’s stable id of the unit (job, host, tenant...).' }),
    },
    resolve: async (_root, args, ctx) => {
      if (args.unitId.length > 256) throw new PothosValidationError('Argument "unitId" must be at most 256 characters');
      const experiment = await view(ctx, args.experimentKey);
      if (!experiment) return null;
      return { experiment, unitId: args.unitId, ...assignUnit(experiment.definition, args.unitId) };
    },
  }),
}));

const EXPERIMENT_ERRORS = [CatalogValidationError, NotFoundError, ConflictError];
const asView = async (ctx: Context, definition: ExperimentDefinition) => new ExperimentView(definition, ctx);

builder.mutationFields((t) => ({
  createExperiment: t.field({
    type: ExperimentRef,
    errors: { types: EXPERIMENT_ERRORS, directResult: true },
    description: 'Creates an experiment as a DRAFT after checking its arms. Needs an editor key.',
    args: {
      input: t.arg({ type: CreateExperimentInput, required: true, description: 'The definition.' }),
      reason: t.arg.string({ description: 'Why, for the audit log.' }),
    },
    resolve: async (_root, args, ctx) => asView(ctx, await createExperiment(ctx.prisma, args.input, changeOrigin(ctx, args.reason))),
  }),
  startExperiment: t.field({
    type: ExperimentRef,
    errors: { types: EXPERIMENT_ERRORS, directResult: true },
    description: 'DRAFT → RUNNING, after checking the arms again. Refused while another experiment runs for the same capability and platform.',
    args: { key: t.arg.string({ required: true, description: 'Experiment key.' }), reason: t.arg.string({ description: 'Why, for the audit log.' }) },
    resolve: async (_root, args, ctx) => asView(ctx, await startExperiment(ctx.prisma, args.key, changeOrigin(ctx, args.reason))),
  }),
  stopExperiment: t.field({
    type: ExperimentRef,
    errors: { types: EXPERIMENT_ERRORS, directResult: true },
    description: 'RUNNING → STOPPED: no more units are assigned; runs after now do not count.',
    args: { key: t.arg.string({ required: true, description: 'Experiment key.' }), reason: t.arg.string({ description: 'Why, for the audit log.' }) },
    resolve: async (_root, args, ctx) => asView(ctx, await stopExperiment(ctx.prisma, args.key, changeOrigin(ctx, args.reason))),
  }),
  setExperimentCoverage: t.field({
    type: ExperimentRef,
    errors: { types: EXPERIMENT_ERRORS, directResult: true },
    description:
      'Changes the share of units that take part (0–1), in any status but CONCLUDED: a ramp-up or a cut-back. Each arm’s bucket range keeps its start, so units join or leave and none moves to another arm. Audited; an EXPERIMENT_COVERAGE_CHANGED event.',
    args: {
      key: t.arg.string({ required: true, description: 'Experiment key.' }),
      coverage: t.arg.float({ required: true, description: 'New coverage, 0–1.' }),
      reason: t.arg.string({ description: 'Why, for the audit log.' }),
    },
    resolve: async (_root, args, ctx) => asView(ctx, await setExperimentCoverage(ctx.prisma, args.key, args.coverage, changeOrigin(ctx, args.reason))),
  }),
  concludeExperiment: t.field({
    type: ExperimentRef,
    errors: { types: EXPERIMENT_ERRORS, directResult: true },
    description:
      'RUNNING or STOPPED → CONCLUDED with a winner. With deprecateLosers, in the same transaction: each losing arm’s tool is deprecated with the winner’s tool as successor; ' +
      'a losing arm on an older version of the winner’s own tool has that version alone deprecated, naming the tool (whose latest version is the winner) as successor. ' +
      'Refused (ValidationError on deprecateLosers) when a losing version is the tool’s latest, when the winning version is no longer the latest, or when both are the same version.',
    args: {
      key: t.arg.string({ required: true, description: 'Experiment key.' }),
      winner: t.arg.string({ required: true, description: 'Key of the winning arm.' }),
      deprecateLosers: t.arg.boolean({ defaultValue: false, description: 'Deprecate every losing arm’s tool (or, for an older version of the winner’s tool, that version), naming the winner as successor.' }),
      reason: t.arg.string({ description: 'Why, for the audit log.' }),
    },
    resolve: async (_root, args, ctx) =>
      asView(ctx, await concludeExperiment(ctx.prisma, args.key, args.winner, args.deprecateLosers ?? false, changeOrigin(ctx, args.reason))),
  }),
}));
