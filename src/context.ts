import { randomUUID } from 'node:crypto';
import type { YogaInitialContext } from 'graphql-yoga';
import type { PrismaClient } from './generated/prisma/client.js';
import { createCallerResolver, type Caller } from './auth/caller.js';
import { createLoaders, type Loaders } from './loaders.js';

export interface Context {
  prisma: PrismaClient;
  /** Per-request DataLoaders: created here, never shared between requests. */
  loaders: Loaders;
  requestId: string;
  caller: Caller;
  readsRequireKey: boolean;
}

export interface ContextDeps {
  prisma: PrismaClient;
  adminApiKey?: string;
  /** Reads without a key are allowed unless this is set. */
  readsRequireKey?: boolean;
}

/** The one place a request's context is built. */
export function createContextFactory(deps: ContextDeps) {
  const resolveCaller = createCallerResolver(deps.prisma, { adminApiKey: deps.adminApiKey });
  return async (initial: YogaInitialContext): Promise<Context> => ({
    prisma: deps.prisma,
    loaders: createLoaders(deps.prisma),
    requestId: initial.request.headers.get('x-request-id') ?? randomUUID(),
    caller: await resolveCaller(initial.request.headers.get('authorization')),
    readsRequireKey: deps.readsRequireKey ?? false,
  });
}
