import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app.js';
import { createApiKey } from '../src/auth/keys.js';
import { prepareDatabase } from '../src/bootstrap.js';
import { listenForCatalogChanges, type CatalogListener } from '../src/cache/catalogListener.js';
import { openDatabase, type Database } from '../src/db/database.js';
import { createPostgresDatabase, SAMPLE_CATALOG_DIR, silentLog } from './support/service.js';

// Two instances on one PostgreSQL database: experiments started or stopped on one are what the
// other's in-memory experiments (assignment, selection) use, as soon as the change notification arrives.
const serverUrl = process.env.DATABASE_URL;

describe.skipIf(!serverUrl)('experiments across instances', () => {
  let drop: () => Promise<void>;
  let dbA: Database;
  let dbB: Database;
  let appA: App;
  let appB: App;
  let listenerB: CatalogListener;
  let editor: Record<string, string>;

  beforeAll(async () => {
    const fresh = await createPostgresDatabase(serverUrl!);
    drop = fresh.drop;
    const open = () => openDatabase({ kind: 'postgres', url: fresh.url, poolMax: 5, connectTimeoutMs: 5_000, statementTimeoutMs: 15_000, idleTimeoutMs: 10_000 });
    dbA = await open();
    dbB = await open();
    await prepareDatabase(dbA, { catalogDir: SAMPLE_CATALOG_DIR, seedOnEmpty: true }, silentLog);
    const state = { catalogLoaded: true };
    appA = createApp({ db: dbA, config: { graphiql: false }, log: silentLog, state });
    appB = createApp({ db: dbB, config: { graphiql: false }, log: silentLog, state });
    listenerB = listenForCatalogChanges({ url: fresh.url, clock: appB.clock, log: silentLog, registry: appB.registry });
    await listenerB.ready;
    editor = { authorization: `Bearer ${await createApiKey(dbA.prisma, 'instances-editor', 'editor')}` };
  });
  afterAll(async () => {
    appA?.events.stop();
    appB?.events.stop();
    await listenerB?.stop();
    await dbA?.close();
    await dbB?.close();
    await drop?.();
  });

  const ask = async (app: App, query: string, headers: Record<string, string> = {}) => {
    const response = await app.yoga.fetch('http://catalog.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query }),
    });
    return (await response.json()) as { data: any; errors?: unknown[] };
  };
  const ASSIGNMENT = '{ assignment(experimentKey: "find-vs-grep", unitId: "job-1") { active arm { key } } }';

  /** Asks B until `accept` holds, for at most 5 s. */
  const onB = async (accept: (answer: any) => boolean) => {
    const started = performance.now();
    let answer: any;
    while (performance.now() - started < 5_000) {
      answer = (await ask(appB, ASSIGNMENT)).data.assignment;
      if (accept(answer)) return answer;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return answer;
  };

  it('B sees an experiment created, started and stopped on A', async () => {
    expect((await ask(appB, ASSIGNMENT)).data.assignment).toBeNull();
    await ask(appB, ASSIGNMENT);
    const created = await ask(appA, `mutation { createExperiment(input: { key: "find-vs-grep", capability: "text_search", metric: SUCCESS_RATE,
      arms: [{ key: "grep", tool: { name: "grep", platform: "linux" }, weight: 0.5 }, { key: "grep-again", tool: { name: "grep", platform: "linux" }, weight: 0.5 }] }) { __typename } }`, editor);
    expect(created.data.createExperiment.__typename).toBe('Experiment');
    expect(await onB((a) => a !== null)).toMatchObject({ active: false });
    await ask(appA, 'mutation { startExperiment(key: "find-vs-grep") { __typename } }', editor);
    expect(await onB((a) => a?.active)).toMatchObject({ active: true });
    await ask(appA, 'mutation { stopExperiment(key: "find-vs-grep") { __typename } }', editor);
    expect(await onB((a) => a && !a.active)).toMatchObject({ active: false });
  });
});
