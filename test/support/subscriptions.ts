import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { App } from '../../src/app.js';
import type { Logger } from '../../src/logger.js';
import { serveWebSockets } from '../../src/http/webSockets.js';
import { silentLog } from './service.js';

export interface Listening {
  server: Server;
  url: string;
  wsUrl: string;
  close(): Promise<void>;
}

/** Serves `app` on a loopback port, HTTP and WebSocket, as server.ts does. */
export async function listenOnLoopback(app: App, ws: { initTimeoutMs?: number; keepAliveMs?: number; log?: Logger } = {}): Promise<Listening> {
  const server = createServer(app.handler);
  const sockets = serveWebSockets(server, app.yoga, {
    initTimeoutMs: ws.initTimeoutMs ?? 3_000,
    keepAliveMs: ws.keepAliveMs ?? 12_000,
    maxPayloadBytes: 1024 * 1024,
    log: ws.log ?? silentLog,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${port}/graphql`,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    close: async () => {
      await sockets.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface Subscription<T> {
  /** Resolves with the next payload, or rejects after `timeoutMs`. */
  next(timeoutMs?: number): Promise<T>;
  /** Payloads received so far and not yet taken. */
  readonly buffered: T[];
  /** Resolves when the server ends the stream; with the error payload if it ended in error. */
  ended: Promise<unknown>;
  close(): void;
}

function queueOf<T>() {
  const buffered: T[] = [];
  let waiter: ((value: T) => void) | undefined;
  return {
    buffered,
    push(value: T) {
      if (waiter) {
        const w = waiter;
        waiter = undefined;
        w(value);
      } else buffered.push(value);
    },
    next(timeoutMs = 10_000): Promise<T> {
      if (buffered.length) return Promise.resolve(buffered.shift()!);
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiter = undefined;
          reject(new Error(`no event within ${timeoutMs} ms`));
        }, timeoutMs);
        waiter = (value) => {
          clearTimeout(timer);
          resolve(value);
        };
      });
    },
  };
}

/** A subscription over server-sent events (Yoga's distinct-connection mode), read with fetch. */
export async function subscribeSse<T = any>(url: string, query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<Subscription<T>> {
  const abort = new AbortController();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify({ query, variables }),
    signal: abort.signal,
  });
  if (!response.ok || !response.body) throw new Error(`SSE subscription refused: ${response.status} ${await response.text()}`);
  const queue = queueOf<T>();
  const ended = (async () => {
    const decoder = new TextDecoder();
    let text = '';
    let lastError: unknown;
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        text += decoder.decode(chunk, { stream: true });
        let boundary: number;
        while ((boundary = text.indexOf('\n\n')) >= 0) {
          const message = text.slice(0, boundary);
          text = text.slice(boundary + 2);
          const event = /^event: (.*)$/m.exec(message)?.[1];
          const data = /^data: (.*)$/m.exec(message)?.[1];
          if (event === 'next' && data) {
            const payload = JSON.parse(data);
            if (payload.errors) lastError = payload;
            else queue.push(payload.data);
          }
        }
      }
    } catch (error) {
      // The server went away or the client closed: the stream has ended either way.
      if (!abort.signal.aborted) return error;
    }
    return lastError;
  })();
  return { next: queue.next, buffered: queue.buffered, ended, close: () => abort.abort() };
}

/** A subscription over WebSocket with the graphql-ws client. */
export function subscribeWs<T = any>(
  wsUrl: string,
  query: string,
  variables: Record<string, unknown> = {},
  connectionParams?: Record<string, unknown>,
): Subscription<T> & { client: Client } {
  const client = createClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams, retryAttempts: 0, lazy: true });
  const queue = queueOf<T>();
  const ended = new Promise<unknown>((resolve) => {
    client.subscribe<T>(
      { query, variables },
      {
        next: (result) => (result.errors ? resolve(result) : queue.push(result.data as T)),
        error: (error) => resolve(error),
        complete: () => resolve(undefined),
      },
    );
  });
  return { client, next: queue.next, buffered: queue.buffered, ended, close: () => void client.dispose() };
}
