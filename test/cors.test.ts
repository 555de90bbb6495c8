import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { startTestService, type TestService } from './support/service.js';

const LISTED = 'https://ops.example.com';
const STRANGER = 'https://evil.example.net';

async function serve(service: TestService): Promise<{ base: string; server: Server }> {
  const server = createServer(service.app.handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

let closed: TestService;
let open: TestService;
let closedBase: string;
let openBase: string;
const servers: Server[] = [];
beforeAll(async () => {
  closed = await startTestService();
  open = await startTestService({ corsOrigins: [LISTED, 'http://localhost:3000'] });
  const a = await serve(closed);
  const b = await serve(open);
  servers.push(a.server, b.server);
  closedBase = a.base;
  openBase = b.base;
});
afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await closed.close();
  await open.close();
});

const QUERY = JSON.stringify({ query: '{ tool(name: "grep", platform: "linux") { name description } }' });
const post = (base: string, origin: string) =>
  fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', origin, cookie: 'session=1' }, body: QUERY });
const preflight = (base: string, origin: string) =>
  fetch(`${base}/graphql`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
  });
const corsOf = (response: Response) =>
  Object.fromEntries([...response.headers].filter(([name]) => name.startsWith('access-control-')));
const withoutVolatile = (response: Response) =>
  Object.fromEntries([...response.headers].filter(([name]) => !['date', 'connection', 'keep-alive', 'transfer-encoding'].includes(name)));

describe('CORS', () => {
  it('is off by default: no page on another origin may read answers, preflights are not granted', async () => {
    const answer = await post(closedBase, STRANGER);
    expect(answer.status).toBe(200);
    expect(corsOf(answer)).toEqual({});
    const pre = await preflight(closedBase, STRANGER);
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    expect(pre.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('names a listed origin back, with credentials; an unlisted one gets nothing', async () => {
    const listed = await post(openBase, LISTED);
    expect(listed.headers.get('access-control-allow-origin')).toBe(LISTED);
    expect(listed.headers.get('access-control-allow-credentials')).toBe('true');
    expect(listed.headers.get('vary')).toMatch(/origin/i);
    const pre = await preflight(openBase, LISTED);
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe(LISTED);
    expect(pre.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    const stranger = await post(openBase, STRANGER);
    expect(corsOf(stranger)).toEqual({});
    expect(corsOf(await preflight(openBase, STRANGER))).toEqual({});
  });

  it('answers from the cache carry the same headers as fresh ones, per asking origin', async () => {
    const query = JSON.stringify({ query: '{ tool(name: "df") { name } }' });
    const ask = (origin: string) => fetch(`${openBase}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', origin }, body: query });
    const fresh = await ask(LISTED);
    const cached = await ask(LISTED);
    expect(await cached.text()).toBe(await fresh.text());
    expect(withoutVolatile(cached)).toEqual(withoutVolatile(fresh));
    expect(cached.headers.get('access-control-allow-origin')).toBe(LISTED);
    // The cached copy is not tied to the origin that filled it.
    const other = await ask('http://localhost:3000');
    expect(other.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    expect(corsOf(await ask(STRANGER))).toEqual({});
  });

  it('CORS_ORIGINS takes origins only', () => {
    expect(loadConfig({ CORS_ORIGINS: 'https://a.example, http://localhost:3000' }).corsOrigins).toEqual(['https://a.example', 'http://localhost:3000']);
    expect(loadConfig({}).corsOrigins).toEqual([]);
    expect(() => loadConfig({ CORS_ORIGINS: '*' })).toThrow(/CORS_ORIGINS/);
    expect(() => loadConfig({ CORS_ORIGINS: 'https://a.example/path' })).toThrow(/CORS_ORIGINS/);
  });
});
