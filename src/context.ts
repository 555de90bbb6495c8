import { randomUUID } from 'node:crypto';
import type { YogaInitialContext } from 'graphql-yoga';
import type { PrismaClient } from './generated/prisma/client.js';
import { createCallerResolver, type Caller } from './auth.js';
import { createLoaders, type Loaders } from './loaders.js';

export interface Context {
  prisma: PrismaClient;
  /** Per-request DataLoaders: created here, never shared between requests. */
  loaders: Loaders;
  requestId: string;
  caller: Caller;
}

export interface ContextDeps {
  prisma: PrismaClient;
  adminApiKey?: string;
}

/** The one place a request's context is built. */
export function createContextFactory(deps: ContextDeps) {
  const resolveCaller = createCallerResolver(deps.adminApiKey);
  return (initial: YogaInitialContext): Context => ({
    prisma: deps.prisma,
    loaders: createLoaders(deps.prisma),
    requestId: initial.request.headers.get('x-request-id') ?? randomUUID(),
    caller: resolveCaller(initial.request.headers.get('authorization')),
  });
}
