import { randomUUID } from 'node:crypto';
import type { YogaInitialContext } from 'graphql-yoga';
import type { PrismaClient } from './generated/prisma/client.js';
import { createLoaders, type Loaders } from './loaders.js';

export interface Context {
  prisma: PrismaClient;
  /** Per-request DataLoaders: created here, never shared between requests. */
  loaders: Loaders;
  requestId: string;
}

export interface ContextDeps {
  prisma: PrismaClient;
}

/** The one place a request's context is built. */
export function createContextFactory(deps: ContextDeps) {
  return (initial: YogaInitialContext): Context => ({
    prisma: deps.prisma,
    loaders: createLoaders(deps.prisma),
    requestId: initial.request.headers.get('x-request-id') ?? randomUUID(),
  });
}
