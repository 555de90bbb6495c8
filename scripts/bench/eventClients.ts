// Clients of the service for the event benchmark (scripts/bench-events.ts): GraphQL over POST,
// subscriptions over server-sent events and over WebSocket (graphql-ws), and the subscription
// gauge from /metrics. Every received event is stamped with performance.now() the moment it is
// parsed, so latencies are measured on this process's clock only.
import http from 'node:http';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export type Transport = 'websocket' | 'sse';

export interface ReceivedEvent<T = Record<string, unknown>> {
  /** performance.now() when it was parsed. */
  at: number;
  data: T;
}

export interface GraphQLAnswer<T = Record<string, unknown>> {
  status: number;
  data: T | null;
  errors: unknown[] | null;
  /** performance.now() just before the request was handed to fetch, and once the whole body was read. */
  sentAt: number;
  receivedAt: number;
}

/** One POST /graphql with a JSON body; rejects on timeout or transport failure, never on GraphQL errors. */
export async function postGraphQL<T = Record<string, unknown>>(
  base: string,
  query: string,
  options: { headers?: Record<string, string>; timeoutMs?: number; variables?: Record<string, unknown> } = {},
): Promise<GraphQLAnswer<T>> {
  const sentAt = performance.now();
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...options.headers },
    body: JSON.stringify({ query, variables: options.variables ?? {} }),
    // AbortSignal.timeout takes whole milliseconds only.
    signal: AbortSignal.timeout(Math.max(1, Math.ceil(options.timeoutMs ?? 10_000))),
  });
  const text = await response.text();
  const receivedAt = performance.now();
  let parsed: { data?: T | null; errors?: unknown[] };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    throw new Error(`POST ${base}/graphql answered ${response.status} with non-JSON: ${text.slice(0, 200)}`);
  }
  return { status: response.status, data: parsed.data ?? null, errors: parsed.errors ?? null, sentAt, receivedAt };
}

/**
 * A subscriber whose events are kept in arrival order. `ended` resolves with a description of how
 * the stream ended (null when closed by us), so an unexpected end shows up in the report.
 */
export interface EventSubscriber<T = Record<string, unknown>> {
  transport: Transport;
  readonly events: Array<ReceivedEvent<T>>;
  /** Resolves with the first event (received so far or later) matching `match`; rejects after `timeoutMs`, or when the stream ends, naming `what`. */
  waitFor(match: (event: ReceivedEvent<T>) => boolean, timeoutMs: number, what: string): Promise<ReceivedEvent<T>>;
  readonly ended: Promise<string | null>;
  /** True once the stream ended for any reason. */
  readonly closed: boolean;
  close(): void;
}

/** The shared part: the event list, waiters woken on every event, and the end of the stream. */
class EventLog<T> {
  readonly events: Array<ReceivedEvent<T>> = [];
  private readonly waiters = new Set<() => void>();
  closed = false;
  private endWith!: (reason: string | null) => void;
  readonly ended = new Promise<string | null>((resolve) => (this.endWith = resolve));

  push(data: T) {
    this.events.push({ at: performance.now(), data });
    for (const wake of this.waiters) wake();
  }

  end(reason: string | null) {
    if (this.closed) return;
    this.closed = true;
    this.endWith(reason);
    for (const wake of this.waiters) wake();
  }

  /** The subscriber's face of this log; `disconnect` ends its transport. */
  subscriber(transport: Transport, disconnect: () => void): EventSubscriber<T> {
    const log = this;
    return {
      transport,
      events: log.events,
      waitFor: (match, ms, what) => log.waitFor(match, ms, what),
      ended: log.ended,
      get closed() {
        return log.closed;
      },
      close: () => {
        log.end(null);
        disconnect();
      },
    };
  }

