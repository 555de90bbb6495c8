import type { PrismaClient } from '../generated/prisma/client.js';
import { Prisma } from '../generated/prisma/client.js';
import { deprecateInTransaction, publishVersions, recordChanges, type ChangeOrigin, type ChangeRecord } from './catalogWrites.js';
import { contentHash } from './contentHash.js';
import type { CapabilityDefinition, PatternDefinition, ToolDefinition } from './definition.js';
import { checkDefinitionInput, type CheckOptions } from './validation.js';
import { breakingRefusal, judgeCompatibility } from './compatibility.js';
import { CatalogValidationError, ConflictError, NotFoundError, type FieldProblem } from './errors.js';
import { definitionOf, TOOL_CONTENT_INCLUDE, type ToolWithContent } from './toolContent.js';
import { diffDefinitions } from './toolDiff.js';

/**
 * Every change an operator can make to one tool. Each runs in one transaction with its audit entry
 * and catalog event, checks the revision the caller last saw, and throws only the expected errors
 * (CatalogValidationError, NotFoundError, ConflictError) for expected outcomes.
 */

/** A tool's identity. The platform is matched case-insensitively (stored lower-case). */
export interface ToolIdentity {
  name: string;
  platform: string;
}

/** Identity plus the tool revision the caller last saw. */
export interface ToolRevisionRef extends ToolIdentity {
  revision: number;
}

/** A plain object in the shape of ToolDefinition; checked by the definition schema. */
export type RawDefinition = Record<string, unknown>;

// A busy pool or a long import may hold the writer back; a stale read is caught by the revision check.
const TRANSACTION_OPTIONS = { maxWait: 15_000, timeout: 30_000 };
const MAX_VERSION_BUMPS = 1_000;

const normalisePlatform = (platform: string) => platform.trim().toLowerCase();
const label = (identity: ToolIdentity) => `${identity.name} (${normalisePlatform(identity.platform)})`;

/**
 * Checks a candidate definition through the one validation the importer uses (`validation.ts`);
 * problems and warnings carry the input path of the offending field.
 */
export function parseDefinition(raw: RawDefinition, checks: CheckOptions = {}): { definition: ToolDefinition; warnings: FieldProblem[] } | { problems: FieldProblem[]; warnings: FieldProblem[] } {
  const checked = checkDefinitionInput(raw, checks);
  if (checked.definition && !checked.problems.length) return { definition: checked.definition, warnings: checked.warnings };
  return { problems: checked.problems, warnings: checked.warnings };
}

function requireDefinition(raw: RawDefinition, checks: CheckOptions = {}): ToolDefinition {
  const parsed = parseDefinition(raw, checks);
  if ('problems' in parsed) throw CatalogValidationError.of(parsed.problems);
  return parsed.definition;
}

async function loadVersions(prisma: PrismaClient, identity: ToolIdentity) {
  return prisma.tool.findMany({
    where: { name: identity.name, platform: normalisePlatform(identity.platform) },
    select: { id: true, version: true, isLatest: true, revision: true, deletedAt: true, status: true },
  });
}

async function loadLatest(prisma: PrismaClient, identity: ToolIdentity): Promise<ToolWithContent | null> {
  return prisma.tool.findFirst({
    where: { name: identity.name, platform: normalisePlatform(identity.platform), isLatest: true },
    include: TOOL_CONTENT_INCLUDE,
  });
}

/** The latest version the change applies to, after checking it exists, its deletion state and the revision. */
async function latestForChange(
  prisma: PrismaClient,
  ref: ToolRevisionRef,
  options: { deleted?: boolean } = {},
): Promise<ToolWithContent> {
  const latest = await loadLatest(prisma, ref);
  if (!latest) throw new NotFoundError(`there is no tool ${label(ref)}`, 'Tool');
  const wantDeleted = options.deleted ?? false;
  if (wantDeleted && !latest.deletedAt) throw new ConflictError(`tool ${label(ref)} is not deleted`, latest.revision);
  if (!wantDeleted && latest.deletedAt) {
    throw new NotFoundError(`tool ${label(ref)} is deleted; restore it first`, 'Tool');
  }
  if (latest.revision !== ref.revision) {
    throw new ConflictError(
      `tool ${label(ref)} is at revision ${latest.revision}, not ${ref.revision}: someone changed it since you read it`,
      latest.revision,
    );
  }
  return latest;
}

