import { auditRow, type ChangeOrigin } from '../audit/auditRow.js';
import { deprecateInTransaction, deprecateVersionInTransaction } from '../catalog/catalogWrites.js';
import { CatalogValidationError, ConflictError, NotFoundError, type FieldProblem } from '../catalog/errors.js';
import { Prisma, type PrismaClient } from '../generated/prisma/client.js';
import { appendEvents, CATALOG_CHANNEL, type ExperimentEventType } from '../events/eventLog.js';
import {
  DEFAULT_ALPHA,
  DEFAULT_MINIMUM_SAMPLE_SIZE,
  parseExperimentInput,
  type ArmDefinition,
  type ExperimentDefinition,
  type ExperimentStatusKind,
} from './definition.js';

/**
 * The lifecycle of an experiment: create (DRAFT) → start (RUNNING) → stop (STOPPED) → conclude
 * (CONCLUDED, with a winner). Each change is one transaction with its audit row; start, stop and
 * conclude are catalog events. Only expected outcomes are thrown as CatalogValidationError,
 * NotFoundError or ConflictError.
 */

type Tx = Prisma.TransactionClient;
const TRANSACTION_OPTIONS = { maxWait: 15_000, timeout: 30_000 };
const ARMS_IN_ORDER = { arms: { orderBy: { position: 'asc' } } } as const;

type ExperimentRow = Prisma.ExperimentGetPayload<{ include: typeof ARMS_IN_ORDER }>;

export function definitionOf(row: ExperimentRow): ExperimentDefinition {
  return {
    id: row.id,
    key: row.key,
    description: row.description,
    capability: row.capability,
    platform: row.platform,
    metric: row.metric,
    coverage: row.coverage,
    minimumSampleSize: row.minimumSampleSize,
    alpha: row.alpha,
    seed: row.seed,
    status: row.status,
    winner: row.winner,
    startedAt: row.startedAt,
    stoppedAt: row.stoppedAt,
    concludedAt: row.concludedAt,
    createdAt: row.createdAt,
    createdBy: row.createdBy,
    decisionKey: row.decisionKey,
    arms: row.arms.map((arm) => ({
      key: arm.key,
      toolName: arm.toolName,
      toolPlatform: arm.toolPlatform,
      toolVersion: arm.toolVersion,
      pattern: arm.pattern,
      weight: arm.weight,
    })),
  };
}

/** Every experiment, arms in order: what the in-memory catalog of experiments holds. */
export async function loadExperiments(db: PrismaClient | Tx): Promise<ExperimentDefinition[]> {
  const rows = await db.experiment.findMany({ include: ARMS_IN_ORDER, orderBy: [{ createdAt: 'desc' }, { key: 'asc' }] });
  return rows.map(definitionOf);
}

const armLabel = (arm: ArmDefinition) => `${arm.toolName}${arm.toolVersion ? `@${arm.toolVersion}` : ''} (${arm.toolPlatform})`;

/**
 * Each arm must name an existing, enabled version that offers the capability (and the pattern, when
 * one is named). Returns the problems, with the path of the arm they concern.
 */
export async function checkArms(db: PrismaClient | Tx, capability: string, arms: readonly ArmDefinition[]): Promise<FieldProblem[]> {
  const problems: FieldProblem[] = [];
  for (const [i, arm] of arms.entries()) {
    const path = `arms.${i}.tool`;
    const versions = await db.tool.findMany({
      where: { name: arm.toolName, platform: arm.toolPlatform, ...(arm.toolVersion ? {} : { isLatest: true }) },
      select: {
        version: true,
        isLatest: true,
        enabled: true,
        status: true,
        deletedAt: true,
        capabilities: { select: { name: true, patterns: { select: { name: true } } } },
      },
    });
    const latest = versions.find((v) => v.isLatest);
    const version = arm.toolVersion ? versions.find((v) => v.version === arm.toolVersion) : latest;
    if (!latest || latest.deletedAt) {
      problems.push({ path, message: `there is no tool ${arm.toolName} on ${arm.toolPlatform}` });
      continue;
    }
    if (!version || version.deletedAt) {
      problems.push({ path: `${path}.version`, message: `tool ${arm.toolName} (${arm.toolPlatform}) has no version ${JSON.stringify(arm.toolVersion)}` });
      continue;
    }
    // `enabled` is the tool's switch, held on its latest row; a version's own status may disable it too.
    if (!latest.enabled || version.status === 'DISABLED') {
      problems.push({ path, message: `${armLabel(arm)} is disabled` });
      continue;
    }
    if (version.status === 'DRAFT') {
      problems.push({ path: `${path}.version`, message: `${armLabel(arm)} is a draft; publish it first` });
      continue;
    }
    const offered = version.capabilities.find((c) => c.name.toLowerCase() === capability);
    if (!offered) {
      problems.push({ path, message: `${armLabel(arm)} does not offer the capability ${JSON.stringify(capability)}` });
      continue;
    }
    if (arm.pattern && !offered.patterns.some((p) => p.name === arm.pattern)) {
      problems.push({ path: `arms.${i}.pattern`, message: `${armLabel(arm)} has no pattern ${JSON.stringify(arm.pattern)} for ${capability}` });
    }
  }
  return problems;
}

