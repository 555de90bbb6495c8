import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { YogaInitialContext } from 'graphql-yoga';
import type { PrismaClient } from './generated/prisma/client.js';
import type { Caller, CallerResolver } from './auth/caller.js';
import type { FailedKeyLimiter } from './auth/failedKeys.js';
import { createLoaders, type Loaders } from './loaders.js';
import type { ChangeOrigin } from './catalog/catalogWrites.js';
import type { CatalogReloader } from './catalog/reload.js';
import type { CatalogEventFeed } from './events/catalogEventFeed.js';
import type { MemoryCatalog } from './memoryCatalog/memoryCatalog.js';
import type { SelectionService } from './selection/selectionService.js';
import type { Telemetry } from './telemetry/index.js';
import type { ExperimentCatalog } from './experiments/experimentCatalog.js';
import type { ObservationSource } from './experiments/observations.js';

export interface Context {
  prisma: PrismaClient;
  /**
   * Per-request DataLoaders, never shared between requests: each is made on first use, so a request
   * answered from the in-memory catalog makes none.
   */
  loaders: Loaders;
  requestId: string;
  caller: Caller;
  /** Where the request came from, for the audit log. */
  client: { ip: string | null; userAgent: string | null };
  /** The process's one reloader: reloads never overlap. */
  reloader: CatalogReloader;
  readsRequireKey: boolean;
  /** STRICT_IMPORT: unknown keys in a tool definition are errors on every path. */
  strictImport: boolean;
  /** The process's one reader of the event log, which subscriptions follow. */
  events: CatalogEventFeed;
  /** The process's in-memory catalog: selection, profiles and the catalog revision answer from it. */
  memory: MemoryCatalog;
  selection: SelectionService;
  /** Execution telemetry: reporting runs, drift rule, observed performance. */
  telemetry: Telemetry;
  /** The process's in-memory experiments (reloaded when the catalog generation moves). */
  experiments: ExperimentCatalog;
  /** Where experiments read the runs reported for their units. */
  observations: ObservationSource;
  /** How the operation arrived: `http` (including server-sent events) or `websocket`. */
  transport: 'http' | 'websocket';
  /** Closes the client's connection at once (a subscriber dropped for not reading); absent without a socket. */
  dropConnection?: () => void;
}

/** What the HTTP server hands Yoga with each request (absent when a test calls `yoga.fetch`). */
export interface ServerContext {
  req?: IncomingMessage;
  /** Set by the WebSocket server for operations that arrive over graphql-ws. */
  transport?: 'websocket';
  /** Set by the WebSocket server: ends the WebSocket (a raw socket close would race its writes). */
  dropConnection?: () => void;
}

export interface ContextDeps {
  prisma: PrismaClient;
  resolveCaller: CallerResolver;
  reloader: CatalogReloader;
  events: CatalogEventFeed;
  memory: MemoryCatalog;
  selection: SelectionService;
  telemetry: Telemetry;
  experiments: ExperimentCatalog;
  observations: ObservationSource;
  /** Reads without a key are allowed unless this is set. */
  readsRequireKey?: boolean;
  /** STRICT_IMPORT. */
  strictImport?: boolean;
  /** Take the client address from X-Forwarded-For (only behind a proxy that sets it). */
  trustProxy?: boolean;
  /** Refuses addresses that sent too many invalid keys (429). */
  failedKeys?: FailedKeyLimiter;
}

function clientAddress(initial: YogaInitialContext & ServerContext, trustProxy: boolean): string | null {
  const forwarded = trustProxy ? initial.request.headers.get('x-forwarded-for')?.split(',')[0]?.trim() : undefined;
  // The audit column holds 64 characters; a forged header must not make the change fail.
  return (forwarded || initial.req?.socket.remoteAddress || '').slice(0, 64) || null;
}

/** The one place a request's context is built. */
export function createContextFactory(deps: ContextDeps) {
  const { resolveCaller } = deps;
  const identify = async (authorization: string | null, ip: string | null): Promise<Caller> => {
    if (!authorization || !deps.failedKeys) return resolveCaller(authorization);
    deps.failedKeys.check(ip);
    try {
      return await resolveCaller(authorization);
    } catch (error) {
      if ((error as { extensions?: { code?: unknown } }).extensions?.code === 'UNAUTHENTICATED') deps.failedKeys.recordFailure(ip);
      throw error;
    }
  };
  return async (initial: YogaInitialContext & ServerContext): Promise<Context> => {
    const ip = clientAddress(initial, deps.trustProxy ?? false);
    return {
      prisma: deps.prisma,
      loaders: createLoaders(deps.prisma, deps.telemetry),
      requestId: initial.request.headers.get('x-request-id') ?? randomUUID(),
      caller: await identify(initial.request.headers.get('authorization'), ip),
      client: {
        ip,
        userAgent: initial.request.headers.get('user-agent')?.slice(0, 512) ?? null,
      },
      readsRequireKey: deps.readsRequireKey ?? false,
      strictImport: deps.strictImport ?? false,
      reloader: deps.reloader,
      events: deps.events,
      memory: deps.memory,
      selection: deps.selection,
      telemetry: deps.telemetry,
      experiments: deps.experiments,
      observations: deps.observations,
      transport: initial.transport ?? 'http',
      dropConnection: initial.dropConnection ?? (initial.req ? () => initial.req?.socket.destroy() : undefined),
    };
  };
}

/** The audit log's view of a change made through this request. */
export function changeOrigin(ctx: Context, reason?: string | null): ChangeOrigin {
  return { actor: ctx.caller.name, trigger: 'graphql', reason: reason ?? null, clientIp: ctx.client.ip, userAgent: ctx.client.userAgent };
}
