import { auditRow, type ChangeOrigin } from '../audit/auditRow.js';
import type { Prisma } from '../generated/prisma/client.js';
import { appendEvents, type ToolEventType } from '../events/eventLog.js';
import type { ToolDefinition } from './definition.js';
import { CatalogValidationError, ConflictError, NotFoundError } from './errors.js';
import { rowsFor } from './writeTools.js';

type Tx = Prisma.TransactionClient;

export type { ChangeOrigin };

/** One change to one tool, as the audit log and the event log record it. */
export interface ChangeRecord {
  /** Audit action, e.g. `tool.create`, `tool.rollback`, `tool.delete`. */
  action: string;
  event: ToolEventType;
  toolId: string;
  name: string;
  platform: string;
  version: string;
  /** Before/after detail for the audit log. */
  diff: Record<string, unknown>;
  /** More for the catalog event's details (e.g. `breaking` and `breakingChanges`). */
  details?: Record<string, unknown>;
}

/** Writes the audit entries and catalog events for `changes`; call it inside the change's transaction. */
export async function recordChanges(tx: Tx, changes: ChangeRecord[], origin: ChangeOrigin): Promise<void> {
  if (!changes.length) return;
  await tx.auditLog.createMany({
    data: changes.map((change) =>
      auditRow(origin, { action: change.action, entityType: 'Tool', entityId: change.toolId, entityName: `${change.name}@${change.platform}`, diff: change.diff }),
    ),
  });
  await appendEvents(
    tx,
    changes.map((change) => ({
      type: change.event,
      toolName: change.name,
      platform: change.platform,
      toolId: change.toolId,
      version: change.version,
      payload: { actor: origin.actor, trigger: origin.trigger, action: change.action, ...change.details },
    })),
    origin.trigger,
  );
}

/** A new immutable version to write, and the latest version it replaces (or sits beside, for a draft). */
export interface VersionWrite {
  definition: ToolDefinition;
  contentHash: string;
  /** The version this one derives from (the previous latest, or the rollback target). */
  parentId: string | null;
  /** The tool's latest version as the writer saw it; null for a new tool. */
  previous: { id: string; revision: number } | null;
  action: string;
  event: 'TOOL_CREATED' | 'TOOL_VERSIONED';
  diff: Record<string, unknown>;
  /** More for the catalog event's details. */
  details?: Record<string, unknown>;
  /** `directory` for tools from CATALOG_DIR (prunable); new versions keep the tool's. */
  loadedFrom?: string | null;
}

/**
 * The one way new versions enter the catalog (mutations, imports, seeding, reloads).
 * Optimistic concurrency: each replaced latest row must still be latest, not deleted, and at the
 * revision the writer saw; otherwise nothing is written and a ConflictError says so. A published
 * version takes over `isLatest`; a draft leaves the latest where it is and only bumps its revision.
 * Returns the ids of the new rows, in order.
 */
export async function publishVersions(tx: Tx, writes: VersionWrite[], origin: ChangeOrigin): Promise<string[]> {
  const isDraft = (write: VersionWrite) => write.definition.status === 'DRAFT';
  const replaced = writes.filter((w) => w.previous && !isDraft(w));
  const besideDraft = writes.filter((w) => w.previous && isDraft(w));
  const guard = (group: VersionWrite[]) => ({
    OR: group.map((w) => ({ id: w.previous!.id, revision: w.previous!.revision })),
    isLatest: true,
    deletedAt: null,
  });
  for (const [group, data] of [
    [replaced, { isLatest: false, updatedBy: origin.actor }],
    [besideDraft, { revision: { increment: 1 } }],
  ] as const) {
    if (!group.length) continue;
    const moved = await tx.tool.updateMany({ where: guard(group), data });
    if (moved.count !== group.length) {
      const only = group.length === 1 ? group[0]! : undefined;
      const current = only
        ? await tx.tool.findFirst({ where: { name: only.definition.name, platform: only.definition.platform, isLatest: true }, select: { revision: true } })
        : null;
      throw new ConflictError(
        only
          ? `tool ${only.definition.name} (${only.definition.platform}) changed since revision ${only.previous!.revision}; nothing was written`
          : 'the catalog changed while these changes were prepared; nothing was written, run it again',
        current?.revision ?? null,
      );
    }
  }
  const rows = writes.map((w) =>
    rowsFor({ definition: w.definition, contentHash: w.contentHash, parentId: w.parentId, revision: (w.previous?.revision ?? 0) + 1, loadedFrom: w.loadedFrom }, origin.actor),
  );
  await tx.tool.createMany({ data: rows.map((r) => r.tool) });
  await tx.capability.createMany({ data: rows.flatMap((r) => r.capabilities) });
  await tx.pattern.createMany({ data: rows.flatMap((r) => r.patterns) });
  await recordChanges(
    tx,
    writes.map((w, i) => ({
      action: w.action,
      event: w.event,
      toolId: rows[i]!.tool.id!,
      name: w.definition.name,
      platform: w.definition.platform,
      version: w.definition.version,
      diff: w.diff,
      details: w.details,
    })),
    origin,
  );
  return rows.map((r) => r.tool.id!);
}