/** Runs a change in a transaction; a unique-constraint race becomes a ConflictError with the current revision. */
async function inTransaction<T>(
  prisma: PrismaClient,
  identity: ToolIdentity,
  work: (tx: Prisma.TransactionClient) => Promise<T>,
): Promise<T> {
  try {
    return await prisma.$transaction(work, TRANSACTION_OPTIONS);
  } catch (error) {
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
      const latest = await loadLatest(prisma, identity);
      throw new ConflictError(
        latest
          ? `tool ${label(identity)} already exists at revision ${latest.revision}${latest.deletedAt ? ' (deleted; restore it instead)' : ''}`
          : `another writer created this version of ${label(identity)} at the same time`,
        latest?.revision ?? null,
      );
    }
    throw error;
  }
}

/** `version` with its last number plus one, skipping taken versions (1.0 → 1.1, 2.0-rc.1 → 2.0-rc.2). */
function bumpLast(version: string, taken: ReadonlySet<string>): string | undefined {
  const match = /^(.*?)(\d+)(\D*)$/.exec(version);
  if (!match) return undefined;
  const [, head, digits, tail] = match;
  let number = BigInt(digits!);
  for (let i = 0; i < MAX_VERSION_BUMPS; i++) {
    number += 1n;
    const candidate = `${head}${number.toString().padStart(digits!.length, '0')}${tail}`;
    if (!taken.has(candidate)) return candidate;
  }
  return undefined;
}

/**
 * The next free version after `current`, following semver's order. After a release: its last number
 * plus one (1.0 → 1.1, 1.2.3 → 1.2.4). After a prerelease (`2.0-rc`, `2.0.9-rc.1`): the release it
 * precedes (`2.0`, `2.0.9`) unless that exists already; for a draft (`prerelease`), the next
 * prerelease instead (`2.0-rc` → `2.0-rc.1`, `2.0-rc.1` → `2.0-rc.2`). Build metadata (`+…`) is dropped.
 */
export function nextVersion(current: string, taken: ReadonlySet<string>, options: { prerelease?: boolean } = {}): string | undefined {
  const base = current.split('+')[0]!;
  const dash = base.indexOf('-');
  if (dash <= 0) return bumpLast(base, taken);
  const release = base.slice(0, dash);
  const pre = base.slice(dash + 1);
  if (options.prerelease) return bumpLast(/\d$/.test(pre) ? base : `${base}.0`, taken);
  if (!taken.has(release) && /\d$/.test(release)) return release;
  return bumpLast(release, taken);
}

function chooseVersion(requested: string | null | undefined, latest: { version: string }, taken: ReadonlySet<string>, draft = false): string {
  if (requested) {
    if (taken.has(requested)) {
      throw CatalogValidationError.of([{ path: 'version', message: `version ${requested} already exists; versions never repeat` }]);
    }
    return requested;
  }
  const next = nextVersion(latest.version, taken, { prerelease: draft });
  if (!next) {
    throw CatalogValidationError.of([
      { path: 'version', message: `cannot derive a version after ${JSON.stringify(latest.version)}; pass one` },
    ]);
  }
  return next;
}

export interface ValidationOutcome {
  definition?: ToolDefinition;
  problems: FieldProblem[];
  /** What the importer would warn about: accepted, but worth a look. */
  warnings: FieldProblem[];
}

/** Dry run of createTool: the normalised definition and every problem, including clashes with stored versions. */
export async function validateTool(prisma: PrismaClient, raw: RawDefinition, checks: CheckOptions = {}): Promise<ValidationOutcome> {
  const parsed = parseDefinition(raw, checks);
  if ('problems' in parsed) return { problems: parsed.problems, warnings: parsed.warnings };
  const { definition, warnings } = parsed;
  const problems: FieldProblem[] = [];
  const versions = await loadVersions(prisma, definition);
  const latest = versions.find((v) => v.isLatest);
  if (versions.some((v) => v.version === definition.version)) {
    problems.push({ path: 'version', message: `version ${definition.version} of ${label(definition)} already exists` });
  }
  if (latest?.deletedAt) problems.push({ path: 'name', message: `tool ${label(definition)} is deleted; restore it first` });
  else if (latest) {
    problems.push({ path: 'name', message: `tool ${label(definition)} already exists at revision ${latest.revision}; change it with updateTool` });
  }
  if (!latest && definition.status === 'DRAFT') {
    problems.push({ path: 'status', message: 'the first version of a tool is published; drafts are for later versions' });
  }
  return { definition, problems, warnings };
}

