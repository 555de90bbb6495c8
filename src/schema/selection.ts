import { PothosValidationError } from '@pothos/core';
import {
  EXCLUSION_REASONS,
  FEATURES,
  PREFERENCE_MODES,
  SelectionInputError,
  DEFAULT_MIN_RUNS,
  type ExcludedCandidate,
  type FeatureVector,
  type ObservedFigures,
  type SelectionCandidate,
  type SelectionExperiment,
  type ToolSelection,
  type UsedEstimate,
} from '../selection/selectTools.js';
import { builder } from './builder.js';
import { memoryRowOfList } from './memoryRows.js';
import { ToolRef } from './tool.js';

const PreferenceModeEnum = builder.enumType('PreferenceMode', {
  description: 'Named weightings of the five features. BALANCED: 0.2 each; every other mode puts 0.4 on its feature and 0.15 on each of the others.',
  values: {
    FAST: { description: '0.4 on time.' },
    ACCURATE: { description: '0.4 on accuracy.' },
    THOROUGH: { description: '0.4 on completeness.' },
    CHEAP: { description: '0.4 on cost.' },
    SIMPLE: { description: '0.4 on complexity (simpler is better).' },
    BALANCED: { description: '0.2 on each feature.' },
  } as const satisfies Record<(typeof PREFERENCE_MODES)[number], unknown>,
});

const EnvironmentEnum = builder.enumType('SelectionEnvironment', {
  description: 'Where the chosen tool will run.',
  values: {
    PRODUCTION: { description: 'Patterns whose policy says `production_safe: false` are excluded.' },
    NON_PRODUCTION: { description: 'Every pattern may be used.' },
  } as const,
});

const ExecutionHintEnum = builder.enumType('ExecutionHint', {
  description: 'How the pipeline should run the chosen pattern.',
  values: {
    IMMEDIATE: { description: 'Run now: no approval needed and estimated at most 5,000 ms.' },
    BACKGROUND: { description: 'Run as a background job: estimated above 5,000 ms.' },
    APPROVAL_REQUIRED: { description: 'The pattern\'s policy requires approval before it runs.' },
  } as const,
});

const SlaClassEnum = builder.enumType('SlaClass', {
  description: 'Service class by estimated time.',
  values: {
    INTERACTIVE: { description: 'Under 1 s.' },
    BATCH: { description: 'From 1 s to under 10 s.' },
    BACKGROUND: { description: '10 s or more.' },
  } as const,
});

const ExclusionReasonEnum = builder.enumType('ExclusionReason', {
  description: 'Why a candidate pattern was not ranked. Checked in the order listed here; the first that applies is reported.',
  values: {
    WRONG_PLATFORM: { description: 'The request named another platform.' },
    DISABLED: { description: 'The tool is switched off or its latest version has status DISABLED.' },
    DEPRECATED: { description: 'The tool is deprecated and the request did not include deprecated tools; the detail names the successor.' },
    MISSING_VARIABLE: { description: 'An estimate needs variables that neither the request nor the pattern\'s input defaults give; the detail names them.' },
    EXPRESSION_ERROR: { description: 'An estimate is absent, does not parse, or does not give a finite number; the detail says which and why.' },
    POLICY_MAX_COST: { description: 'The estimated cost is above the pattern\'s own `policy.max_cost`.' },
    OVER_COST_LIMIT: { description: 'The estimated cost is above the request\'s `maxCost`.' },
    OVER_TIME_LIMIT: { description: 'The estimated time is above the request\'s `maxTimeMs`.' },
    NOT_PRODUCTION_SAFE: { description: '`policy.production_safe` is false and the environment is PRODUCTION.' },
    REQUIRES_APPROVAL: { description: '`policy.requires_approval` is true and the request does not allow approval.' },
  } as const satisfies Record<(typeof EXCLUSION_REASONS)[number], unknown>,
});

const FeatureDescriptions: Record<(typeof FEATURES)[number], string> = {
  time: 'Time: 1 − (ln t − ln 50) / (ln 60000 − ln 50), t the estimated ms clamped to [50, 60000].',
  cost: 'Cost: 1 − c / 10, c the estimated cost clamped to [0, 10].',
  complexity: 'Complexity: 1 − complexity_score (0.5 when absent).',
  accuracy: 'Accuracy: preference_match.accuracy clamped to [0, 1] (0.5 when absent).',
  completeness: 'Completeness: preference_match.completeness clamped to [0, 1] (0.5 when absent).',
};

