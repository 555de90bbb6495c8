import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app.js';
import { prepareDatabase } from '../src/bootstrap.js';
import { listenForCatalogChanges, type CatalogListener } from '../src/cache/catalogListener.js';
import { openDatabase, type Database } from '../src/db/database.js';
import { privatePostgresAvailable, startPrivatePostgres, type PrivatePostgres } from './support/privatePostgres.js';
import { SAMPLE_CATALOG_DIR, silentLog } from './support/service.js';

/**
 * With the database stopped or frozen, selectTools, profiles and tool-by-name keep answering from
 * the in-memory catalog, marked stale, within a bounded time; when it is back they are fresh again.
 * Runs on a PostgreSQL server of its own (never the shared one).
 */

/** Generous on purpose: this proves "answers, and does not hang", not a latency figure. */
const ANSWER_BOUND_MS = 2_000;

let postgres: PrivatePostgres;
let db: Database;
let app: App;
let listener: CatalogListener;
let server: Server;
let base: string;

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - started };
}

async function graphql(query: string, variables?: object) {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(20_000),
  });
  return (await response.json()) as any;
}

const SELECT = `query($r: SelectToolsInput!) { selectTools(request: $r) { revision stale candidates { pattern tool { name version capabilities { name } } } } }`;

beforeAll(async () => {
  if (!privatePostgresAvailable) return;
  postgres = await startPrivatePostgres();
  db = await openDatabase({ kind: 'postgres', url: postgres.url, poolMax: 4, connectTimeoutMs: 1_000, statementTimeoutMs: 5_000, idleTimeoutMs: 10_000 });
  await prepareDatabase(db, { catalogDir: SAMPLE_CATALOG_DIR, seedOnEmpty: true }, silentLog);
  app = createApp({ db, config: { graphiql: false }, log: silentLog, state: { catalogLoaded: true } });
  listener = listenForCatalogChanges({ url: postgres.url, clock: app.clock, log: silentLog, connectTimeoutMs: 1_000, heartbeatMs: 300, heartbeatTimeoutMs: 1_500 });
  app.memory.setDatabaseLink(listener);
  await listener.ready;
  expect(await app.memory.refresh()).toBe(true);
  server = createServer(app.handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 120_000);

afterAll(async () => {
  if (!privatePostgresAvailable) return;
  postgres.thaw();
  server?.closeAllConnections();
  server?.close();
  app?.events.stop();
  app?.memory.stop();
  await listener?.stop();
  await db?.close().catch(() => {});
  postgres.destroy();
}, 60_000);

async function expectStaleAnswers(revision: number) {
  for (let i = 0; i < 10; i++) {
    const selection = await timed(() => graphql(SELECT, { r: { capability: 'text_search', variables: { N: 1000 + i, lines: 10 * i } } }));
    expect(selection.ms).toBeLessThan(ANSWER_BOUND_MS);
    expect(selection.value.errors).toBeUndefined();
    expect(selection.value.data.selectTools).toMatchObject({ stale: true, revision });
    expect(selection.value.data.selectTools.candidates[0].tool.name).toBe('grep');

    const profiles = await timed(() => fetch(`${base}/profiles?platform=linux`, { signal: AbortSignal.timeout(20_000) }));
    expect(profiles.ms).toBeLessThan(ANSWER_BOUND_MS);
    expect(profiles.value.status).toBe(200);
    expect(profiles.value.headers.get('x-catalog-stale')).toBe('true');
    expect(((await profiles.value.json()) as any).tools.grep).toBeDefined();

    const tool = await timed(() => graphql(`{ tool(name: "grep") { name version capabilities { name patterns { name } } } }`));
    expect(tool.ms).toBeLessThan(ANSWER_BOUND_MS);
    expect(tool.value.errors).toBeUndefined();
    expect(tool.value.data.tool.capabilities[0].patterns.length).toBeGreaterThan(0);

    const revisionRead = await timed(() => graphql('{ catalogRevision }'));
    expect(revisionRead.ms).toBeLessThan(ANSWER_BOUND_MS);
    expect(revisionRead.value.data.catalogRevision).toBe(revision);
  }
  // Something only the database can answer fails, and does not hang.
  const history = await timed(() => graphql(`{ toolVersions(name: "grep", platform: "linux") { version } }`));
  expect(history.value.errors?.length).toBeGreaterThan(0);
}

async function expectFreshAgain() {
  // Generous: a PostgreSQL restart on a loaded 2-core machine can take a while; the point is that it comes back.
  await waitFor('the listener to reconnect', () => listener.connected, 90_000);
  await waitFor('fresh selections', async () => (await graphql(SELECT, { r: { capability: 'text_search' } })).data?.selectTools?.stale === false, 90_000);
  const profiles = await fetch(`${base}/profiles?platform=linux`);
  expect(profiles.headers.get('x-catalog-stale')).toBe('false');
}

describe.skipIf(!privatePostgresAvailable)('answers while the database is unreachable', () => {
  it('answers from memory, stale, while PostgreSQL is stopped, and fresh once it is back', async () => {
    const warm = await graphql(SELECT, { r: { capability: 'text_search' } });
    expect(warm.data.selectTools.stale).toBe(false);
    const revision = warm.data.selectTools.revision;
    postgres.stop('immediate');
    await waitFor('the listener to notice', () => !listener.connected);
    // The very query answered before the outage is not served from the response cache as fresh.
    const repeated = await graphql(SELECT, { r: { capability: 'text_search' } });
    expect(repeated.data.selectTools.stale).toBe(true);
    await expectStaleAnswers(revision);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(Number(/^tool_catalog_selection_stale_total\{[^}]*\} (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(20);
    postgres.start();
    await expectFreshAgain();
  }, 300_000);

  it('answers from memory, stale, while PostgreSQL is frozen (connections open, nothing answers)', async () => {
    const warm = await graphql(SELECT, { r: { capability: 'text_search', variables: { N: 7 } } });
    expect(warm.data.selectTools.stale).toBe(false);
    postgres.freeze();
    try {
      await waitFor('the heartbeat to notice', () => !listener.connected);
      await expectStaleAnswers(warm.data.selectTools.revision);
    } finally {
      postgres.thaw();
    }
    await expectFreshAgain();
  }, 300_000);
});
