import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../src/auth/keys.js';
import { loadConfig } from '../src/config.js';
import { startTestService, type TestService } from './support/service.js';

const ADMIN_KEY = 'closed-doors-admin-key-Hq7Lx2Vt9Rk4Wm8Pz3Nc6Yb1Df5Gj0';
let service: TestService;
let server: Server;
let base: string;
let editorKey: string;
beforeAll(async () => {
  service = await startTestService({ adminApiKey: ADMIN_KEY });
  editorKey = await createApiKey(service.db.prisma, 'doors-editor', 'editor');
  // A change through the API, so that actors exist to be hidden.
  await service.graphql(
    `mutation { createTool(input: { name: "doors-probe", platform: "linux", version: "1.0", category: "system" }) { __typename } }`,
    {},
    { authorization: `Bearer ${editorKey}` },
  );
  await service.graphql('mutation { reloadCatalog(source: DIRECTORY, dryRun: true) { reload { id } } }', {}, { authorization: `Bearer ${editorKey}` });
  server = createServer(service.app.handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await service.close();
});

const post = (query: string, headers: Record<string, string> = {}) =>
  fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) });

describe('anonymous readers', () => {
  const HISTORY = '{ reloadHistory(first: 5) { edges { node { actor source } } } tool(name: "doors-probe", platform: "linux") { createdBy updatedBy } }';

  it('see neither key names nor the server’s paths; editors see actors', async () => {
    const anonymous = await (await post(HISTORY)).json();
    expect(anonymous.errors).toBeUndefined();
    expect(anonymous.data.tool).toEqual({ createdBy: 'hidden', updatedBy: 'hidden' });
    const reloads = anonymous.data.reloadHistory.edges.map((edge: { node: { actor: string; source: string } }) => edge.node);
    expect(reloads.length).toBeGreaterThan(0);
    for (const reload of reloads) {
      expect(reload.actor).toBe('hidden');
      expect(reload.source).not.toMatch(/\//);
    }
    expect(JSON.stringify(anonymous)).not.toMatch(/doors-editor|\/work\/|\/tmp\//);
    const asEditor = await (await post(HISTORY, { authorization: `Bearer ${editorKey}` })).json();
    expect(asEditor.data.tool.createdBy).toBe('doors-editor');
    expect(asEditor.data.reloadHistory.edges[0].node.actor).toBe('doors-editor');
    expect(asEditor.data.reloadHistory.edges[0].node.source).toBe('catalog');
  });
});

describe('failed key attempts', () => {
  it('are limited per client address: 429 RATE_LIMITED with Retry-After, even for a valid key, while other callers go on', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      const response = await post('{ catalogStats { tools } }', { authorization: `Bearer tc_guess_${i}` });
      statuses.push(response.status);
      expect((await response.json()).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    }
    expect(new Set(statuses)).toEqual(new Set([401]));
    const limited = await post('{ catalogStats { tools } }', { authorization: 'Bearer tc_guess_more' });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await limited.json()).errors[0].extensions.code).toBe('RATE_LIMITED');
    // A correct key from the same address waits out the window too: guessing cannot be mixed with real calls.
    expect((await post('{ catalogStats { tools } }', { authorization: `Bearer ${editorKey}` })).status).toBe(429);
    // Callers without a key, and other addresses (through yoga.fetch: no socket address), are not affected.
    expect((await post('{ catalogStats { tools } }')).status).toBe(200);
    expect((await service.graphql('{ catalogStats { tools } }', {}, { authorization: `Bearer ${editorKey}` })).errors).toBeUndefined();
  });
});

describe('ADMIN_API_KEY', () => {
  it('must be at least 32 characters and not predictable', () => {
    expect(() => loadConfig({ ADMIN_API_KEY: 'short-key-of-24-chars-xx' })).toThrow(/ADMIN_API_KEY=\(hidden\): must be at least 32 characters/);
    expect(() => loadConfig({ ADMIN_API_KEY: 'a'.repeat(40) })).toThrow(/too predictable/);
    expect(() => loadConfig({ ADMIN_API_KEY: 'abcdefghij'.repeat(4) })).toThrow(/too predictable/);
    expect(() => loadConfig({ ADMIN_API_KEY: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab' })).toThrow(/too predictable/);
    expect(loadConfig({ ADMIN_API_KEY: ADMIN_KEY }).adminApiKey).toBe(ADMIN_KEY);
    expect(loadConfig({ ADMIN_API_KEY: 'Jm3kP9xQ2vL7tR4wZ8nB6cY1dF5gH0sA' }).adminApiKey).toHaveLength(32);
  });
});