async function audit(tx: Tx, origin: ChangeOrigin, experiment: { id: string; key: string }, action: string, diff: Record<string, unknown>) {
  await tx.auditLog.create({ data: auditRow(origin, { action, entityType: 'Experiment', entityId: experiment.id, entityName: experiment.key, diff }) });
}

async function event(tx: Tx, origin: ChangeOrigin, experiment: { key: string; capability: string; platform: string }, type: ExperimentEventType, action: string) {
  await appendEvents(
    tx,
    [{ type, platform: experiment.platform, payload: { experimentKey: experiment.key, capability: experiment.capability, actor: origin.actor, trigger: origin.trigger, action } }],
    origin.trigger,
  );
}

async function requireExperiment(db: PrismaClient | Tx, key: string): Promise<ExperimentRow> {
  const row = await db.experiment.findUnique({ where: { key }, include: ARMS_IN_ORDER });
  if (!row) throw new NotFoundError(`there is no experiment ${JSON.stringify(key)}`, 'Experiment');
  return row;
}

/** Creates an experiment as a DRAFT. */
export async function createExperiment(prisma: PrismaClient, raw: unknown, origin: ChangeOrigin): Promise<ExperimentDefinition> {
  const parsed = parseExperimentInput(raw);
  if ('problems' in parsed) throw CatalogValidationError.of(parsed.problems);
  const { input } = parsed;
  const arms: ArmDefinition[] = input.arms.map((arm) => ({
    key: arm.key,
    toolName: arm.tool.name,
    toolPlatform: arm.tool.platform,
    toolVersion: arm.tool.version ?? null,
    pattern: arm.pattern ?? null,
    weight: arm.weight,
  }));
  const problems = await checkArms(prisma, input.capability, arms);
  if (problems.length) throw CatalogValidationError.of(problems);
  try {
    const row = await prisma.$transaction(async (tx) => {
      const created = await tx.experiment.create({
        data: {
          key: input.key,
          description: input.description ?? '',
          capability: input.capability,
          platform: arms[0]!.toolPlatform,
          metric: input.metric,
          coverage: input.coverage ?? 1,
          minimumSampleSize: input.minimumSampleSize ?? DEFAULT_MINIMUM_SAMPLE_SIZE,
          alpha: input.alpha ?? DEFAULT_ALPHA,
          seed: input.seed ?? input.key,
          createdBy: origin.actor,
          arms: { create: arms.map((arm, position) => ({ ...arm, position })) },
        },
        include: ARMS_IN_ORDER,
      });
      await audit(tx, origin, created, 'experiment.create', { after: { ...input } });
      // Not a catalog event (a draft assigns nobody), but other instances' in-memory experiments must hear of it.
      await tx.$queryRaw`SELECT 1 FROM pg_notify(${CATALOG_CHANNEL}, ${origin.trigger})`;
      return created;
    }, TRANSACTION_OPTIONS);
    return definitionOf(row);
  } catch (error) {
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
      throw new ConflictError(`an experiment with the key ${JSON.stringify(input.key)} already exists`);
    }
    throw error;
  }
}

/**
 * Moves an experiment from one status to another under a guard on the status it was read in, so of
 * two concurrent changes one wins and the other is told.
 */
