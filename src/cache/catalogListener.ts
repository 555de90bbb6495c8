import pg from 'pg';
import { Counter, Gauge, type Registry } from 'prom-client';
import { CATALOG_CHANNEL } from '../events/eventLog.js';
import type { Logger } from '../logger.js';
import type { CatalogClock } from './catalogClock.js';


const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5_000;

export interface CatalogListenerOptions {
  url: string;
  clock: CatalogClock;
  log: Logger;
  registry?: Registry;
  connectTimeoutMs?: number;
  /**
   * How often the listening connection is asked for a round trip (LISTEN again, a no-op). A server that stops answering (frozen,
   * or a network that drops packets without closing anything) leaves a TCP connection open for a
   * long time; without a heartbeat nobody would notice. 0 turns it off.
   */
  heartbeatMs?: number;
  /** How long a heartbeat may go unanswered before the connection counts as lost. */
  heartbeatTimeoutMs?: number;
}

export interface CatalogListener {
  /** Resolves once the first LISTEN is in place (or rejects if the first connection fails). */
  ready: Promise<void>;
  readonly connected: boolean;
  stop(): Promise<void>;
}

/**
 * Keeps one dedicated PostgreSQL connection listening for catalog changes committed by anyone —
 * another instance, the CLI, a reload — and advances this process's catalog generation for each,
 * so its caches never outlive a change made elsewhere. A lost connection is re-established with
 * backoff; on reconnecting the generation advances too, since changes in between went unheard.
 */
/** The listener's metrics (PostgreSQL only: the embedded database has no other writers to hear). */
export function changeListenerMetrics(registry: Registry) {
  const connected = new Gauge({ name: 'tool_catalog_change_listener_connected', help: '1 while the catalog change listener holds its connection', registers: [registry] });
  connected.set(0);
  const reconnects = new Counter({ name: 'tool_catalog_change_listener_reconnects_total', help: 'Times the catalog change listener had to reconnect', registers: [registry] });
  return { connected, reconnects };
}

export function listenForCatalogChanges(options: CatalogListenerOptions): CatalogListener {
  const { clock, log } = options;
  const metrics = options.registry ? changeListenerMetrics(options.registry) : undefined;
  const connectedGauge = metrics?.connected;
  const reconnects = metrics?.reconnects;
  let client: pg.Client | undefined;
  let connected = false;
  let stopped = false;
  let retryMs = RETRY_MIN_MS;
  let timer: NodeJS.Timeout | undefined;
  let everConnected = false;
  let heartbeat: NodeJS.Timeout | undefined;
  const heartbeatMs = options.heartbeatMs ?? 2_000;
  const heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 2_000;

  const setConnected = (value: boolean) => {
    connected = value;
    connectedGauge?.set(value ? 1 : 0);
  };

  const scheduleReconnect = () => {
    if (stopped || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      reconnects?.inc();
      void connect().catch(() => scheduleReconnect());
    }, retryMs);
    retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
  };

  async function connect(): Promise<void> {
    const next = new pg.Client({ connectionString: options.url, connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000 });
    const lost = (error?: Error) => {
      if (client !== next) return;
      client = undefined;
      setConnected(false);
      if (heartbeat) clearInterval(heartbeat);
      heartbeat = undefined;
      // From now on changes go unheard: answers cached until now must not be served as current, and
      // whatever is computed next from memory is marked stale (the in-memory catalog reads `connected`).
      clock.advance();
      next.removeAllListeners();
      void next.end().catch(() => {});
      if (!stopped) {
        log.warn({ err: error }, 'catalog change listener lost its connection; reconnecting');
        scheduleReconnect();
      }
    };
    next.on('error', lost);
    next.on('end', () => lost());
    next.on('notification', (message) => {
      if (message.channel !== CATALOG_CHANNEL) return;
      clock.advance();
      log.debug({ trigger: message.payload }, 'catalog changed');
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${CATALOG_CHANNEL}`);
    } catch (error) {
      next.removeAllListeners();
      await next.end().catch(() => {});
      throw error;
    }
    if (stopped) {
      await next.end().catch(() => {});
      return;
    }
    client = next;
    setConnected(true);
    retryMs = RETRY_MIN_MS;
    if (heartbeatMs > 0) {
      let waiting = false;
      heartbeat = setInterval(() => {
        if (waiting || client !== next) return;
        waiting = true;
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the database did not answer a heartbeat within ${heartbeatTimeoutMs} ms`)), heartbeatTimeoutMs);
        });
        // LISTEN again: a no-op round trip that keeps the connection recognisable as the listener.
        Promise.race([next.query(`LISTEN ${CATALOG_CHANNEL}`), timeout])
          .then(
            () => undefined,
            (error: Error) => lost(error),
          )
          .finally(() => {
            clearTimeout(timer);
            waiting = false;
          });
      }, heartbeatMs);
      heartbeat.unref();
    }
    // Whatever changed while nobody listened is unknown: start the caches afresh.
    if (everConnected) {
      clock.advance();
      log.info('catalog change listener reconnected; caches flushed');
    }
    everConnected = true;
  }

  const ready = connect();
  ready.catch(() => scheduleReconnect());

  return {
    ready,
    get connected() {
      return connected;
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (heartbeat) clearInterval(heartbeat);
      const current = client;
      client = undefined;
      setConnected(false);
      if (current) {
        current.removeAllListeners();
        await current.end().catch(() => {});
      }
    },
  };
}
