import { z } from 'zod';
import { parseEstimate } from './expressions.js';

/**
 * The normalised form of one tool, whatever file shape it came from. Everything the database
 * stores for a tool version passes through this schema first.
 */
const jsonObject = z.record(z.string(), z.unknown());

/** Letters, digits and `. + _ ~ -`, starting with a letter or digit: 1.0, 2.3.1-rc.1, 20240101. */
export const VERSION_PATTERN = /^[0-9A-Za-z][0-9A-Za-z.+_~-]*$/;

/** An estimate must parse as arithmetic; it is stored as written and never evaluated. */
const estimate = z
  .string()
  .max(1024)
  .superRefine((text, ctx) => {
    const parsed = parseEstimate(text);
    if (!parsed.ok) ctx.addIssue({ code: 'custom', message: `malformed expression ${JSON.stringify(text)}: ${parsed.error}` });
  });

export const patternDefinition = z.object({
  name: z.string().min(1).max(128),
  description: z.string().default(''),
  typicalUseCases: z.array(z.string()).default([]),
  timeEstimateMs: estimate.nullable().default(null),
  costEstimate: estimate.nullable().default(null),
  complexityScore: z.number().min(0).max(1).nullable().default(null),
  scope: z.string().max(64).nullable().default(null),
  completeness: z.string().max(64).nullable().default(null),
  limitations: z.array(z.string()).default([]),
  policy: jsonObject.default({}),
  preferenceMatch: jsonObject.default({}),
  requiredInputs: z.array(z.unknown()).default([]),
  optionalInputs: z.array(z.unknown()).default([]),
  expectedOutputs: z.array(z.unknown()).default([]),
  examples: z.array(z.unknown()).default([]),
  metadata: jsonObject.default({}),
});

export const capabilityDefinition = z.object({
  name: z.string().min(1).max(128),
  description: z.string().default(''),
  metadata: jsonObject.default({}),
  patterns: z.array(patternDefinition).default([]),
});

export const toolDefinition = z.object({
  // Control characters in a name would break logs, file names on export and URLs.
  name: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[^\p{Cc}\s][^\p{Cc}]*$/u, 'must not contain control characters or start with a space'),
  platform: z
    .string()
    .min(1)
    .max(64)
    .transform((p) => p.trim().toLowerCase()),
  version: z
    .string()
    .min(1)
    .max(64)
    .regex(VERSION_PATTERN, 'must start with a letter or digit and hold only letters, digits and . + _ ~ -'),
  description: z.string().default(''),
  category: z.string().min(1).max(64).transform((c) => c.trim().toLowerCase()),
  status: z.enum(['DRAFT', 'ACTIVE', 'DEPRECATED', 'DISABLED']).default('ACTIVE'),
  enabled: z.boolean().default(true),
  executionLocation: z.string().max(128).nullable().default(null),
  defaults: jsonObject.default({}),
  dependencies: z.array(z.unknown()).default([]),
  metadata: jsonObject.default({}),
  examples: z.array(z.unknown()).default([]),
  tags: z.array(z.string()).default([]),
  capabilities: z.array(capabilityDefinition).default([]),
});

export type ToolDefinition = z.output<typeof toolDefinition>;
export type CapabilityDefinition = z.output<typeof capabilityDefinition>;
export type PatternDefinition = z.output<typeof patternDefinition>;
