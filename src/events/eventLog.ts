import type { CatalogEvent, Prisma, PrismaClient } from '../generated/prisma/client.js';

type Tx = Prisma.TransactionClient;

/** PostgreSQL channel on which every committed catalog change is announced to listening instances. */
export const CATALOG_CHANNEL = 'tool_catalog_changes';

export const TOOL_EVENT_TYPES = [
  'TOOL_CREATED',
  'TOOL_VERSIONED',
  'TOOL_DEPRECATED',
  'TOOL_DELETED',
  'TOOL_RESTORED',
  'TOOL_ENABLED',
  'TOOL_DISABLED',
] as const;
export const RELOAD_EVENT_TYPES = ['RELOAD_STARTED', 'RELOAD_FINISHED', 'RELOAD_FAILED'] as const;
export const EXPERIMENT_EVENT_TYPES = ['EXPERIMENT_STARTED', 'EXPERIMENT_STOPPED', 'EXPERIMENT_CONCLUDED', 'EXPERIMENT_COVERAGE_CHANGED'] as const;
export const CATALOG_EVENT_TYPES = [...TOOL_EVENT_TYPES, ...RELOAD_EVENT_TYPES, ...EXPERIMENT_EVENT_TYPES] as const;

export type ToolEventType = (typeof TOOL_EVENT_TYPES)[number];
export type ExperimentEventType = (typeof EXPERIMENT_EVENT_TYPES)[number];
export type CatalogEventType = (typeof CATALOG_EVENT_TYPES)[number];

export type NewCatalogEvent = Omit<Prisma.CatalogEventCreateManyInput, 'revision' | 'createdAt' | 'type'> & { type: CatalogEventType };

export type { CatalogEvent };

// Any fixed 64-bit number; it only has to differ from other advisory locks taken on the database.
const APPEND_LOCK_KEY = 7_301_544_110_001n;

/**
 * Appends events to the catalog's event log and announces them; call it inside the change's own
 * transaction. Appends are serialised by a transaction-scoped advisory lock, so revisions are
 * handed out in commit order: a reader that has seen revision N can never later find a committed
 * event below N (with free-running sequences, a slower transaction could commit a smaller one).
 * The notification is delivered at commit, never for a rollback.
 */
export async function appendEvents(tx: Tx, events: NewCatalogEvent[], trigger: string): Promise<void> {
  if (!events.length) return;
  // Void functions are selected from rather than returned, which the driver adapters cannot decode.
  await tx.$queryRaw`SELECT 1 FROM pg_advisory_xact_lock(${APPEND_LOCK_KEY})`;
  await tx.catalogEvent.createMany({ data: events });
  await tx.$queryRaw`SELECT 1 FROM pg_notify(${CATALOG_CHANNEL}, ${trigger})`;
}

/** The catalog revision now: the newest event's sequence number (0 for an empty log). */
export async function headRevision(db: Tx | PrismaClient): Promise<bigint> {
  const last = await db.catalogEvent.findFirst({ orderBy: { revision: 'desc' }, select: { revision: true } });
  return last?.revision ?? 0n;
}

/** Events after `after` (and up to `upTo`), oldest first, at most `limit`, optionally of some types only. */
export function eventsAfter(
  prisma: PrismaClient,
  after: bigint,
  limit: number,
  types?: readonly string[] | null,
  upTo?: bigint,
): Promise<CatalogEvent[]> {
  return prisma.catalogEvent.findMany({
    where: { revision: { gt: after, ...(upTo === undefined ? {} : { lte: upTo }) }, ...(types?.length ? { type: { in: [...types] } } : {}) },
    orderBy: { revision: 'asc' },
    take: limit,
  });
}

/** The newest revision pruned from the log; replays from before it cannot be complete. */
export async function prunedThrough(prisma: PrismaClient): Promise<bigint> {
  const row = await prisma.catalogEventRetention.findUnique({ where: { id: 1 } });
  return row?.prunedThrough ?? 0n;
}

/**
 * Deletes events older than `olderThan`, always keeping the newest one (it is the catalog
 * revision), and records how far the log now starts. Returns how many were deleted.
 */
export async function pruneEvents(prisma: PrismaClient, olderThan: Date): Promise<number> {
  return prisma.$transaction(async (tx) => {
    const head = await headRevision(tx);
    const doomed = await tx.catalogEvent.aggregate({
      where: { createdAt: { lt: olderThan }, revision: { lt: head } },
      _max: { revision: true },
    });
    const through = doomed._max.revision;
    if (through === null) return 0;
    const { count } = await tx.catalogEvent.deleteMany({ where: { revision: { lte: through } } });
    await tx.catalogEventRetention.upsert({
      where: { id: 1 },
      create: { id: 1, prunedThrough: through, prunedAt: new Date() },
      update: { prunedThrough: through, prunedAt: new Date() },
    });
    return count;
  });
}