const FeatureVectorRef = builder.objectRef<FeatureVector>('FeatureVector').implement({
  description: 'One number per feature: normalised features (0–1), weights, or weight × feature contributions.',
  fields: (t) => Object.fromEntries(FEATURES.map((feature) => [feature, t.exposeFloat(feature, { description: FeatureDescriptions[feature] })])) as never,
});

const SelectionWeightsInput = builder.inputType('SelectionWeights', {
  description: 'Custom weights instead of a preference mode: each from 0 to 1, summing to 1 (± 0.01).',
  fields: (t) => ({
    time: t.float({ required: true, description: 'Weight of the time feature.' }),
    cost: t.float({ required: true, description: 'Weight of the cost feature.' }),
    complexity: t.float({ required: true, description: 'Weight of the complexity feature.' }),
    accuracy: t.float({ required: true, description: 'Weight of the accuracy feature.' }),
    completeness: t.float({ required: true, description: 'Weight of the completeness feature.' }),
  }),
});

const SelectToolsInput = builder.inputType('SelectToolsInput', {
  description: 'What the pipeline needs done, its numbers and its constraints.',
  fields: (t) => ({
    capability: t.string({ required: true, description: 'Capability name, matched case-insensitively.' }),
    variables: t.field({
      type: 'JSON',
      description: 'Numbers by name for the estimate expressions, e.g. `{"N": 1000, "file_size_kb": 2048}`. They override the inputs\' defaults and the globals N = 100, pages = 1, p95_latency = 1000.',
    }),
    preference: t.field({ type: PreferenceModeEnum, defaultValue: 'BALANCED', description: 'Named weighting; ignored when `weights` is given.' }),
    weights: t.field({ type: SelectionWeightsInput, description: 'Custom weights instead of `preference`.' }),
    platform: t.string({ description: 'Only tools of this platform (case-insensitive); the others are listed as WRONG_PLATFORM.' }),
    environment: t.field({ type: EnvironmentEnum, defaultValue: 'PRODUCTION', description: 'Where the tool will run.' }),
    maxTimeMs: t.float({ description: 'Exclude patterns estimated above this many milliseconds.' }),
    maxCost: t.float({ description: 'Exclude patterns estimated above this cost.' }),
    allowApproval: t.boolean({ defaultValue: true, description: 'False excludes patterns whose policy requires approval.' }),
    includeDeprecated: t.boolean({ defaultValue: false, description: 'Rank deprecated tools too.' }),
    limit: t.int({ defaultValue: 5, description: 'How many ranked candidates to return (1–50); every exclusion is returned regardless.' }),
    useObserved: t.boolean({
      defaultValue: false,
      description:
        'Use what runs showed over the last 7 days (median time, mean cost) in place of the estimates for every pattern with at least `minRuns` runs. ' +
        'The observed figures are then what the limits, the policy and the features are computed on; `estimate.source` says which were used.',
    }),
    minRuns: t.int({ defaultValue: DEFAULT_MIN_RUNS, description: 'Runs (last 7 days) a pattern needs before its observed figures replace its estimates; at least 1.' }),
    unitId: t.string({
      description:
        'The unit (job, session, tenant) this decision is for. When an experiment runs for the capability (and platform), a unit in it gets its arm\'s tool first, ' +
        'if that tool passes this request\'s policy and limits; `experiment` says what happened. Without it, selection ignores experiments.',
    }),
  }),
});

const EstimateSourceEnum = builder.enumType('EstimateSource', {
  description: 'Where the time and cost a candidate was judged on came from.',
  values: {
    ESTIMATE: { description: 'The pattern\'s estimate expressions, evaluated with the request\'s variables.' },
    OBSERVED: {
      description:
        'Runs reported over the last 7 days (at least `minRuns`): the median time, and the mean cost (the expression\'s cost when no run reported one).',
    },
  } as const,
});

const ExpressionEstimateRef = builder.objectRef<{ timeMs: number; cost: number }>('ExpressionEstimate').implement({
  description: 'The pattern\'s estimate expressions evaluated with the request\'s variables.',
  fields: (t) => ({
    timeMs: t.exposeFloat('timeMs', { description: 'Estimated time in milliseconds.' }),
    cost: t.exposeFloat('cost', { description: 'Estimated cost.' }),
  }),
});

const ObservedFiguresRef = builder.objectRef<ObservedFigures>('ObservedFigures').implement({
  description: 'What reported runs of the pattern (this tool version) showed over the last 7 days.',
  fields: (t) => ({
    runs: t.exposeInt('runs', { description: 'Runs reported over the last 7 days.' }),
    timeMs: t.float({ resolve: (o) => o.p50TimeMs, description: 'Median duration in milliseconds (from the roll-ups\' quantile sketches).' }),
    cost: t.float({ nullable: true, resolve: (o) => o.meanCost, description: 'Mean reported cost; null when no run reported a cost.' }),
  }),
});