async function transition(
  prisma: PrismaClient,
  key: string,
  from: readonly ExperimentStatusKind[],
  to: ExperimentStatusKind,
  origin: ChangeOrigin,
  options: {
    action: string;
    event: ExperimentEventType;
    data?: Prisma.ExperimentUpdateManyMutationInput;
    before?: (tx: Tx, row: ExperimentRow) => Promise<void>;
    after?: (tx: Tx, row: ExperimentRow) => Promise<Record<string, unknown>>;
  },
): Promise<ExperimentDefinition> {
  const current = await requireExperiment(prisma, key);
  if (!from.includes(current.status)) {
    throw new ConflictError(`experiment ${JSON.stringify(key)} is ${current.status}; only a ${from.join(' or ')} experiment can become ${to}`);
  }
  try {
    await prisma.$transaction(async (tx) => {
      await options.before?.(tx, current);
      const moved = await tx.experiment.updateMany({ where: { id: current.id, status: current.status }, data: { ...options.data, status: to } });
      if (moved.count !== 1) throw new ConflictError(`experiment ${JSON.stringify(key)} changed meanwhile; read it again`);
      const extra = (await options.after?.(tx, current)) ?? {};
      await audit(tx, origin, current, options.action, { before: { status: current.status }, after: { status: to, ...extra } });
      await event(tx, origin, current, options.event, options.action);
    }, TRANSACTION_OPTIONS);
  } catch (error) {
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
      const running = await prisma.experiment.findFirst({
        where: { capability: current.capability, platform: current.platform, status: 'RUNNING' },
        select: { key: true },
      });
      throw new ConflictError(
        `experiment ${JSON.stringify(running?.key ?? '?')} is already running for ${current.capability} on ${current.platform}; stop it first`,
      );
    }
    throw error;
  }
  return definitionOf(await requireExperiment(prisma, key));
}

/** DRAFT → RUNNING, after checking the arms again (tools may have changed since the draft). */
export function startExperiment(prisma: PrismaClient, key: string, origin: ChangeOrigin) {
  return transition(prisma, key, ['DRAFT'], 'RUNNING', origin, {
    action: 'experiment.start',
    event: 'EXPERIMENT_STARTED',
    data: { startedAt: new Date() },
    before: async (tx, row) => {
      const problems = await checkArms(tx, row.capability, definitionOf(row).arms);
      if (problems.length) throw CatalogValidationError.of(problems);
    },
  });
}

/** RUNNING → STOPPED: no more units are assigned; the results stay readable. */
export function stopExperiment(prisma: PrismaClient, key: string, origin: ChangeOrigin) {
  return transition(prisma, key, ['RUNNING'], 'STOPPED', origin, {
    action: 'experiment.stop',
    event: 'EXPERIMENT_STOPPED',
    data: { stoppedAt: new Date() },
  });
}

/**
 * Changes the share of units that take part (a ramp-up, or a cut-back), in any status but
 * CONCLUDED. Each arm's range keeps its start and only grows or shrinks from it, so units join or
 * leave the experiment and none moves to another arm. Audited, and a catalog event.
 */
export async function setExperimentCoverage(prisma: PrismaClient, key: string, coverage: number, origin: ChangeOrigin): Promise<ExperimentDefinition> {
  if (!Number.isFinite(coverage) || coverage < 0 || coverage > 1) {
    throw CatalogValidationError.of([{ path: 'coverage', message: `coverage must be a number from 0 to 1, found ${coverage}` }]);
  }
  const current = await requireExperiment(prisma, key);
  if (current.status === 'CONCLUDED') throw new ConflictError(`experiment ${JSON.stringify(key)} is CONCLUDED; its coverage no longer changes`);
  await prisma.$transaction(async (tx) => {
    // Guarded on what was read: of two concurrent changes one wins and the other is told.
    const moved = await tx.experiment.updateMany({ where: { id: current.id, status: current.status, coverage: current.coverage }, data: { coverage } });
    if (moved.count !== 1) throw new ConflictError(`experiment ${JSON.stringify(key)} changed meanwhile; read it again`);
    await audit(tx, origin, current, 'experiment.coverage', { before: { coverage: current.coverage }, after: { coverage } });
    await event(tx, origin, current, 'EXPERIMENT_COVERAGE_CHANGED', 'experiment.coverage');
  }, TRANSACTION_OPTIONS);
  return definitionOf(await requireExperiment(prisma, key));
}

/**
 * Which version of the winner's own tool a losing arm stands for, to deprecate in favour of the
 * winner. Read in the conclusion's transaction. A deprecated older version's successor is the
 * tool, which resolves to its latest version, so this holds only when the winner is the latest
 * version and the loser an older one; otherwise the conclusion is refused with the reason.
 */
