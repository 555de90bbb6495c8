import { createApp, type App } from '../../src/app.js';
import { createApiKey } from '../../src/auth/keys.js';
import { prepareDatabase } from '../../src/bootstrap.js';
import { listenForCatalogChanges, type CatalogListener } from '../../src/cache/catalogListener.js';
import { openDatabase, type Database } from '../../src/db/database.js';
import { createPostgresDatabase, SAMPLE_CATALOG_DIR, silentLog } from './service.js';

/**
 * Two service instances on one fresh PostgreSQL database, as in production: A is where changes are
 * made, B hears them through its change listener. Each has a connection pool of its own.
 */
export interface TwoInstances {
  dbA: Database;
  dbB: Database;
  appA: App;
  appB: App;
  listenerB: CatalogListener;
  /** Authorization header of an editor key. */
  editor: Record<string, string>;
  stop(): Promise<void>;
}

/** Starts A and B on a fresh database of `serverUrl` seeded with the sample catalog; B's listener is ready. */
export async function startTwoInstances(serverUrl: string, options: { editorKeyName: string; adminApiKey?: string }): Promise<TwoInstances> {
  const fresh = await createPostgresDatabase(serverUrl);
  const open = () => openDatabase({ kind: 'postgres', url: fresh.url, poolMax: 5, connectTimeoutMs: 5_000, statementTimeoutMs: 15_000, idleTimeoutMs: 10_000 });
  const dbA = await open();
  const dbB = await open();
  await prepareDatabase(dbA, { catalogDir: SAMPLE_CATALOG_DIR, seedOnEmpty: true }, silentLog);
  const state = { catalogLoaded: true };
  const appA = createApp({ db: dbA, config: { graphiql: false, ...(options.adminApiKey ? { adminApiKey: options.adminApiKey } : {}) }, log: silentLog, state });
  const appB = createApp({ db: dbB, config: { graphiql: false }, log: silentLog, state });
  const listenerB = listenForCatalogChanges({ url: fresh.url, clock: appB.clock, log: silentLog, registry: appB.registry });
  await listenerB.ready;
  const editor = { authorization: `Bearer ${await createApiKey(dbA.prisma, options.editorKeyName, 'editor')}` };
  return {
    dbA,
    dbB,
    appA,
    appB,
    listenerB,
    editor,
    stop: async () => {
      appA.events.stop();
      appB.events.stop();
      await listenerB.stop();
      await dbA.close();
      await dbB.close();
      await fresh.drop();
    },
  };
}

/** One GraphQL query to one instance, through its Yoga app. */
export async function askInstance(app: App, query: string, headers: Record<string, string> = {}): Promise<{ data: any; errors?: unknown[] }> {
  const response = await app.yoga.fetch('http://catalog.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query }),
  });
  return (await response.json()) as { data: any; errors?: unknown[] };
}
