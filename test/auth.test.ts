import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, hashKey, revokeApiKey } from '../src/auth/keys.js';
import { ConflictError } from '../src/catalog/errors.js';
import { startTestService, type TestService } from './support/service.js';

const ADMIN_KEY = 'bootstrap-admin-key-for-tests';
let service: TestService;
let readerKey: string;
let editorKey: string;

beforeAll(async () => {
  service = await startTestService({ adminApiKey: ADMIN_KEY });
  readerKey = await createApiKey(service.db.prisma, 'dashboard', 'reader');
  editorKey = await createApiKey(service.db.prisma, 'ci-bot', 'editor');
});
afterAll(() => service.close());

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const importOne = `mutation { importCatalog(documents: [{ name: "linux/auth-probe.yaml", content: "tool_name: auth-probe\\nversion: '1'\\nplatform: linux\\ncategory: system\\ncapabilities: {}\\n" }]) { ... on ImportResult { applied } } }`;

describe('API keys', () => {
  it('are stored as hashes only, and names are unique', async () => {
    const rows = await service.db.prisma.apiKey.findMany();
    expect(rows.map((r) => r.name).sort()).toEqual(['ci-bot', 'dashboard']);
    expect(readerKey).toMatch(/^tc_[A-Za-z0-9_-]{43}$/);
    for (const row of rows) {
      expect(JSON.stringify(row)).not.toContain(readerKey);
      expect(JSON.stringify(row)).not.toContain(editorKey);
    }
    expect(rows.find((r) => r.name === 'dashboard')!.keyHash).toBe(hashKey(readerKey));
    await expect(createApiKey(service.db.prisma, 'ci-bot', 'admin')).rejects.toThrow(ConflictError);
    await expect(createApiKey(service.db.prisma, 'bad name\n', 'reader')).rejects.toThrow(/invalid key name/);
  });
});

