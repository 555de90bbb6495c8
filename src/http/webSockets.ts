import type { IncomingMessage, Server } from 'node:http';
import { GraphQLError, type ExecutionArgs } from 'graphql';
import { CloseCode, handleProtocols, makeServer, type ServerOptions } from 'graphql-ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Context, ServerContext } from '../context.js';
import type { Logger } from '../logger.js';
import { fetchHeaders } from './headers.js';

export interface WebSocketOptions {
  path?: string;
  /** Connections that send no `connection_init` within this long are closed (graphql-ws code 4408). */
  initTimeoutMs: number;
  /** Ping interval; a client that misses a pong is terminated. */
  keepAliveMs: number;
  /** Largest message accepted from a client. */
  maxPayloadBytes: number;
  /** Protocol errors and socket failures are logged here (graphql-ws' own `use/ws` would print them to the console). */
  log: Logger;
}

type Extra = { socket: WebSocket; request: IncomingMessage };

const errorMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * graphql-ws' `useServer` for `ws`, with the same keep-alive and close codes, except that every
 * failure goes through pino as JSON: a client's protocol mistake (4400-4499, 1009 message too big)
 * at info, anything of ours at error. The close reason stays generic, as in production mode.
 */
function attachGraphqlWs(wss: WebSocketServer, serverOptions: ServerOptions<Record<string, unknown>, Extra>, keepAliveMs: number, log: Logger) {
  const server = makeServer<Record<string, unknown>, Extra>({
    ...serverOptions,
    onClose: (ctx, code, reason) => {
      if (code !== undefined && ((code >= 4400 && code < 4500) || code === 1009)) {
        log.info({ ws: { code, reason, path: ctx.extra.request.url } }, `graphql-ws connection closed: ${code} ${reason}`);
      }
    },
  });
  wss.options.handleProtocols = handleProtocols;
  wss.on('error', (error) => {
    log.error({ err: error }, 'WebSocket server error');
    for (const client of wss.clients) client.close(CloseCode.InternalServerError, 'Internal server error');
  });
  wss.on('connection', (socket, request) => {
    socket.once('error', (error) => {
      // ws raises these for a client's bad frame or an oversized message, then closes the socket.
      log.info({ ws: { path: request.url, error: errorMessage(error) } }, `WebSocket client error: ${errorMessage(error)}`);
      socket.close(CloseCode.InternalServerError, 'Internal server error');
    });
    let pongWait: NodeJS.Timeout | null = null;
    const pingInterval =
      keepAliveMs > 0 && Number.isFinite(keepAliveMs)
        ? setInterval(() => {
            if (socket.readyState !== socket.OPEN) return;
            pongWait = setTimeout(() => socket.terminate(), keepAliveMs);
            socket.once('pong', () => {
              if (pongWait) clearTimeout(pongWait);
              pongWait = null;
            });
            socket.ping();
          }, keepAliveMs)
        : null;
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve, reject) => {
            if (socket.readyState !== socket.OPEN) return resolve();
            socket.send(data, (error) => (error ? reject(error) : resolve()));
          }),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on('message', async (data) => {
            try {
              await handle(String(data));
            } catch (error) {
              log.error({ err: error }, 'graphql-ws message handling failed');
              socket.close(CloseCode.InternalServerError, 'Internal server error');
            }
          }),
      },
      { socket, request },
    );
    socket.once('close', (code, reason) => {
      if (pongWait) clearTimeout(pongWait);
      if (pingInterval) clearInterval(pingInterval);
      void Promise.resolve(closed(code, String(reason))).catch((error: unknown) => log.error({ err: error }, 'graphql-ws close handling failed'));
    });
  });
  return {
    dispose: async () => {
      for (const client of wss.clients) client.close(1001, 'Going away');
      wss.removeAllListeners();
    },
  };
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
  const disposable = attachGraphqlWs(
    wss,
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
    options.keepAliveMs,
    options.log,
  );
  return {
    close: async () => {
      await disposable.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
