import type { PrismaClient } from '../generated/prisma/client.js';
import type { Logger } from '../logger.js';
import { pruneEvents } from './eventLog.js';

const PRUNE_EVERY_MS = 3_600_000;

/** Prunes events older than the retention now and then every hour. */
export function pruneEventsEvery(prisma: PrismaClient, retentionMs: number, log: Logger): { stop(): void } {
  const prune = () =>
    pruneEvents(prisma, new Date(Date.now() - retentionMs)).then(
      (count) => count && log.info({ pruned: count }, 'pruned catalog events past their retention'),
      (error: unknown) => log.warn({ err: error }, 'could not prune catalog events'),
    );
  void prune();
  const timer = setInterval(() => void prune(), Math.min(PRUNE_EVERY_MS, retentionMs));
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
