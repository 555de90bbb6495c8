import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../src/auth/keys.js';
import { startTestService, type TestService } from './support/service.js';

// The HTTP front door as the server runs it (app.handler on a real loopback listener).
const ADMIN_KEY = 'bootstrap-admin-key-for-http-cache';
let service: TestService;
let server: Server;
let base: string;
let editor: Record<string, string>;

beforeAll(async () => {
  service = await startTestService({ adminApiKey: ADMIN_KEY });
  editor = { authorization: `Bearer ${await createApiKey(service.db.prisma, 'http-editor', 'editor')}` };
  server = createServer(service.app.handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await service.close();
});

const post = (query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });

const metrics = async () => (await fetch(`${base}/metrics`)).text();
const count = (text: string, pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? NaN);

const PROFILE = 'query Profile($name: String!) { tool(name: $name, platform: "linux") { name description revision capabilities { name patterns { name } } } }';
/** Read from the database (every version), so that executing it shows as SQL statements. */
const HISTORY = 'query Profile($name: String!) { toolVersions(name: $name, platform: "linux") { name description revision capabilities { name patterns { name } } } }';

describe('cached responses at the HTTP front door', () => {
  it('answers repeats with the same bytes and no SQL, and still times them', async () => {
    // A history read, so that executing it shows as SQL (current-state reads come from memory, with none).
    const first = await service.recordStatements(async () => (await post(HISTORY, { name: 'grep' })).text());
    expect(first.statements.length).toBeGreaterThan(0);
    const repeats = await service.recordStatements(async () => Promise.all([1, 2, 3].map(async () => (await post(HISTORY, { name: 'grep' })).text())));
    expect(repeats.statements).toEqual([]);
    for (const body of repeats.result) expect(body).toBe(first.result);
    expect(JSON.parse(first.result).data.toolVersions[0].name).toBe('grep');
    const text = await metrics();
    expect(count(text, /^tool_catalog_cache_hits_total\{cache="http"[^}]*\} (\d+)$/m)).toBeGreaterThanOrEqual(3);
    expect(count(text, /^graphql_yoga_http_duration_count\{[^}]*operationName="Profile"[^}]*\} (\d+)$/m)).toBe(4);
  });

  it('keeps a cached answer per media type asked for', async () => {
    const asked = (accept: string) => post(HISTORY, { name: 'find' }, { accept });
    for (let round = 0; round < 2; round++) {
      expect((await asked('application/json')).headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect((await asked('application/graphql-response+json')).headers.get('content-type')).toBe('application/graphql-response+json; charset=utf-8');
    }
  });

  it('serves every read after a write fresh, in a tight loop', async () => {
    const created = await post(`mutation { createTool(input: { name: "http-probe", platform: "linux", version: "1.0", category: "system" }) { __typename } }`, {}, editor);
    expect((await created.json()).data.createTool.__typename).toBe('Tool');
    let revision = 1;
    for (let i = 0; i < 25; i++) {
      await post(PROFILE, { name: 'http-probe' });
      const update = await post(
        `mutation ($r: Int!, $d: String!) { updateTool(name: "http-probe", platform: "linux", revision: $r, changes: { description: $d }) { ... on Tool { revision } } }`,
        { r: revision, d: `round ${i}` },
        editor,
      );
      revision = (await update.json()).data.updateTool.revision;
      const read = await (await post(PROFILE, { name: 'http-probe' })).json();
      expect(read.data.tool).toMatchObject({ description: `round ${i}`, revision });
    }
  });

  it('keeps roles apart and still refuses an invalid key', async () => {
    const audit = '{ auditLog(first: 1) { totalCount } }';
    expect((await (await post(audit, {}, editor)).json()).errors).toBeUndefined();
    expect((await (await post(audit, {}, editor)).json()).errors).toBeUndefined();
    const anonymous = await (await post(audit)).json();
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    await post(PROFILE, { name: 'find' });
    const invalid = await post(PROFILE, { name: 'find' }, { authorization: 'Bearer tc_nonsense' });
    expect(invalid.status).toBe(401);
  });

  it('answers GET with an ETag and 304, and leaves GET without the CSRF header to be refused', async () => {
    const url = `${base}/graphql?query=${encodeURIComponent('{ tool(name: "ps") { name } }')}`;
    const csrf = { 'x-graphql-yoga-csrf': '1' };
    const first = await fetch(url, { headers: csrf });
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag')!;
    expect(etag).toBeTruthy();
    const second = await fetch(url, { headers: csrf });
    expect(await second.text()).toBe(await first.text());
    expect((await fetch(url, { headers: { ...csrf, 'if-none-match': etag } })).status).toBe(304);
    expect((await fetch(url)).status).toBeGreaterThanOrEqual(400);
  });

  it('leaves GraphiQL, health and oversized bodies to Yoga', async () => {
    const page = await fetch(`${base}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
    expect((await fetch(`${base}/health`)).status).toBe(200);
    const big = await post(`{ tool(name: "${'x'.repeat(70 * 1024)}") { name } }`);
    expect(big.status).toBe(200);
    expect((await big.json()).data.tool).toBeNull();
  });
});
