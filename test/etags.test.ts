import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app.js';
import { silentLog, startTestService, type TestService } from './support/service.js';

/**
 * ETags address content: two instances over one database give one tag for one answer whatever
 * their cache generations, and an instance started afresh (a restart: its generation counter back
 * at 0) never answers 304 to a tag of different content.
 */
let service: TestService;
const servers: Server[] = [];
beforeAll(async () => {
  service = await startTestService();
});
afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await service.close();
});

/** Another instance of the service over the same database: its own clock, caches and front door. */
async function instance(): Promise<{ app: App; base: string }> {
  const app = createApp({ db: service.db, config: { graphiql: false }, log: silentLog, state: { catalogLoaded: true } });
  const server = createServer(app.handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { app, base: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

const QUERY = '{ tool(name: "df") { name description } }';
const get = (base: string, etag?: string) =>
  fetch(`${base}/graphql?query=${encodeURIComponent(QUERY)}`, {
    headers: { 'x-graphql-yoga-csrf': '1', accept: 'application/json', ...(etag ? { 'if-none-match': etag } : {}) },
  });

describe('content-addressed ETags', () => {
  it('two instances give the same ETag for the same answer, and honour each other’s', async () => {
    const a = await instance();
    const b = await instance();
    // Different histories: b's caches have moved on several generations.
    for (let i = 0; i < 3; i++) b.app.clock.advance();
    const fromA = await get(a.base);
    const fromB = await get(b.base);
    expect(fromA.status).toBe(200);
    const etag = fromA.headers.get('etag');
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
    expect(fromB.headers.get('etag')).toBe(etag);
    expect(await fromB.text()).toBe(await fromA.text());
    // Whether b answers from its front-door cache or afresh, a's tag is current there.
    expect((await get(b.base, etag!)).status).toBe(304);
    const fresh = await instance();
    expect((await get(fresh.base, etag!)).status).toBe(304);
  });

  it('after a restart, a tag of content that changed meanwhile gets the new content, never 304', async () => {
    const before = await instance();
    const old = await get(before.base);
    const oldTag = old.headers.get('etag')!;
    const oldBody = await old.json();
    // The catalog changes while the instance is down (the CLI, another instance).
    await service.db.prisma.tool.updateMany({ where: { name: 'df' }, data: { description: 'Changed while the service was down' } });
    const restarted = await instance();
    // Its caches begin at the same generation as the old instance's did, and get filled first.
    await get(restarted.base);
    await get(restarted.base);
    const answer = await get(restarted.base, oldTag);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('etag')).not.toBe(oldTag);
    const body = await answer.json();
    expect(body).not.toEqual(oldBody);
    expect(body.data.tool.description).toBe('Changed while the service was down');
    expect((await get(restarted.base, answer.headers.get('etag')!)).status).toBe(304);
  });
});