const EstimateRef = builder.objectRef<UsedEstimate>('SelectionEstimate').implement({
  description:
    'The time and cost the candidate was ranked and checked on (`timeMs`, `cost`, `source`), with the expressions\' figures (`expression`) and, ' +
    'when `useObserved` was asked for, the observed ones (`observed`) beside them.',
  fields: (t) => ({
    timeMs: t.exposeFloat('timeMs', { description: 'Time in milliseconds used for the time feature, the time limit and the execution hint.' }),
    cost: t.exposeFloat('cost', { description: 'Cost used for the cost feature, the cost limits and the policy.' }),
    source: t.field({ type: EstimateSourceEnum, resolve: (e) => e.source, description: 'Where `timeMs` and `cost` came from.' }),
    expression: t.field({
      type: ExpressionEstimateRef,
      nullable: true,
      resolve: (e) => e.expression,
      description: 'The expressions\' figures; null when they could not be evaluated and observed figures stood in.',
    }),
    observed: t.field({
      type: ObservedFiguresRef,
      nullable: true,
      resolve: (e) => e.observed,
      description: 'What runs showed; null unless `useObserved` was asked for and the pattern has runs in the last 7 days (shown even below `minRuns`).',
    }),
  }),
});

const CandidateExperimentRef = builder.objectRef<{ key: string; arm: string }>('CandidateExperiment').implement({
  description: 'The experiment arm that put this candidate first.',
  fields: (t) => ({
    key: t.exposeString('key', { description: 'The experiment\'s key.' }),
    arm: t.exposeString('arm', { description: 'The key of the unit\'s arm.' }),
  }),
});

const ExperimentOutcomeEnum = builder.enumType('SelectionExperimentOutcome', {
  description: 'What the running experiment did with the request\'s unit.',
  values: {
    ASSIGNED: { description: 'The unit is in an arm whose tool passed the request: that tool is the first candidate.' },
    EXCLUDED: { description: 'The unit is in an arm whose tool did not pass the request (policy, limits, version): left out of the experiment for this decision; the ranking is the rule\'s.' },
    NOT_IN_EXPERIMENT: { description: 'The unit\'s bucket lies outside every arm (coverage below 1).' },
    AMBIGUOUS_PLATFORM: { description: 'Experiments run for the capability on several platforms and the request named none.' },
  } as const,
});

const SelectionExperimentRef = builder.objectRef<SelectionExperiment>('SelectionExperiment').implement({
  description: 'The running experiment\'s part in one decision for one unit.',
  fields: (t) => ({
    key: t.exposeString('key', { nullable: true, description: 'The experiment\'s key (null when the platform was ambiguous).' }),
    arm: t.exposeString('arm', { nullable: true, description: 'The unit\'s arm, when it is in one.' }),
    bucket: t.exposeFloat('bucket', { nullable: true, description: 'The unit\'s bucket (0–0.9999), as `assignment` gives it.' }),
    outcome: t.field({ type: ExperimentOutcomeEnum, resolve: (e) => e.outcome, description: 'What happened.' }),
    reason: t.exposeString('reason', { description: 'One sentence saying why.' }),
  }),
});


const SelectionCandidateRef = builder.objectRef<SelectionCandidate>('SelectionCandidate').implement({
  description: 'One ranked pattern of one tool version.',
  fields: (t) => ({
    rank: t.exposeInt('rank', { description: '1 for the best.' }),
    tool: t.field({
      type: ToolRef,
      description: 'The exact tool version, as held by the in-memory catalog of this revision.',
      resolve: (candidate, _args, ctx, info) => memoryRowOfList(candidate.tool, ctx, info),
    }),
    capability: t.exposeString('capability', { description: 'The capability name as the tool spells it.' }),
    pattern: t.exposeString('pattern', { description: 'The pattern name.' }),
    score: t.exposeFloat('score', { description: 'Σ weight × feature, summed in the order time, cost, complexity, accuracy, completeness.' }),
    estimate: t.field({ type: EstimateRef, resolve: (candidate) => candidate.estimate, description: 'The figures used, where they came from, and both sources beside them.' }),
    features: t.field({ type: FeatureVectorRef, resolve: (candidate) => candidate.features, description: 'The normalised features (0–1).' }),
    contributions: t.field({ type: FeatureVectorRef, resolve: (candidate) => candidate.contributions, description: 'Weight × feature, per feature.' }),
    executionHint: t.field({ type: ExecutionHintEnum, resolve: (candidate) => candidate.executionHint, description: 'How to run it.' }),
    slaClass: t.field({ type: SlaClassEnum, resolve: (candidate) => candidate.slaClass, description: 'Service class by estimated time.' }),
    why: t.exposeString('why', {
      description: 'One sentence a person can read: rank, score, the figures used (estimated or observed) and the largest contribution, and the experiment arm that put it first.',
    }),
    experiment: t.field({
      type: CandidateExperimentRef,
      nullable: true,
      resolve: (candidate) => candidate.experiment,
      description: 'Set on the candidate put first because the request\'s unit is in this experiment arm.',
    }),
  }),
});

