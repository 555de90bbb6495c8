import { auditRow, type ChangeOrigin } from '../audit/auditRow.js';
import type { Prisma } from '../generated/prisma/client.js';
import { appendEvents, type ToolEventType } from '../events/eventLog.js';
import type { ToolDefinition } from './definition.js';
import { ConflictError } from './errors.js';
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
      payload: { actor: origin.actor, trigger: origin.trigger, action: change.action },
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
    rowsFor({ definition: w.definition, contentHash: w.contentHash, parentId: w.parentId, revision: (w.previous?.revision ?? 0) + 1 }, origin.actor),
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
    })),
    origin,
  );
  return rows.map((r) => r.tool.id!);
}
