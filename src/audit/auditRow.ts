import type { Prisma } from '../generated/prisma/client.js';

/** Who made a change and from where; every audit entry carries it. */
export interface ChangeOrigin {
  /** Key name, or `seed` / `cli` for changes made on the host. */
  actor: string;
  /** How the change arrived: graphql, cli, startup, reload... */
  trigger: string;
  reason?: string | null;
  clientIp?: string | null;
  userAgent?: string | null;
}

export const CLI_ORIGIN: ChangeOrigin = { actor: 'cli', trigger: 'cli' };

export interface AuditedChange {
  action: string;
  entityType: string;
  entityId?: string | null;
  entityName?: string | null;
  diff?: Record<string, unknown>;
}

/** The audit row for one change; written in the change's own transaction by the caller. */
export function auditRow(origin: ChangeOrigin, change: AuditedChange): Prisma.AuditLogCreateManyInput {
  return {
    actor: origin.actor,
    action: change.action,
    entityType: change.entityType,
    entityId: change.entityId ?? null,
    entityName: change.entityName ?? null,
    diff: { ...change.diff, trigger: origin.trigger } as Prisma.InputJsonValue,
    reason: origin.reason ?? null,
    clientIp: origin.clientIp ?? null,
    userAgent: origin.userAgent ?? null,
  };
}
