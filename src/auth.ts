import { createHash, timingSafeEqual } from 'node:crypto';
import { GraphQLError } from 'graphql';

export type Role = 'anonymous' | 'admin';

export interface Caller {
  role: Role;
  name: string;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Resolves the caller from `Authorization: Bearer <key>`. For now the only key is the bootstrap
 * admin key from configuration; stored, hashed keys with roles come with key management.
 */
export function createCallerResolver(adminApiKey: string | undefined) {
  const adminDigest = adminApiKey ? digest(adminApiKey) : undefined;
  return (authorization: string | null): Caller => {
    const presented = /^Bearer\s+(.+)$/i.exec(authorization ?? '')?.[1]?.trim();
    if (presented && adminDigest && timingSafeEqual(digest(presented), adminDigest)) {
      return { role: 'admin', name: 'admin' };
    }
    if (presented) {
      throw new GraphQLError('the API key is not valid', { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
    }
    return { role: 'anonymous', name: 'anonymous' };
  };
}

export function requireAdmin(caller: Caller): void {
  if (caller.role !== 'admin') {
    throw new GraphQLError('this operation needs an API key with the admin role (Authorization: Bearer <key>)', {
      extensions: { code: caller.role === 'anonymous' ? 'UNAUTHENTICATED' : 'FORBIDDEN' },
    });
  }
}
