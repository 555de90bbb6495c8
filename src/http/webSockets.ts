import type { IncomingMessage, Server } from 'node:http';
import { GraphQLError, type ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import type { Context, ServerContext } from '../context.js';
import { fetchHeaders } from './headers.js';

export interface WebSocketOptions {
  path?: string;
  /** Connections that send no `connection_init` within this long are closed (graphql-ws code 4408). */
  initTimeoutMs: number;
  /** Ping interval; a client that misses a pong is terminated. */
  keepAliveMs: number;
  /** Largest message accepted from a client. */
  maxPayloadBytes: number;
}

type Executor = (args: ExecutionArgs) => unknown;

/**
 * The Fetch request the context factory expects, made from the upgrade request. Browsers cannot
 * set headers on a WebSocket, so the key may come in the connection_init payload instead.
 */
function requestFor(upgrade: IncomingMessage, connectionParams: Record<string, unknown> | undefined): Request {
  const headers = fetchHeaders(upgrade.headers, (name) => name.startsWith('sec-websocket') || name === 'upgrade' || name === 'connection');
  const fromParams = connectionParams?.authorization ?? connectionParams?.Authorization;
  if (typeof fromParams === 'string') headers.set('authorization', fromParams);
  return new Request(`http://${upgrade.headers.host ?? 'localhost'}${upgrade.url ?? '/graphql'}`, { headers });
}

/**
 * Serves the GraphQL API over WebSocket (graphql-ws protocol) on the HTTP server's GraphQL path,
 * through the same Yoga pipeline as HTTP: the same schema, context, limits and plugins.
 */
export function serveWebSockets(
  server: Server,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  yoga: YogaServerInstance<ServerContext, any>,
  options: WebSocketOptions,
): { close(): Promise<void> } {
  const wss = new WebSocketServer({ server, path: options.path ?? '/graphql', maxPayload: options.maxPayloadBytes });
  const disposable = useServer<Record<string, unknown>>(
    {
      connectionInitWaitTimeout: options.initTimeoutMs,
      execute: (args) => (args.rootValue as { execute: Executor }).execute(args) as never,
      subscribe: (args) => (args.rootValue as { subscribe: Executor }).subscribe(args) as never,
      onSubscribe: async (ctx, _id, payload) => {
        const enveloped = yoga.getEnveloped({
          request: requestFor(ctx.extra.request, ctx.connectionParams),
          req: ctx.extra.request,
          transport: 'websocket',
          dropConnection: () => ctx.extra.socket.terminate(),
          params: payload,
        } as never);
        try {
          const document = enveloped.parse(payload.query);
          const errors = enveloped.validate(enveloped.schema, document);
          if (errors.length) return errors;
          const contextValue = (await enveloped.contextFactory()) as Context;
          return {
            schema: enveloped.schema,
            document,
            operationName: payload.operationName,
            variableValues: payload.variables,
            contextValue,
            rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
          };
        } catch (error) {
          // A syntax error or a refused key is the client's to read; anything else stays masked.
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
      },
    },
    wss,
    options.keepAliveMs,
  );
  return {
    close: async () => {
      await disposable.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