/** A successor reference (`name`, or `name@platform`) as a tool identity; the platform defaults to `platform`. */
export function successorIdentity(successor: string, platform: string): { name: string; platform: string } {
  const at = successor.lastIndexOf('@');
  return at > 0 ? { name: successor.slice(0, at), platform: successor.slice(at + 1).trim().toLowerCase() } : { name: successor, platform };
}

/**
 * Deprecates the latest version of a tool inside the caller's transaction, naming the tool to use
 * instead (`name` or `name@platform`; null for none), with its audit entry and catalog event. The
 * successor is a property of the tool: later versions keep it until it is changed. Given
 * `revision`, refuses with a ConflictError when the tool moved on. Reusable by any writer that
 * retires a tool (experiments deprecating a losing variant in favour of the winner).
 */
export async function deprecateInTransaction(
  tx: Tx,
  tool: { name: string; platform: string; revision?: number },
  successor: string | null,
  origin: ChangeOrigin,
): Promise<{ id: string; revision: number }> {
  const platform = tool.platform.trim().toLowerCase();
  const label = `${tool.name} (${platform})`;
  const latest = await tx.tool.findFirst({
    where: { name: tool.name, platform, isLatest: true, deletedAt: null },
    select: { id: true, version: true, status: true, successor: true, revision: true },
  });
  if (!latest) throw new NotFoundError(`there is no tool ${label}`, 'Tool');
  if (tool.revision !== undefined && latest.revision !== tool.revision) {
    throw new ConflictError(`tool ${label} is at revision ${latest.revision}, not ${tool.revision}: someone changed it since you read it`, latest.revision);
  }
  const next = successor?.trim() || null;
  if (next && (next.includes('\u0000') || /\p{Cc}/u.test(next) || next.length > 200)) {
    throw CatalogValidationError.of([{ path: 'successor', message: 'must be at most 200 characters, without NUL or control characters' }]);
  }
  if (next) {
    const target = successorIdentity(next, platform);
    if (target.name === tool.name && target.platform === platform) {
      throw CatalogValidationError.of([{ path: 'successor', message: 'a tool cannot succeed itself' }]);
    }
    const exists = await tx.tool.findFirst({ where: { ...target, isLatest: true, deletedAt: null }, select: { id: true } });
    if (!exists) throw CatalogValidationError.of([{ path: 'successor', message: `there is no tool ${next} to use instead` }]);
  }
  const changed = await tx.tool.updateMany({
    where: { id: latest.id, isLatest: true, revision: latest.revision },
    data: { status: 'DEPRECATED', successor: next, revision: latest.revision + 1, updatedBy: origin.actor },
  });
  if (changed.count !== 1) throw new ConflictError(`tool ${label} changed since revision ${latest.revision}; nothing was written`, null);
  await recordChanges(
    tx,
    [
      {
        action: 'tool.deprecate',
        event: 'TOOL_DEPRECATED',
        toolId: latest.id,
        name: tool.name,
        platform,
        version: latest.version,
        diff: { before: { status: latest.status, successor: latest.successor }, after: { status: 'DEPRECATED', successor: next } },
      },
    ],
    origin,
  );
  return { id: latest.id, revision: latest.revision + 1 };
}

/**
 * Deprecates one version of a tool that is not its latest, inside the caller's transaction, naming
 * the tool itself (`name@platform`, which resolves to its latest version) as the one to use
 * instead: "the newer version is better". The tool keeps its status and successor, which live on
 * its latest row; only that version's lifecycle columns change, and the tool's revision moves on
 * as for any change to it (as a draft beside the latest does). Later versions leave the row as it
 * is. Selection only meets an older version where a running experiment pins it, and then treats
 * it as deprecated. Export writes latest versions only, so an older version (and its status) is
 * not in an exported catalog. With its audit entry (`tool.deprecateVersion`) and a
 * TOOL_DEPRECATED event naming the version (details: `versionOnly`, `latestVersion`).
 */