describe('roles', () => {
  it('let anyone read by default', async () => {
    expect((await service.graphql('{ catalogStats { tools } }')).errors).toBeUndefined();
  });

  it('refuse writes without a key (UNAUTHENTICATED) and with a reader key (FORBIDDEN), writing nothing', async () => {
    const before = await service.db.prisma.tool.count();
    const anonymous = await service.graphql(importOne);
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const reader = await service.graphql(importOne, {}, bearer(readerKey));
    expect(reader.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(reader.errors?.[0]?.message).toContain('"dashboard" (reader)');
    expect(await service.db.prisma.tool.count()).toBe(before);
  });

  it('let an editor key and the bootstrap admin key write, naming them in the audit log', async () => {
    const editor = await service.graphql(importOne, {}, bearer(editorKey));
    expect(editor.errors).toBeUndefined();
    expect(editor.data.importCatalog.applied).toBe(true);
    const audit = await service.db.prisma.auditLog.findFirst({ where: { entityName: 'auth-probe@linux' } });
    expect(audit?.actor).toBe('ci-bot');
    const admin = await service.graphql(importOne, {}, bearer(ADMIN_KEY));
    expect(admin.errors).toBeUndefined();
  });

  it('answer 401 to an unknown or revoked key', async () => {
    const unknown = await service.app.yoga.fetch('http://catalog.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer('tc_not-a-real-key') },
      body: JSON.stringify({ query: '{ catalogStats { tools } }' }),
    });
    expect(unknown.status).toBe(401);
    const revoked = await createApiKey(service.db.prisma, 'leaver', 'editor');
    await revokeApiKey(service.db.prisma, 'leaver');
    const result = await service.graphql('{ catalogStats { tools } }', {}, bearer(revoked));
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('can require a reader key for reads', async () => {
    const closed = await startTestService({ seed: false, adminApiKey: ADMIN_KEY });
    try {
      const { createApp } = await import('../src/app.js');
      const { silentLog } = await import('./support/service.js');
      const app = createApp({ db: closed.db, config: { graphiql: false, readsRequireKey: true }, log: silentLog, state: closed.state });
      const key = await createApiKey(closed.db.prisma, 'reader-only', 'reader');
      const ask = async (headers: Record<string, string>) => {
        const response = await app.yoga.fetch('http://catalog.test/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ query: '{ catalogStats { tools } }' }),
        });
        return response.json();
      };
      expect((await ask({})).errors[0].extensions.code).toBe('UNAUTHENTICATED');
      expect((await ask(bearer(key))).data).toEqual({ catalogStats: { tools: 0 } });
    } finally {
      await closed.close();
    }
  });
});

describe('key management over GraphQL', () => {
  const create = `mutation ($name: String!, $role: ApiKeyRole!) {
    createApiKey(name: $name, role: $role, reason: "new integration") {
      __typename ... on CreatedApiKey { key name role } ... on Error { message } ... on ValidationError { fieldErrors { path } }
    }
  }`;

  it('is for admin keys only', async () => {
    const before = await service.db.prisma.apiKey.count();
    const asEditor = await service.graphql(create, { name: 'sneaky', role: 'ADMIN' }, bearer(editorKey));
    expect(asEditor.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const list = await service.graphql('{ apiKeys { name } }', {}, bearer(editorKey));
    expect(list.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await service.db.prisma.apiKey.count()).toBe(before);
  });

  it('records when a key was last used, at most once a minute per key, and lists it', async () => {
    const key = await createApiKey(service.db.prisma, 'last-used-probe', 'reader');
    const lastUsed = async () => (await service.db.prisma.apiKey.findUniqueOrThrow({ where: { name: 'last-used-probe' } })).lastUsedAt;
    const listed = async () =>
      ((await service.graphql('{ apiKeys { name lastUsedAt } }', {}, bearer(ADMIN_KEY))).data!.apiKeys as Array<{ name: string; lastUsedAt: string | null }>).find(
        (k) => k.name === 'last-used-probe',
      );
    expect(await listed()).toEqual({ name: 'last-used-probe', lastUsedAt: null });

    const before = Date.now();
    expect((await service.graphql('{ catalogStats { tools } }', {}, bearer(key))).errors).toBeUndefined();
    // The write is fire-and-forget: the answer does not wait for it.
    const until = Date.now() + 5_000;
    while (!(await lastUsed()) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
    const first = await lastUsed();
    expect(first).not.toBeNull();
    expect(first!.getTime()).toBeGreaterThanOrEqual(before - 1_000);
    expect(await listed()).toEqual({ name: 'last-used-probe', lastUsedAt: first!.toISOString() });

    // Used again within the minute: no second write.
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect((await service.graphql('{ catalogStats { tools } }', {}, bearer(key))).errors).toBeUndefined();
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await lastUsed())!.getTime()).toBe(first!.getTime());
  });

  it('creates a key shown once that works at once, lists it, and revokes it, auditing each step', async () => {
    const created = await service.graphql(create, { name: 'pipeline-reader', role: 'READER' }, bearer(ADMIN_KEY));
    expect(created.data.createApiKey).toMatchObject({ __typename: 'CreatedApiKey', name: 'pipeline-reader', role: 'READER' });
    const { key } = created.data.createApiKey;
    expect((await service.graphql(importOne, {}, bearer(key))).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const again = await service.graphql(create, { name: 'pipeline-reader', role: 'EDITOR' }, bearer(ADMIN_KEY));
    expect(again.data.createApiKey).toMatchObject({ __typename: 'ConflictError', message: expect.stringMatching(/already exists/) });
    const invalid = await service.graphql(create, { name: 'bad name', role: 'EDITOR' }, bearer(ADMIN_KEY));
    expect(invalid.data.createApiKey).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ path: 'name' }] });

    const listed = await service.graphql('{ apiKeys { name role revokedAt } }', {}, bearer(ADMIN_KEY));
    expect(listed.data.apiKeys).toContainEqual({ name: 'pipeline-reader', role: 'READER', revokedAt: null });
    expect(JSON.stringify(listed)).not.toContain(key);

    const revoke = `mutation { revokeApiKey(name: "pipeline-reader") { __typename ... on ApiKey { revokedAt } ... on Error { message } } }`;
    const revoked = await service.graphql(revoke, {}, bearer(ADMIN_KEY));
    expect(revoked.data.revokeApiKey.revokedAt).not.toBeNull();
    expect((await service.graphql(revoke, {}, bearer(ADMIN_KEY))).data.revokeApiKey.__typename).toBe('NotFoundError');

    const audit = await service.db.prisma.auditLog.findMany({ where: { entityType: 'ApiKey', entityName: 'pipeline-reader' }, orderBy: { id: 'asc' } });
    expect(audit.map((a) => [a.action, a.actor])).toEqual([
      ['apiKey.create', 'admin'],
      ['apiKey.revoke', 'admin'],
    ]);
    expect(audit[0]!.reason).toBe('new integration');
  });
});
