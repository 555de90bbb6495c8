import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { createApp, type AppState } from './app.js';
import { listenForCatalogChanges } from './cache/catalogListener.js';
import { scheduleReloads, watchCatalogDir } from './catalog/reloadTriggers.js';
import { prepareDatabase } from './bootstrap.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { openDatabase } from './db/database.js';
import { createLogger } from './logger.js';
import { pruneEventsEvery } from './events/retention.js';
import { serveWebSockets } from './http/webSockets.js';

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`tool-catalog: ${error.message}`);
    process.exit(78); // EX_CONFIG
  }
  throw error;
}

const log = createLogger(config.logLevel);
const db = await openDatabase(config.database);
const state: AppState = { catalogLoaded: false };
const { handler, clock, registry, reloader, yoga, events } = createApp({ db, config, log, state });
// On a PostgreSQL server other processes (instances, the CLI) change the catalog too.
const listener =
  config.database.kind === 'postgres'
    ? listenForCatalogChanges({ url: config.database.url, clock, log, registry, connectTimeoutMs: config.database.connectTimeoutMs })
    : undefined;
state.listener = listener;
listener?.ready.catch((error: unknown) => log.warn({ err: error }, 'catalog change listener could not connect yet; retrying'));
const server = createServer(handler);
// Node closes a keep-alive connection idle for 5 s by default. A client that reuses it at that
// moment gets ECONNRESET, which the reload benchmark saw on a busy embedded database (the server's
// timer fires late and close to the client's reuse). Idle connections are kept longer than the
// usual 60 s proxy idle timeout, so it is the client or the proxy that closes them, not us.
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
const webSockets = serveWebSockets(server, yoga, {
  initTimeoutMs: config.subscriptions.wsInitTimeoutMs,
  keepAliveMs: config.subscriptions.wsKeepAliveMs,
  maxPayloadBytes: Math.min(config.limits.bodyBytes, 1024 * 1024),
});

server.on('error', (error: NodeJS.ErrnoException) => {
  log.fatal({ err: error }, `cannot listen on ${config.host}:${config.port}: ${error.code ?? error.message}`);
  void db.close().finally(() => process.exit(1));
});

// Listen first: /health answers during migrations and seeding, /ready says 503 until they are done.
await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
const address = server.address();
const port = typeof address === 'object' && address ? address.port : config.port;

let watcher: ReturnType<typeof watchCatalogDir> | undefined;
let schedule: ReturnType<typeof scheduleReloads> | undefined;
let retention: ReturnType<typeof pruneEventsEvery> | undefined;
try {
  await prepareDatabase(db, config, log, reloader);
  state.catalogLoaded = true;
  if (config.reloadTriggers.watch && existsSync(config.catalogDir)) {
    watcher = watchCatalogDir(reloader, config.catalogDir, { debounceMs: config.reloadTriggers.debounceMs, log });
  }
  retention = pruneEventsEvery(db.prisma, config.subscriptions.eventRetentionMs, log);
  if (config.reloadTriggers.intervalMs) schedule = scheduleReloads(reloader, config.reloadTriggers.intervalMs, log);
} catch (error) {
  log.fatal({ err: error }, 'start-up failed');
  server.close();
  await db.close().catch(() => {});
  process.exit(1);
}

log.info(
  { url: `http://${config.host}:${port}/graphql`, database: db.kind, graphiql: config.graphiql, pid: process.pid },
  'tool catalog listening',
);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  state.stopping = true;
  log.info({ signal }, 'draining in-flight requests');
  const forced = setTimeout(() => {
    log.warn('drain timeout reached; closing open connections');
    server.closeAllConnections();
  }, config.shutdownTimeoutMs);
  forced.unref();
  // Subscriptions never finish on their own: end them (SSE streams complete, WebSockets close with
  // 1001 "going away") so that their connections do not hold the drain open.
  events.stop();
  const socketsClosed = webSockets.close();
  // Stops accepting, lets in-flight requests finish, then closes keep-alive sockets.
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
  await socketsClosed;
  clearTimeout(forced);
  schedule?.stop();
  retention?.stop();
  await watcher?.close();
  await listener?.stop();
  await db.close();
  log.info('stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