/** Publishes the first version of a new tool. */
export async function createTool(prisma: PrismaClient, raw: RawDefinition, origin: ChangeOrigin, checks: CheckOptions = {}): Promise<string> {
  const definition = requireDefinition(raw, checks);
  if (definition.status === 'DRAFT') {
    throw CatalogValidationError.of([
      { path: 'status', message: 'the first version of a tool is published; drafts are for later versions' },
    ]);
  }
  const [id] = await inTransaction(prisma, definition, (tx) =>
    publishVersions(
      tx,
      [
        {
          definition,
          contentHash: contentHash(definition),
          parentId: null,
          previous: null,
          action: 'tool.create',
          event: 'TOOL_CREATED',
          diff: { changes: diffDefinitions(null, definition) },
        },
      ],
      origin,
    ),
  );
  return id!;
}

export interface NewVersionOptions {
  /** The new version string; by default the latest's last number plus one. */
  version?: string | null;
  /** Write the version as a draft: stored and queryable, but `latest` stays where it is. */
  draft?: boolean | null;
  /** Acknowledges breaking changes when the versions are not semver (semver versions need a new major instead). */
  breaking?: boolean | null;
  /** Unknown keys are errors (STRICT_IMPORT). */
  strict?: boolean;
}

/** Refuses a breaking change that is not allowed; otherwise what to record with the new version. */
export function checkBreaking(current: ToolDefinition, next: ToolDefinition, acknowledged: boolean): Record<string, unknown> {
  const verdict = judgeCompatibility(current, next, acknowledged);
  if (!verdict.allowed) {
    const refusal = breakingRefusal(verdict);
    throw new CatalogValidationError(refusal.message, refusal.problems);
  }
  return verdict.breaking ? { breaking: true, breakingChanges: verdict.changes } : {};
}

/**
 * Publishes (or drafts) a new version of a tool whose content is `change` applied to the latest
 * version. Refuses a version that would change nothing.
 */
async function deriveVersion(
  prisma: PrismaClient,
  ref: ToolRevisionRef,
  options: NewVersionOptions,
  origin: ChangeOrigin,
  change: (current: ToolDefinition) => RawDefinition,
  action = 'tool.update',
): Promise<string> {
  const latest = await latestForChange(prisma, ref);
  const current = definitionOf(latest);
  const taken = new Set((await loadVersions(prisma, ref)).map((v) => v.version));
  const version = chooseVersion(options.version, latest, taken, options.draft ?? false);
  const changed = change(current);
  const definition = requireDefinition({
    ...changed,
    name: current.name,
    platform: current.platform,
    version,
    status: options.draft ? 'DRAFT' : changed.status === 'DRAFT' ? 'ACTIVE' : changed.status,
  }, { strict: options.strict });
  const changes = diffDefinitions(current, definition).filter((c) => c.path !== 'version');
  if (!changes.length) {
    throw CatalogValidationError.of([{ path: '', message: `nothing changed from version ${current.version}` }]);
  }
  const breaking = checkBreaking(current, definition, options.breaking ?? false);
  const [id] = await inTransaction(prisma, ref, (tx) =>
    publishVersions(
      tx,
      [
        {
          definition,
          contentHash: contentHash(definition),
          parentId: latest.id,
          previous: { id: latest.id, revision: latest.revision },
          loadedFrom: latest.loadedFrom,
          action: options.draft ? `${action}.draft` : action,
          event: 'TOOL_VERSIONED',
          diff: { from: current.version, to: version, changes, ...breaking },
          details: breaking,
        },
      ],
      origin,
    ),
  );
  return id!;
}

/** Fields of a tool an update may change; absent fields keep their value. `capabilities` replaces the whole list. */
export type ToolPatch = Partial<Omit<ToolDefinition, 'name' | 'platform' | 'version'>>;

export function updateTool(prisma: PrismaClient, ref: ToolRevisionRef, patch: ToolPatch, options: NewVersionOptions, origin: ChangeOrigin) {
  return deriveVersion(prisma, ref, options, origin, (current) => ({ ...current, ...patch }));
}

