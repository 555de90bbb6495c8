import { timingSafeEqual } from 'node:crypto';
import { GraphQLError } from 'graphql';
import { LRUCache } from 'lru-cache';
import type { PrismaClient } from '../generated/prisma/client.js';
import { withDeadline } from '../db/availability.js';
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
  },
): CallerResolver {
  const adminHash = options.adminApiKey ? Buffer.from(hashKey(options.adminApiKey), 'hex') : undefined;
  const cache = new LRUCache<string, Caller | false>({ max: 10_000, ttl: options.cacheTtlMs ?? 10_000 });
  options.onInvalidate?.(() => cache.clear());
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
      const lookup = prisma.apiKey.findUnique({ where: { keyHash: hash }, select: { name: true, role: true, revokedAt: true } });
      const row = await (options.lookupTimeoutMs ? withDeadline(lookup, options.lookupTimeoutMs, 'key lookup') : lookup);
      caller = row && !row.revokedAt && (ROLES as readonly string[]).includes(row.role) ? { role: row.role as Role, name: row.name } : false;
      cache.set(hash, caller);
    }
    if (!caller) throw invalid();
    return caller;
  };
}
