import { z } from 'zod';
import type { FieldProblem } from '../catalog/errors.js';
import type { ExperimentMetricKind } from './statistics.js';

/** Limits of a definition: enough for any real comparison, small enough to keep in memory. */
export const MAX_ARMS = 10;
export const DEFAULT_MINIMUM_SAMPLE_SIZE = 150;
export const DEFAULT_ALPHA = 0.05;
/** Weights must sum to 1 within this (GrowthBook normalises outside 0.99..1.01 too). */
export const WEIGHT_TOLERANCE = 0.01;

const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

const armInput = z.object({
  key: z.string().min(1).max(64).regex(KEY, 'letters, digits and . _ - only, starting with a letter or digit'),
  tool: z.object({
    name: z.string().trim().min(1).max(128),
    platform: z.string().trim().min(1).max(64).transform((p) => p.toLowerCase()),
    version: z.string().trim().min(1).max(64).nullish(),
  }),
  pattern: z.string().trim().min(1).max(128).nullish(),
  weight: z.number().finite().gt(0, 'must be above 0').lte(1),
});

export const experimentInput = z
  .object({
    key: z.string().min(1).max(128).regex(KEY, 'letters, digits and . _ - only, starting with a letter or digit'),
    description: z.string().max(4_000).nullish(),
    capability: z.string().trim().min(1).max(128).transform((c) => c.toLowerCase()),
    arms: z.array(armInput).min(2, 'an experiment needs two or more arms').max(MAX_ARMS),
    coverage: z.number().finite().min(0).max(1).nullish(),
    metric: z.enum(['SUCCESS_RATE', 'DURATION', 'COST']),
    minimumSampleSize: z.number().int().min(2).max(100_000_000).nullish(),
    alpha: z.number().finite().gt(0).lt(0.5).nullish(),
    seed: z.string().min(1).max(128).nullish(),
  })
  .superRefine((input, ctx) => {
    const total = input.arms.reduce((sum, arm) => sum + arm.weight, 0);
    if (Math.abs(total - 1) > WEIGHT_TOLERANCE) {
      ctx.addIssue({ code: 'custom', path: ['arms'], message: `weights sum to ${Number(total.toFixed(6))}, not 1 ± ${WEIGHT_TOLERANCE}` });
    }
    const seen = new Set<string>();
    input.arms.forEach((arm, i) => {
      if (seen.has(arm.key)) ctx.addIssue({ code: 'custom', path: ['arms', i, 'key'], message: `arm key ${JSON.stringify(arm.key)} repeats` });
      seen.add(arm.key);
    });
    const platforms = new Set(input.arms.map((arm) => arm.tool.platform));
    if (platforms.size > 1) {
      ctx.addIssue({ code: 'custom', path: ['arms'], message: `every arm must run on one platform (the pipeline decides per platform); got ${[...platforms].join(', ')}` });
    }
  });

export type ExperimentInput = z.input<typeof experimentInput>;
export type ParsedExperimentInput = z.output<typeof experimentInput>;

export function parseExperimentInput(raw: unknown): { input: ParsedExperimentInput } | { problems: FieldProblem[] } {
  const parsed = experimentInput.safeParse(raw);
  if (parsed.success) return { input: parsed.data };
  return { problems: parsed.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message })) };
}

export type ExperimentStatusKind = 'DRAFT' | 'RUNNING' | 'STOPPED' | 'CONCLUDED';

/** One arm as assignment, selection and results see it. */
export interface ArmDefinition {
  key: string;
  toolName: string;
  toolPlatform: string;
  /** Pinned version, or null for whichever version is latest. */
  toolVersion: string | null;
  pattern: string | null;
  weight: number;
}

/** An experiment as held in memory (everything but its observations). */
export interface ExperimentDefinition {
  id: string;
  key: string;
  description: string;
  capability: string;
  platform: string;
  metric: ExperimentMetricKind;
  coverage: number;
  minimumSampleSize: number;
  alpha: number;
  seed: string;
  status: ExperimentStatusKind;
  winner: string | null;
  startedAt: Date | null;
  stoppedAt: Date | null;
  concludedAt: Date | null;
  createdAt: Date;
  createdBy: string;
  /** Secret that signs the decision ids issued for this experiment's units (decisionIds.ts): never shown. */
  decisionKey: string;
  arms: ArmDefinition[];
}