function findCapability(definition: ToolDefinition, name: string): number {
  const index = definition.capabilities.findIndex((c) => c.name === name);
  if (index < 0) throw new NotFoundError(`tool ${definition.name} has no capability ${JSON.stringify(name)}`, 'Capability');
  return index;
}

function findPattern(capability: CapabilityDefinition, name: string): number {
  const index = capability.patterns.findIndex((p) => p.name === name);
  if (index < 0) throw new NotFoundError(`capability ${capability.name} has no pattern ${JSON.stringify(name)}`, 'Pattern');
  return index;
}

const replaceAt = <T>(items: T[], index: number, item: T | undefined) =>
  item === undefined ? items.filter((_, i) => i !== index) : items.map((existing, i) => (i === index ? item : existing));

export function addCapability(prisma: PrismaClient, ref: ToolRevisionRef, capability: RawDefinition, options: NewVersionOptions, origin: ChangeOrigin) {
  return deriveVersion(prisma, ref, options, origin, (current) => {
    if (current.capabilities.some((c) => c.name === capability.name)) {
      throw CatalogValidationError.of([{ path: 'capability.name', message: `capability ${JSON.stringify(capability.name)} already exists` }]);
    }
    return { ...current, capabilities: [...current.capabilities, capability] };
  }, 'capability.add');
}

export function updateCapability(
  prisma: PrismaClient,
  ref: ToolRevisionRef,
  capabilityName: string,
  patch: Partial<Omit<CapabilityDefinition, 'name'>> & { name?: string },
  options: NewVersionOptions,
  origin: ChangeOrigin,
) {
  return deriveVersion(prisma, ref, options, origin, (current) => {
    const index = findCapability(current, capabilityName);
    return { ...current, capabilities: replaceAt(current.capabilities, index, { ...current.capabilities[index]!, ...patch }) };
  }, 'capability.update');
}

export function removeCapability(prisma: PrismaClient, ref: ToolRevisionRef, capabilityName: string, options: NewVersionOptions, origin: ChangeOrigin) {
  return deriveVersion(prisma, ref, options, origin, (current) => ({
    ...current,
    capabilities: replaceAt(current.capabilities, findCapability(current, capabilityName), undefined),
  }), 'capability.remove');
}

/** Applies `change` to the patterns of one capability. */
function withPatterns(current: ToolDefinition, capabilityName: string, change: (capability: CapabilityDefinition) => unknown[]) {
  const index = findCapability(current, capabilityName);
  const capability = current.capabilities[index]!;
  return { ...current, capabilities: replaceAt<unknown>(current.capabilities, index, { ...capability, patterns: change(capability) }) };
}

export function addPattern(
  prisma: PrismaClient,
  ref: ToolRevisionRef,
  capabilityName: string,
  pattern: RawDefinition,
  options: NewVersionOptions,
  origin: ChangeOrigin,
) {
  return deriveVersion(prisma, ref, options, origin, (current) =>
    withPatterns(current, capabilityName, (capability) => {
      if (capability.patterns.some((p) => p.name === pattern.name)) {
        throw CatalogValidationError.of([{ path: 'pattern.name', message: `pattern ${JSON.stringify(pattern.name)} already exists` }]);
      }
      return [...capability.patterns, pattern];
    }),
  'pattern.add');
}

export function updatePattern(
  prisma: PrismaClient,
  ref: ToolRevisionRef,
  capabilityName: string,
  patternName: string,
  patch: Partial<PatternDefinition>,
  options: NewVersionOptions,
  origin: ChangeOrigin,
) {
  return deriveVersion(prisma, ref, options, origin, (current) =>
    withPatterns(current, capabilityName, (capability) => {
      const index = findPattern(capability, patternName);
      return replaceAt<unknown>(capability.patterns, index, { ...capability.patterns[index]!, ...patch });
    }),
  'pattern.update');
}

export function removePattern(
  prisma: PrismaClient,
  ref: ToolRevisionRef,
  capabilityName: string,
  patternName: string,
  options: NewVersionOptions,
  origin: ChangeOrigin,
) {
  return deriveVersion(prisma, ref, options, origin, (current) =>
    withPatterns(current, capabilityName, (capability) => replaceAt<unknown>(capability.patterns, findPattern(capability, patternName), undefined)),
  'pattern.remove');
}

