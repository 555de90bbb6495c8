import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { createApiKey } from '../src/auth/keys.js';
import type { CatalogListener } from '../src/cache/catalogListener.js';
import { importCatalog } from '../src/catalog/importer.js';
import type { Database } from '../src/db/database.js';
import { listenOnLoopback, subscribeWs } from './support/subscriptions.js';
import { askInstance, startTwoInstances, type TwoInstances } from './support/instances.js';

// Two service instances on one PostgreSQL database, as in production; PGlite has one process only.
const serverUrl = process.env.DATABASE_URL;

describe.skipIf(!serverUrl)('instances on one PostgreSQL database', () => {
  let instances: TwoInstances | undefined;
  let dbA: Database;
  let appA: App;
  let appB: App;
  let listenerB: CatalogListener;
  let editor: Record<string, string>;

  beforeAll(async () => {
    instances = await startTwoInstances(serverUrl!, { editorKeyName: 'listener-editor', adminApiKey: 'admin-key-for-listener-tests' });
    ({ dbA, appA, appB, listenerB, editor } = instances);
  });
  afterAll(async () => {
    await instances?.stop();
  });

  const ask = askInstance;
  const READ = '{ tool(name: "grep", platform: "linux") { description revision } }';

  /** Reads on B until `accept` holds, for at most 5 s; returns how long it took. */
  const freshOnB = async (accept: (tool: { description: string; revision: number }) => boolean) => {
    const started = performance.now();
    while (performance.now() - started < 5_000) {
      const { data } = await ask(appB, READ);
      if (accept(data.tool)) return performance.now() - started;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error('instance B never saw the change');
  };

  const update = async (description: string) => {
    const { data } = await ask(appB, READ);
    const result = await ask(
      appA,
      `mutation { updateTool(name: "grep", platform: "linux", revision: ${data.tool.revision}, changes: { description: ${JSON.stringify(description)} }) { __typename } }`,
      editor,
    );
    expect(result.data.updateTool.__typename).toBe('Tool');
  };

  it('a key revoked through one instance is refused by the other within 1 s', async () => {
    const key = await createApiKey(dbA.prisma, 'soon-revoked', 'reader');
    const asKey = { authorization: `Bearer ${key}` };
    // B has looked the key up and cached it as valid.
    expect((await ask(appB, '{ catalogStats { tools } }', asKey)).errors).toBeUndefined();
    const revoked = await ask(appA, 'mutation { revokeApiKey(name: "soon-revoked") { __typename ... on ApiKey { name } } }', { authorization: 'Bearer admin-key-for-listener-tests' });
    expect(revoked.errors, JSON.stringify(revoked.errors)).toBeUndefined();
    const started = performance.now();
    let refused = false;
    while (!refused && performance.now() - started < 1_000) {
      const answer = await ask(appB, '{ catalogStats { tools } }', asKey);
      refused = (answer.errors?.[0] as { extensions?: { code?: string } } | undefined)?.extensions?.code === 'UNAUTHENTICATED';
      if (!refused) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(refused).toBe(true);
  });

  it('a change on one instance reaches the cache of the other', async () => {
    const before = await ask(appB, READ);
    expect((await ask(appB, READ)).data).toEqual(before.data); // now cached on B
    await update('changed on A');
    const ms = await freshOnB((tool) => tool.description === 'changed on A');
    console.log(`instance B served the change made on A after ${ms.toFixed(1)} ms`);
    expect(ms).toBeLessThan(5_000);
  });

  it('a change and a reload on one instance reach the subscribers of the other, in order', async () => {
    const listening = await listenOnLoopback(appB);
    const subscriber = subscribeWs(listening.wsUrl, 'subscription { catalogEvents(types: [TOOL_VERSIONED, RELOAD_FINISHED]) { revision type toolName tool { description } } }');
    try {
      const started = performance.now();
      while (appB.events.subscriberCount < 1 && performance.now() - started < 5_000) await new Promise((resolve) => setTimeout(resolve, 10));
      await update('announced to B');
      const sent = performance.now();
      const versioned = (await subscriber.next(5_000)).catalogEvents;
      console.log(`a subscriber on B received the change made on A ${(performance.now() - sent).toFixed(1)} ms after A answered`);
      expect(versioned).toMatchObject({ type: 'TOOL_VERSIONED', toolName: 'grep', tool: { description: 'announced to B' } });
      const reload = await ask(appA, 'mutation { reloadCatalog(source: DATABASE) { reload { error } } }', editor);
      expect(reload.data.reloadCatalog.reload.error).toBeNull();
      const finished = (await subscriber.next(5_000)).catalogEvents;
      expect(finished.type).toBe('RELOAD_FINISHED');
      expect(finished.revision).toBeGreaterThan(versioned.revision);
    } finally {
      subscriber.close();
      await listening.close();
    }
  });

  it('an import by another process (the CLI) reaches it too', async () => {
    await ask(appB, '{ tool(name: "listener-probe") { name } }');
    await importCatalog(
      dbA.prisma,
      { documents: [{ name: 'linux/listener-probe.yaml', content: 'tool_name: listener-probe\nversion: "1"\nplatform: linux\ncategory: system\ncapabilities: {}\n' }] },
      { actor: 'cli', trigger: 'cli' },
    );
    const started = performance.now();
    let seen = false;
    while (!seen && performance.now() - started < 5_000) {
      seen = (await ask(appB, '{ tool(name: "listener-probe") { name } }')).data.tool !== null;
      if (!seen) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(seen).toBe(true);
  });

  it('reconnects when its connection is killed, and flushes on the way back', async () => {
    const generation = appB.clock.generation;
    const killed = await dbA.prisma.$queryRaw<Array<{ killed: boolean }>>`
      SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'`;
    expect(killed.some((row) => row.killed)).toBe(true);
    const started = performance.now();
    while (!(listenerB.connected && appB.clock.generation > generation) && performance.now() - started < 10_000) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(listenerB.connected).toBe(true);
    expect(appB.clock.generation).toBeGreaterThan(generation);
    await ask(appB, READ);
    await update('changed after the reconnect');
    await freshOnB((tool) => tool.description === 'changed after the reconnect');
    const metrics = await (await appB.yoga.fetch('http://catalog.test/metrics')).text();
    expect(metrics).toMatch(/^tool_catalog_change_listener_reconnects_total\{[^}]*\} [1-9]/m);
    expect(metrics).toMatch(/^tool_catalog_change_listener_connected\{[^}]*\} 1$/m);
  });
});
