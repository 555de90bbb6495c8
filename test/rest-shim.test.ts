import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { openTestDatabase, silentLog, startTestService, type TestService } from './support/service.js';

let service: TestService;
beforeAll(async () => {
  service = await startTestService();
});
afterAll(() => service.close());

const get = (app: ReturnType<typeof createApp>, path: string) => app.yoga.fetch(`http://catalog.test${path}`);

describe('/health', () => {
  it('answers 200 while the process is alive', async () => {
    expect((await get(service.app, '/health')).status).toBe(200);
  });
});

describe('/ready', () => {
  it('answers 200 with the database kind when the catalog is loaded and the database answers', async () => {
    const response = await get(service.app, '/ready');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ready', database: service.db.kind });
  });

  it('answers 503 naming the failing check until the catalog is loaded', async () => {
    service.state.catalogLoaded = false;
    try {
      const response = await get(service.app, '/ready');
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ status: 'unavailable', failing: 'catalog' });
    } finally {
      service.state.catalogLoaded = true;
    }
  });

  it('answers 503 naming the database, and no driver text, when the database is gone', async () => {
    const { db, drop } = await openTestDatabase();
    const app = createApp({ db, config: { graphiql: false }, log: silentLog, state: { catalogLoaded: true } });
    expect((await get(app, '/ready')).status).toBe(200);
    await drop();
    const response = await get(app, '/ready');
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ status: 'unavailable', failing: 'database' });
  });
});

describe('/metrics', () => {
  it('exports process metrics and GraphQL requests by operation in Prometheus text format', async () => {
    for (let i = 0; i < 3; i++) {
      await service.app.yoga.fetch('http://catalog.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: 'query ToolByName { tool(name: "grep", platform: "linux") { id } }' }),
      });
    }
    await service.graphql('query Stats { catalogStats { tools } }');
    const response = await get(service.app, '/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/^process_resident_memory_bytes\{service="tool-catalog"\} \d+/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds\{/m);
    const requests = (operation: string) =>
      Number(new RegExp(`^graphql_envelop_request\\{[^}]*operationName="${operation}"[^}]*\\} (\\d+)`, 'm').exec(text)?.[1]);
    // Three requests: one executed, two answered from the response cache; all three timed.
    expect(requests('ToolByName')).toBe(1);
    expect(requests('Stats')).toBe(1);
    expect(text).toMatch(/^graphql_yoga_http_duration_count\{[^}]*operationName="ToolByName"[^}]*\} 3$/m);
    expect(text).toMatch(/^tool_catalog_cache_hits_total\{cache="response",service="tool-catalog"\} 2$/m);
    expect(text).toMatch(/^tool_catalog_cache_misses_total\{cache="response",service="tool-catalog"\} 2$/m);
    expect(text).toMatch(/^tool_catalog_cache_entries\{cache="response",service="tool-catalog"\} 2$/m);
    // Labels stay bounded: no request URL (GET query strings would make a series per request).
    expect(text).not.toMatch(/url="/);
    expect(text).toMatch(/^graphql_envelop_request_duration_count\{[^}]*operationName="Stats"[^}]*\} 1$/m);
    expect(text).toMatch(/^tool_catalog_db_statements_total\{kind="SELECT",service="tool-catalog"\} \d+/m);
  });
});