/** Publishes a copy of an older version's content as the new latest, recorded as a rollback. */
export async function rollbackTool(
  prisma: PrismaClient,
  ref: ToolRevisionRef,
  to: string,
  options: Pick<NewVersionOptions, 'version'>,
  origin: ChangeOrigin,
): Promise<string> {
  const latest = await latestForChange(prisma, ref);
  const target = await prisma.tool.findFirst({
    where: { name: latest.name, platform: latest.platform, version: to },
    include: TOOL_CONTENT_INCLUDE,
  });
  if (!target) throw new NotFoundError(`tool ${label(ref)} has no version ${JSON.stringify(to)}`, 'ToolVersion');
  if (target.id === latest.id) {
    throw CatalogValidationError.of([{ path: 'to', message: `version ${to} is already the latest` }]);
  }
  const taken = new Set((await loadVersions(prisma, ref)).map((v) => v.version));
  const version = chooseVersion(options.version, latest, taken);
  const current = definitionOf(latest);
  // The old content comes back; the operator's on/off switch on the tool stays as it is now.
  // The successor is a property of the tool, not of the old content: it stays as it is now too.
  const definition = requireDefinition({ ...definitionOf(target), version, status: 'ACTIVE', enabled: latest.enabled, successor: latest.successor });
  const [id] = await inTransaction(prisma, ref, (tx) =>
    publishVersions(
      tx,
      [
        {
          definition,
          contentHash: contentHash(definition),
          parentId: target.id,
          previous: { id: latest.id, revision: latest.revision },
          loadedFrom: latest.loadedFrom,
          action: 'tool.rollback',
          event: 'TOOL_VERSIONED',
          diff: { from: current.version, to: version, rollbackTo: to, changes: diffDefinitions(current, definition).filter((c) => c.path !== 'version') },
        },
      ],
      origin,
    ),
  );
  return id!;
}

/**
 * Changes lifecycle columns of the latest version in place (content never changes) and bumps the
 * tool revision, guarded by the revision the caller saw.
 */
async function changeLatest(
  prisma: PrismaClient,
  latest: ToolWithContent,
  data: Prisma.ToolUpdateManyMutationInput,
  record: Pick<ChangeRecord, 'action' | 'event' | 'diff'>,
  origin: ChangeOrigin,
  alsoInTransaction?: (tx: Prisma.TransactionClient) => Promise<void>,
): Promise<string> {
  await inTransaction(prisma, latest, (tx) => changeLatestIn(tx, latest, data, record, origin, alsoInTransaction));
  return latest.id;
}

/** changeLatest's work inside a transaction the caller owns (so several tools can change in one). */
async function changeLatestIn(
  tx: Prisma.TransactionClient,
  latest: Pick<ToolWithContent, 'id' | 'name' | 'platform' | 'version' | 'revision'>,
  data: Prisma.ToolUpdateManyMutationInput,
  record: Pick<ChangeRecord, 'action' | 'event' | 'diff'>,
  origin: ChangeOrigin,
  alsoInTransaction?: (tx: Prisma.TransactionClient) => Promise<void>,
): Promise<void> {
  const changed = await tx.tool.updateMany({
    where: { id: latest.id, isLatest: true, revision: latest.revision },
    data: { ...data, revision: latest.revision + 1, updatedBy: origin.actor },
  });
  if (changed.count !== 1) {
    const now = await tx.tool.findFirst({ where: { name: latest.name, platform: latest.platform, isLatest: true }, select: { revision: true } });
    throw new ConflictError(`tool ${label(latest)} changed since revision ${latest.revision}; nothing was written`, now?.revision ?? null);
  }
  await alsoInTransaction?.(tx);
  await recordChanges(tx, [{ ...record, toolId: latest.id, name: latest.name, platform: latest.platform, version: latest.version }], origin);
}