async function losingVersion(tx: Tx, arm: ArmDefinition, winner: ArmDefinition & { key: string }): Promise<string> {
  const fail = (message: string) => CatalogValidationError.of([{ path: 'deprecateLosers', message: `${message}. Conclude without deprecateLosers` }]);
  const latest = await tx.tool.findFirst({
    where: { name: arm.toolName, platform: arm.toolPlatform, isLatest: true, deletedAt: null },
    select: { version: true },
  });
  if (!latest) throw fail(`there is no tool ${arm.toolName} (${arm.toolPlatform}) any more`);
  const loser = arm.toolVersion ?? latest.version;
  const won = winner.toolVersion ?? latest.version;
  if (loser === won) throw fail(`arm ${arm.key} is ${arm.toolName} ${loser}, the winner's own version; deprecating it would deprecate the winner`);
  if (loser === latest.version) {
    throw fail(
      `arm ${arm.key} is the latest version of ${arm.toolName} (${loser}); deprecating it would deprecate the tool, the winner's version ${won} included. ` +
        `To make ${won} the latest again, roll back to it (rollbackTool)`,
    );
  }
  if (won !== latest.version) {
    throw fail(
      `the winner ${winner.key} is ${arm.toolName} ${won}, no longer the tool's latest version (${latest.version}); ` +
        `a deprecated version names the tool as its successor, which resolves to ${latest.version}, not the winner`,
    );
  }
  return loser;
}

/**
 * RUNNING or STOPPED → CONCLUDED with `winner` (an arm key). With `deprecateLosers`, in the same
 * transaction (all or nothing):
 * - a losing arm on another tool: that tool is deprecated with the winner's tool as its successor,
 *   through the catalog's own deprecation (same checks, audit row and TOOL_DEPRECATED event);
 * - a losing arm on an older version of the winner's own tool ("is the new version better?"):
 *   that version alone is deprecated, naming the tool (its latest version, the winner) as its
 *   successor (`deprecateVersionInTransaction`). Refused when the loser is the tool's latest
 *   version (that would deprecate the tool, winner included: roll back instead), when the winner
 *   is no longer the latest, or when both arms are the same version.
 */
export async function concludeExperiment(prisma: PrismaClient, key: string, winner: string, deprecateLosers: boolean, origin: ChangeOrigin) {
  const current = await requireExperiment(prisma, key);
  const winning = current.arms.find((arm) => arm.key === winner);
  if (!winning) {
    throw CatalogValidationError.of([{ path: 'winner', message: `experiment ${JSON.stringify(key)} has no arm ${JSON.stringify(winner)} (arms: ${current.arms.map((a) => a.key).join(', ')})` }]);
  }
  const losers = new Map<string, { name: string; platform: string }>();
  const versionLosers: typeof current.arms = [];
  for (const arm of current.arms) {
    if (arm.key === winner) continue;
    if (arm.toolName === winning.toolName && arm.toolPlatform === winning.toolPlatform) versionLosers.push(arm);
    else losers.set(`${arm.toolName}\u0000${arm.toolPlatform}`, { name: arm.toolName, platform: arm.toolPlatform });
  }
  const successor = `${winning.toolName}@${winning.toolPlatform}`;
  return transition(prisma, key, ['RUNNING', 'STOPPED'], 'CONCLUDED', origin, {
    action: 'experiment.conclude',
    event: 'EXPERIMENT_CONCLUDED',
    data: { winner, concludedAt: new Date(), ...(current.status === 'RUNNING' ? { stoppedAt: new Date() } : {}) },
    after: async (tx) => {
      const deprecated: string[] = [];
      const deprecatedVersions: Array<{ tool: string; version: string }> = [];
      if (deprecateLosers) {
        const reason = origin.reason ?? `lost experiment ${key} to ${winner}`;
        // Every check first, so that a refusal names its reason before anything is written.
        const versions = new Set<string>();
        for (const arm of versionLosers) versions.add(await losingVersion(tx, arm, winning));
        for (const version of versions) {
          await deprecateVersionInTransaction(tx, { name: winning.toolName, platform: winning.toolPlatform, version }, { ...origin, reason });
          deprecatedVersions.push({ tool: successor, version });
        }
        for (const tool of losers.values()) {
          await deprecateInTransaction(tx, tool, successor, { ...origin, reason });
          deprecated.push(`${tool.name}@${tool.platform}`);
        }
      }
      return { winner, deprecated, ...(deprecatedVersions.length ? { deprecatedVersions } : {}), successor: deprecateLosers ? successor : null };
    },
  });
}