  waitFor(match: (event: ReceivedEvent<T>) => boolean, timeoutMs: number, what: string): Promise<ReceivedEvent<T>> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.events.find(match);
        if (found) return finish(() => resolve(found));
        if (this.closed) return finish(() => reject(new Error(`stream ended while waiting for ${what}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`no ${what} within ${timeoutMs} ms`))), timeoutMs);
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        settle();
      };
      this.waiters.add(check);
      check();
    });
  }
}

/**
 * Subscribes over server-sent events with node:http and a connection of its own (`agent: false`):
 * fetch's pool would cap or share connections, and each subscriber must be a separate client.
 * Resolves once the response headers arrived with 200 text/event-stream; rejects otherwise or after
 * `timeoutMs`. `field` names the subscription field whose value is recorded.
 */
export function subscribeSse<T = Record<string, unknown>>(base: string, query: string, field: string, timeoutMs: number): Promise<EventSubscriber<T>> {
  const url = new URL(`${base}/graphql`);
  const log = new EventLog<T>();
  const body = JSON.stringify({ query, variables: {} });
  const request = http.request({
    host: url.hostname,
    port: url.port,
    path: url.pathname,
    method: 'POST',
    agent: false,
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'content-length': Buffer.byteLength(body) },
  });
  let closedByUs = false;
  const subscriber = log.subscriber('sse', () => {
    closedByUs = true;
    request.destroy();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => request.destroy(new Error(`SSE subscription not answered within ${timeoutMs} ms`)), timeoutMs);
    request.on('error', (error) => {
      clearTimeout(timer);
      log.end(closedByUs ? null : `error: ${error.message}`);
      reject(error);
    });
    request.on('response', (response) => {
      clearTimeout(timer);
      const type = response.headers['content-type'] ?? '';
      if (response.statusCode !== 200 || !type.startsWith('text/event-stream')) {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        response.on('end', () => reject(new Error(`SSE subscription refused: HTTP ${response.statusCode} ${type}: ${text.slice(0, 300)}`)));
        return;
      }
      let buffer = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let boundary: number;
        while ((boundary = buffer.indexOf('\n\n')) >= 0) {
          const message = buffer.slice(0, boundary);
          buffer = buffer.slice(boundary + 2);
          handleSseMessage(message, field, log);
        }
      });
      response.on('end', () => log.end(closedByUs ? null : 'server ended the stream'));
      response.on('error', (error) => log.end(closedByUs ? null : `error: ${error.message}`));
      resolve(subscriber);
    });
    request.end(body);
  });
}

/** One SSE message: `event: next` carries a GraphQL result, `event: complete` ends; `:` lines are pings. */
function handleSseMessage<T>(message: string, field: string, log: EventLog<T>) {
  const event = /^event: ?(.*)$/m.exec(message)?.[1];
  const data = /^data: ?(.*)$/m.exec(message)?.[1];
  if (event === 'complete') return log.end('server completed the subscription');
  if (event !== 'next' || !data) return;
  const payload = JSON.parse(data) as { data?: Record<string, T>; errors?: unknown[] };
  if (payload.errors?.length) return log.end(`GraphQL errors: ${JSON.stringify(payload.errors).slice(0, 300)}`);
  const value = payload.data?.[field];
  if (value !== undefined) log.push(value);
}

/**
 * Subscribes over WebSocket with a graphql-ws client of its own (one socket per subscriber).
 * Resolves once the server acknowledged the connection (the subscribe message follows at once);
 * rejects if it did not within `timeoutMs`.
 */
export function subscribeWs<T = Record<string, unknown>>(base: string, query: string, field: string, timeoutMs: number): Promise<EventSubscriber<T> & { client: Client }> {
  const log = new EventLog<T>();
  const client = createClient({ url: `${base.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
  let closedByUs = false;
  const subscriber = Object.assign(
    log.subscriber('websocket', () => {
      closedByUs = true;
      void client.dispose();
    }),
    { client },
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      subscriber.close();
      reject(new Error(`WebSocket not acknowledged within ${timeoutMs} ms`));
    }, timeoutMs);
    const offConnected = client.on('connected', () => {
      clearTimeout(timer);
      offConnected();
      resolve(subscriber);
    });
    client.subscribe<Record<string, T>>(
      { query },
      {
        next: (result) => {
          if (result.errors?.length) return log.end(`GraphQL errors: ${JSON.stringify(result.errors).slice(0, 300)}`);
          const value = result.data?.[field];
          if (value !== undefined) log.push(value);
        },
        error: (error) => {
          clearTimeout(timer);
          const reason = error instanceof Error ? error.message : describeCloseEvent(error);
          log.end(closedByUs ? null : `error: ${reason}`);
          reject(new Error(`WebSocket subscription failed: ${reason}`));
        },
        complete: () => log.end(closedByUs ? null : 'server completed the subscription'),
      },
    );
  });
}

function describeCloseEvent(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error) {
    const { code, reason } = error as { code: unknown; reason?: unknown };
    return `socket closed ${String(code)}${reason ? ` ${String(reason)}` : ''}`;
  }
  return JSON.stringify(error)?.slice(0, 300) ?? String(error);
}

/** `tool_catalog_event_subscriptions` by transport label, from GET /metrics (absent label: 0). */
export async function subscriptionGauge(base: string, timeoutMs = 10_000): Promise<{ websocket: number; http: number }> {
  const response = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  const gauge = { websocket: 0, http: 0 };
  for (const match of text.matchAll(/^tool_catalog_event_subscriptions\{([^}]*)\}\s+(\S+)/gm)) {
    const transport = /transport="([^"]*)"/.exec(match[1]!)?.[1];
    if (transport === 'websocket' || transport === 'http') gauge[transport] = Number(match[2]);
  }
  return gauge;
}