/** Publishes a draft version: it becomes the latest, as ACTIVE. */
export async function publishDraft(prisma: PrismaClient, ref: ToolRevisionRef, version: string, origin: ChangeOrigin): Promise<string> {
  const latest = await latestForChange(prisma, ref);
  const draft = await prisma.tool.findFirst({ where: { name: latest.name, platform: latest.platform, version } });
  if (!draft) throw new NotFoundError(`tool ${label(ref)} has no version ${JSON.stringify(version)}`, 'ToolVersion');
  if (draft.status !== 'DRAFT') {
    throw CatalogValidationError.of([{ path: 'version', message: `version ${version} is ${draft.status.toLowerCase()}, not a draft` }]);
  }
  await inTransaction(prisma, ref, async (tx) => {
    const moved = await tx.tool.updateMany({
      where: { id: latest.id, isLatest: true, revision: latest.revision, deletedAt: null },
      data: { isLatest: false, updatedBy: origin.actor },
    });
    if (moved.count !== 1) throw new ConflictError(`tool ${label(ref)} changed since revision ${latest.revision}; nothing was written`);
    await tx.tool.update({
      where: { id: draft.id },
      // A draft written before the tool got its successor takes the successor the tool has now.
      data: { isLatest: true, status: 'ACTIVE', revision: latest.revision + 1, updatedBy: origin.actor, successor: draft.successor ?? latest.successor },
    });
    await recordChanges(
      tx,
      [{ action: 'tool.publish', event: 'TOOL_VERSIONED', toolId: draft.id, name: draft.name, platform: draft.platform, version, diff: { from: latest.version, to: version } }],
      origin,
    );
  });
  return draft.id;
}

/** Marks the latest version deprecated, naming the tool to use instead (kept by later versions until changed). */
export async function deprecateTool(prisma: PrismaClient, ref: ToolRevisionRef, successor: string | null | undefined, origin: ChangeOrigin) {
  const latest = await latestForChange(prisma, ref);
  const { id } = await inTransaction(prisma, ref, (tx) =>
    deprecateInTransaction(tx, { name: latest.name, platform: latest.platform, revision: ref.revision }, successor ?? null, origin),
  );
  return id;
}

export async function setToolEnabled(prisma: PrismaClient, ref: ToolRevisionRef, enabled: boolean, origin: ChangeOrigin) {
  const latest = await latestForChange(prisma, ref);
  if (latest.enabled === enabled) {
    throw CatalogValidationError.of([{ path: 'enabled', message: `tool ${label(ref)} is already ${enabled ? 'enabled' : 'disabled'}` }]);
  }
  return changeLatest(
    prisma,
    latest,
    { enabled },
    { action: enabled ? 'tool.enable' : 'tool.disable', event: enabled ? 'TOOL_ENABLED' : 'TOOL_DISABLED', diff: { before: { enabled: latest.enabled }, after: { enabled } } },
    origin,
  );
}

/** Soft delete: every version is hidden from reads and kept, so restoreTool can bring the tool back. */
export async function deleteTool(prisma: PrismaClient, ref: ToolRevisionRef, origin: ChangeOrigin) {
  const latest = await latestForChange(prisma, ref);
  const deletedAt = new Date();
  return changeLatest(
    prisma,
    latest,
    { deletedAt, deletedBy: origin.actor },
    { action: 'tool.delete', event: 'TOOL_DELETED', diff: { before: { deleted: false }, after: { deleted: true } } },
    origin,
    async (tx) => {
      // Inside the transaction, so a test started meanwhile cannot slip past the check.
      const running = await tx.experimentArm.findFirst({
        where: { toolName: latest.name, toolPlatform: latest.platform, experiment: { status: 'RUNNING' } },
        select: { experiment: { select: { key: true } } },
      });
      if (running) {
        throw new ConflictError(`tool ${label(ref)} is used by the running experiment ${JSON.stringify(running.experiment.key)}; stop the experiment first`, latest.revision);
      }
      await tx.tool.updateMany({ where: { name: latest.name, platform: latest.platform, deletedAt: null }, data: { deletedAt, deletedBy: origin.actor } });
    },
  );
}

export async function restoreTool(prisma: PrismaClient, ref: ToolRevisionRef, origin: ChangeOrigin) {
  const latest = await latestForChange(prisma, ref, { deleted: true });
  return changeLatest(
    prisma,
    latest,
    { deletedAt: null, deletedBy: null },
    { action: 'tool.restore', event: 'TOOL_RESTORED', diff: { before: { deleted: true }, after: { deleted: false } } },
    origin,
    async (tx) => {
      await tx.tool.updateMany({ where: { name: latest.name, platform: latest.platform }, data: { deletedAt: null, deletedBy: null } });
    },
  );
}
