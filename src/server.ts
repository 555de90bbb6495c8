import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { createApp, type AppState } from './app.js';
import { listenForCatalogChanges } from './cache/catalogListener.js';
import { scheduleReloads, watchCatalogDir } from './catalog/reloadTriggers.js';
import { prepareDatabase } from './bootstrap.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { openDatabase } from './db/database.js';
import { collectGarbage } from './heap/collectGarbage.js';
import { autoRssSoftLimit, keepRssUnder, type RssSoftLimit } from './heap/rssSoftLimit.js';
import { createLogger } from './logger.js';
import { pruneEventsEvery } from './events/retention.js';
import { serveWebSockets } from './http/webSockets.js';
import { keepProfilesFile, readProfilesFile } from './profiles/profilesFile.js';

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
const { handler, clock, registry, reloader, yoga, events, memory, telemetry } = createApp({ db, config, log, state });
// On a PostgreSQL server other processes (instances, the CLI) change the catalog too.
const listener =
  config.database.kind === 'postgres'
    ? listenForCatalogChanges({ url: config.database.url, clock, log, registry, connectTimeoutMs: config.database.connectTimeoutMs })
    : undefined;
state.listener = listener;
// While the listener has lost the database, selection and profiles answer from memory marked stale.
memory.setDatabaseLink(listener);
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
  log,
});

server.on('error', (error: NodeJS.ErrnoException) => {
  log.fatal({ err: error }, `cannot listen on ${config.host}:${config.port}: ${error.code ?? error.message}`);
  void db.close().finally(() => process.exit(1));
});

// Listen first: /health answers during migrations and seeding, /ready says 503 until they are done.
await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
const address = server.address();
const port = typeof address === 'object' && address ? address.port : config.port;

let stopping = false;
let watcher: ReturnType<typeof watchCatalogDir> | undefined;
let schedule: ReturnType<typeof scheduleReloads> | undefined;
let retention: ReturnType<typeof pruneEventsEvery> | undefined;
let rssSoftLimit: RssSoftLimit | undefined;
/** Migrations, seeding and the in-memory catalog; then the reload triggers and event pruning. */
async function startCatalog(): Promise<void> {
  await prepareDatabase(db, config, log, reloader);
  if (!(await memory.refresh())) throw new Error('the in-memory catalog could not be loaded');
  // Start-up's garbage goes before the first request, not at a collection in the middle of serving;
  // compacting, so that the sparse pages it leaves go back to the system too.
  collectGarbage({ compact: true });
  // Above RSS_SOFT_LIMIT_MB the service collects its garbage itself, instead of at V8's much later
  // schedule. "auto" is read on the clean heap of a ready service, once the pages the collection
  // emptied have gone back to the system (shortly after it returns).
  if (!rssSoftLimit) {
    let limitBytes = config.rssSoftLimitBytes;
    if (limitBytes === 'auto') {
      await new Promise((resolve) => setTimeout(resolve, 100));
      limitBytes = autoRssSoftLimit();
    }
    rssSoftLimit = keepRssUnder({ limitBytes, registry, log });
    log.info({ rssSoftLimitMb: Math.round(limitBytes / 1024 / 1024) }, 'RSS soft limit set');
  }
  state.catalogLoaded = true;
  if (config.reloadTriggers.watch && existsSync(config.catalogDir)) {
    watcher = watchCatalogDir(reloader, config.catalogDir, { debounceMs: config.reloadTriggers.debounceMs, log });
  }
  retention = pruneEventsEvery(db.prisma, config.subscriptions.eventRetentionMs, log);
  // Roll-up compaction, telemetry pruning and the observed-performance view for selection.
  telemetry.start();
  if (config.reloadTriggers.intervalMs) schedule = scheduleReloads(reloader, config.reloadTriggers.intervalMs, log);
}

// The profiles of every new revision go to PROFILES_SNAPSHOT_PATH, for a start-up without a database.
const stopProfilesFile = config.profilesSnapshotPath ? keepProfilesFile(memory, config.profilesSnapshotPath, log) : undefined;
let startingInBackground = false;
try {
  await startCatalog();
} catch (error) {
  // A database that does not answer at start-up: with a profiles snapshot, serve it (stale) and keep
  // trying; without one there is nothing to serve.
  const snapshot = config.profilesSnapshotPath
    ? await readProfilesFile(config.profilesSnapshotPath).catch((fileError: unknown) => {
        log.warn({ err: fileError }, 'the profiles snapshot could not be read');
        return undefined;
      })
    : undefined;
  if (!snapshot) {
    log.fatal({ err: error }, 'start-up failed');
    server.close();
    await db.close().catch(() => {});
    process.exit(1);
  }
  memory.adopt(snapshot);
  // GraphQL serves what memory holds (stale); everything that needs the database answers 503.
  state.servingSnapshot = true;
  log.warn(
    { err: error, file: config.profilesSnapshotPath, revision: Number(snapshot.revision) },
    'database unreachable at start-up: serving the profiles snapshot (stale) until it answers',
  );
  startingInBackground = true;
}

if (startingInBackground) {
  void (async () => {
    for (let attempt = 1; !stopping; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(500 * attempt, 5_000)));
      if (stopping) return;
      try {
        await startCatalog();
        log.info({ attempt }, 'database answered: start-up finished, serving the catalog from the database');
        return;
      } catch (error) {
        log.warn({ err: error, attempt }, 'database still unreachable; serving the profiles snapshot (stale)');
      }
    }
  })();
}

log.info(
  { url: `http://${config.host}:${port}/graphql`, database: db.kind, graphiql: config.graphiql, pid: process.pid },
  'tool catalog listening',
);

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
  memory.stop();
  rssSoftLimit?.stop();
  stopProfilesFile?.();
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
  telemetry.stop();
  await watcher?.close();
  await listener?.stop();
  await db.close();
  log.info('stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