export async function deprecateVersionInTransaction(
  tx: Tx,
  tool: { name: string; platform: string; version: string },
  origin: ChangeOrigin,
): Promise<{ id: string; successor: string }> {
  const platform = tool.platform.trim().toLowerCase();
  const label = `${tool.name} (${platform})`;
  const latest = await tx.tool.findFirst({
    where: { name: tool.name, platform, isLatest: true, deletedAt: null },
    select: { id: true, version: true, revision: true },
  });
  if (!latest) throw new NotFoundError(`there is no tool ${label}`, 'Tool');
  if (latest.version === tool.version) {
    throw CatalogValidationError.of([
      { path: 'version', message: `${tool.version} is the latest version of ${label}: deprecating it deprecates the tool (deprecateTool)` },
    ]);
  }
  const row = await tx.tool.findFirst({
    where: { name: tool.name, platform, version: tool.version, deletedAt: null },
    select: { id: true, status: true, successor: true },
  });
  if (!row) throw new NotFoundError(`tool ${label} has no version ${JSON.stringify(tool.version)}`, 'ToolVersion');
  if (row.status !== 'ACTIVE' && row.status !== 'DEPRECATED') {
    throw CatalogValidationError.of([{ path: 'version', message: `${label} version ${tool.version} is ${row.status}; only a published version can be deprecated` }]);
  }
  const successor = `${tool.name}@${platform}`;
  const changed = await tx.tool.updateMany({
    where: { id: row.id, isLatest: false, deletedAt: null, status: row.status },
    data: { status: 'DEPRECATED', successor, updatedBy: origin.actor },
  });
  const moved = await tx.tool.updateMany({ where: { id: latest.id, isLatest: true, revision: latest.revision }, data: { revision: latest.revision + 1 } });
  if (changed.count !== 1 || moved.count !== 1) {
    throw new ConflictError(`tool ${label} changed while version ${tool.version} was being deprecated; nothing was written`, null);
  }
  await recordChanges(
    tx,
    [
      {
        action: 'tool.deprecateVersion',
        event: 'TOOL_DEPRECATED',
        toolId: row.id,
        name: tool.name,
        platform,
        version: tool.version,
        diff: { version: tool.version, before: { status: row.status, successor: row.successor }, after: { status: 'DEPRECATED', successor }, latestVersion: latest.version },
        details: { versionOnly: true, latestVersion: latest.version },
      },
    ],
    origin,
  );
  return { id: row.id, successor };
}

/** A tool to soft-delete as its file left the catalog directory: its latest version as planned. */
export interface PrunedTool {
  id: string;
  name: string;
  platform: string;
  version: string;
  revision: number;
}

/**
 * Soft-deletes tools whose file is gone from CATALOG_DIR (reload with prune), in the caller's
 * transaction, each with an audit entry and a TOOL_DELETED event. Guarded like every change: a
 * tool changed since the plan makes the whole reload fail with a ConflictError.
 */
export async function pruneTools(tx: Tx, tools: PrunedTool[], origin: ChangeOrigin): Promise<void> {
  if (!tools.length) return;
  const deletedAt = new Date();
  for (const tool of tools) {
    const moved = await tx.tool.updateMany({
      where: { id: tool.id, revision: tool.revision, isLatest: true, deletedAt: null },
      data: { deletedAt, deletedBy: origin.actor, revision: tool.revision + 1, updatedBy: origin.actor },
    });
    if (moved.count !== 1) throw new ConflictError(`tool ${tool.name} (${tool.platform}) changed while the reload was planned; nothing was written`);
    await tx.tool.updateMany({ where: { name: tool.name, platform: tool.platform, deletedAt: null }, data: { deletedAt, deletedBy: origin.actor } });
  }
  await recordChanges(
    tx,
    tools.map((tool) => ({
      action: 'tool.prune',
      event: 'TOOL_DELETED' as const,
      toolId: tool.id,
      name: tool.name,
      platform: tool.platform,
      version: tool.version,
      diff: { before: { deleted: false }, after: { deleted: true }, why: 'its file is gone from the catalog directory' },
      details: { pruned: true },
    })),
    origin,
  );
}