const ExcludedCandidateRef = builder.objectRef<ExcludedCandidate>('ExcludedCandidate').implement({
  description: 'A candidate pattern that was not ranked, and why. Nothing is dropped silently.',
  fields: (t) => ({
    tool: t.field({
      type: ToolRef,
      description: 'The exact tool version.',
      resolve: (excluded, _args, ctx, info) => memoryRowOfList(excluded.tool, ctx, info),
    }),
    capability: t.exposeString('capability', { description: 'The capability name as the tool spells it.' }),
    pattern: t.exposeString('pattern', { description: 'The pattern name.' }),
    reason: t.field({ type: ExclusionReasonEnum, resolve: (excluded) => excluded.reason, description: 'The first rule that excluded it.' }),
    detail: t.exposeString('detail', { description: 'The missing variables, the expression error, the limit and the value, or the successor.' }),
    missingVariables: t.exposeStringList('missingVariables', { description: 'For MISSING_VARIABLE: the variables nobody supplied.' }),
    limit: t.exposeFloat('limit', { nullable: true, description: 'For cost and time exclusions: the limit.' }),
    value: t.exposeFloat('value', { nullable: true, description: 'For cost and time exclusions: the estimated value above it.' }),
  }),
});

const ToolSelectionRef = builder.objectRef<ToolSelection>('ToolSelection').implement({
  description: 'The ranked choice for one capability, computed on one catalog revision held in memory.',
  fields: (t) => ({
    revision: t.int({ resolve: (selection) => Number(selection.revision), description: 'The catalog revision the selection was computed on.' }),
    stale: t.exposeBoolean('stale', {
      description: 'True when the database could not confirm this revision is current (unreachable, or a rebuild was late): answered from memory.',
    }),
    ambiguous: t.exposeBoolean('ambiguous', { description: 'True when the top two scores are within 0.08 of each other.' }),
    preference: t.field({
      type: PreferenceModeEnum,
      nullable: true,
      resolve: (selection) => selection.preference,
      description: 'The mode used; null when the request gave its own weights.',
    }),
    weights: t.field({ type: FeatureVectorRef, resolve: (selection) => selection.weights, description: 'The weights used.' }),
    candidates: t.field({ type: [SelectionCandidateRef], resolve: (selection) => selection.candidates, description: 'Ranked candidates, best first, at most `limit`.' }),
    excluded: t.field({ type: [ExcludedCandidateRef], resolve: (selection) => selection.excluded, description: 'Every candidate that was excluded, with its reason.' }),
    experiment: t.field({
      type: SelectionExperimentRef,
      nullable: true,
      resolve: (selection) => selection.experiment,
      description: 'What the running experiment did with the request\'s unit; null without `unitId` or when no experiment runs for the capability.',
    }),
    decisionId: t.exposeString('decisionId', {
      nullable: true,
      description:
        'Set when the running experiment put the unit\'s arm first (`experiment.outcome` ASSIGNED): report it as `decisionId` with the runs of this decision and they count ' +
        'for that arm even without `unitId`. It carries the experiment, the arm and the unit, signed with a secret of the experiment, so an altered or forged id is not ' +
        'attributed. The same unit in the same experiment always gets the same id. Null otherwise.',
    }),
  }),
});

builder.queryFields((t) => ({
  selectTools: t.field({
    type: ToolSelectionRef,
    description:
      'Ranks the patterns of every tool offering a capability for one request, by the rule in the README ("Selecting tools"), ' +
      'from the in-memory catalog: no SQL, and answers (stale) while the database is unreachable.',
    args: { request: t.arg({ type: SelectToolsInput, required: true, description: 'What is needed and under which constraints.' }) },
    resolve: async (_root, { request }, ctx) => {
      try {
        return await ctx.selection.select({
          ...request,
          variables: request.variables as Record<string, unknown> | null | undefined,
        }, ctx.prisma);
      } catch (error) {
        if (error instanceof SelectionInputError) throw new PothosValidationError(`request.${error.field}: ${error.message}`);
        throw error;
      }
    },
  }),
}));
