import { timingSafeEqual } from 'node:crypto';
import { GraphQLError } from 'graphql';
import { LRUCache } from 'lru-cache';
import type { PrismaClient } from '../generated/prisma/client.js';
import { withDeadline } from '../db/availability.js';
import type { Logger } from '../logger.js';
import { hashKey, ROLES, type Role } from './keys.js';

export interface Caller {
  role: Role | 'anonymous';
  /** Key name (the audit log's actor), or `anonymous`. */
  name: string;
}

const RANK: Record<Caller['role'], number> = { anonymous: 0, reader: 1, reporter: 2, editor: 3, admin: 4 };

export function hasRole(caller: Caller, role: Role): boolean {
  return RANK[caller.role] >= RANK[role];
}

const ANONYMOUS: Caller = { role: 'anonymous', name: 'anonymous' };

/** `ApiKey.lastUsedAt` is written at most this often per key (per process): a busy key costs one write a minute. */
export const LAST_USED_INTERVAL_MS = 60_000;

/** A stored key as cached: the caller plus the row id that `lastUsedAt` is written to. */
interface StoredCaller extends Caller {
  id: string;
}

/**
 * Resolves `Authorization: Bearer <key>` to a caller: the bootstrap admin key from configuration,
 * or a stored key (by hash). Lookups are cached for a few seconds in a bounded LRU, so a revoked key
 * stops working within `cacheTtlMs`.
 */
export type CallerResolver = (authorization: string | null) => Promise<Caller>;

export function createCallerResolver(
  prisma: PrismaClient,
  options: {
    adminApiKey?: string;
    cacheTtlMs?: number;
    /** Deadline on the key lookup (DB_QUERY_TIMEOUT_MS). */
    lookupTimeoutMs?: number;
    /** Called with a function that empties the lookup cache: wired to every catalog/key change notification. */
    onInvalidate?: (invalidate: () => void) => void;
    /** Where a failed `lastUsedAt` write is reported (warn). */
    log?: Logger;
  },
): CallerResolver {
  const adminHash = options.adminApiKey ? Buffer.from(hashKey(options.adminApiKey), 'hex') : undefined;
  const cache = new LRUCache<string, StoredCaller | false>({ max: 10_000, ttl: options.cacheTtlMs ?? 10_000 });
  options.onInvalidate?.(() => cache.clear());
  // Last `lastUsedAt` write per key id; bounded, and an entry older than the interval is as good as none.
  const lastWritten = new LRUCache<string, true>({ max: 10_000, ttl: LAST_USED_INTERVAL_MS });
  // Fire-and-forget: never awaited by the request, bounded by the database deadline, a failure only logged.
  const touch = (id: string) => {
    if (lastWritten.has(id)) return;
    lastWritten.set(id, true);
    const write = prisma.apiKey.update({ where: { id }, data: { lastUsedAt: new Date() }, select: { id: true } });
    (options.lookupTimeoutMs ? withDeadline(write, options.lookupTimeoutMs, 'key lastUsedAt') : write).catch((error: unknown) => {
      options.log?.warn({ keyId: id, err: { message: error instanceof Error ? error.message : String(error) } }, 'could not record lastUsedAt');
    });
  };
  return async (authorization) => {
    const key = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    if (!authorization) return ANONYMOUS;
    const invalid = () =>
      new GraphQLError('the API key is not valid', { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
    if (!key) throw invalid();
    const hash = hashKey(key);
    if (adminHash && timingSafeEqual(Buffer.from(hash, 'hex'), adminHash)) return { role: 'admin', name: 'admin' };
    let caller = cache.get(hash);
    if (caller === undefined) {
      const lookup = prisma.apiKey.findUnique({ where: { keyHash: hash }, select: { id: true, name: true, role: true, revokedAt: true } });
      const row = await (options.lookupTimeoutMs ? withDeadline(lookup, options.lookupTimeoutMs, 'key lookup') : lookup);
      caller = row && !row.revokedAt && (ROLES as readonly string[]).includes(row.role) ? { id: row.id, role: row.role as Role, name: row.name } : false;
      cache.set(hash, caller);
    }
    if (!caller) throw invalid();
    touch(caller.id);
    return { role: caller.role, name: caller.name };
  };
}
