import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../src/auth/keys.js';
import { sharedCacheLimits } from '../src/cache/boundedCache.js';
import { startTestService, type TestService } from './support/service.js';

const ADMIN_KEY = 'bootstrap-admin-key-for-cache-tests';
let service: TestService;
let editor: Record<string, string>;

beforeAll(async () => {
  service = await startTestService({ adminApiKey: ADMIN_KEY });
  editor = { authorization: `Bearer ${await createApiKey(service.db.prisma, 'cache-editor', 'editor')}` };
});
afterAll(() => service.close());

const NESTED = `query Nested($name: String!) {
  tool(name: $name, platform: "linux") { name version description revision capabilities { name patterns { name timeEstimateMs } } }
}`;
/** Read from the database (every version), so that executing it shows as SQL statements. */
const HISTORY = `query History($name: String!) {
  toolVersions(name: $name, platform: "linux") { name version capabilities { name patterns { name } } }
}`;

const metric = async (name: string) => {
  const text = await (await service.app.yoga.fetch('http://catalog.test/metrics')).text();
  return Number(new RegExp(`^${name}\\{cache="response"[^}]*\\} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
};

describe('the response cache', () => {
  it('answers a repeated query from memory with zero SQL statements', async () => {
    // A history read (the database's), so that executing it shows as SQL: current-state reads cost none either way.
    const miss = await service.recordStatements(() => service.graphql(HISTORY, { name: 'grep' }));
    expect(miss.result.data.toolVersions[0].capabilities.length).toBeGreaterThan(0);
    expect(miss.statements.length).toBeGreaterThan(0);
    const hit = await service.recordStatements(() => service.graphql(HISTORY, { name: 'grep' }));
    expect(hit.statements).toEqual([]);
    expect(hit.result).toEqual(miss.result);
    // Other variables are another entry.
    const other = await service.recordStatements(() => service.graphql(HISTORY, { name: 'find' }));
    expect(other.statements.length).toBeGreaterThan(0);
    expect(other.result.data.toolVersions[0].name).toBe('find');
  });

  it('never serves a stale value: a write followed at once by reads, in a tight loop', async () => {
    const create = await service.graphql(
      `mutation { createTool(input: { name: "cache-probe", platform: "linux", version: "1.0", category: "system" }) { __typename } }`,
      {},
      editor,
    );
    expect(create.data.createTool.__typename).toBe('Tool');
    const update = `mutation ($revision: Int!, $description: String!) {
      updateTool(name: "cache-probe", platform: "linux", revision: $revision, changes: { description: $description }) { __typename ... on Tool { revision } }
    }`;
    let revision = 1;
    for (let i = 0; i < 40; i++) {
      // Warm the cache with the current state, change it, then read through the cache.
      await service.graphql(NESTED, { name: 'cache-probe' });
      const written = await service.graphql(update, { revision, description: `step ${i}` }, editor);
      expect(written.data.updateTool.__typename).toBe('Tool');
      revision = written.data.updateTool.revision;
      for (let read = 0; read < 3; read++) {
        const { data } = await service.graphql(NESTED, { name: 'cache-probe' });
        expect(data.tool).toMatchObject({ description: `step ${i}`, revision });
      }
    }
    expect(await metric('tool_catalog_cache_hits_total')).toBeGreaterThanOrEqual(80);
  });

  it('keeps responses of different roles apart', async () => {
    const audit = '{ auditLog(first: 1) { totalCount } }';
    const asEditor = await service.graphql(audit, {}, editor);
    expect(asEditor.errors).toBeUndefined();
    const again = await service.graphql(audit, {}, editor);
    expect(again).toEqual(asEditor);
    const anonymous = await service.graphql(audit);
    expect(anonymous.data).toBeNull();
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('answers a GET with an ETag, 304 while current, and a new ETag after a change', async () => {
    const url = `http://catalog.test/graphql?query=${encodeURIComponent('{ tool(name: "df") { description } }')}`;
    const headers = { 'x-graphql-yoga-csrf': '1' };
    await service.app.yoga.fetch(url, { headers });
    const first = await service.app.yoga.fetch(url, { headers });
    const etag = first.headers.get('etag');
    expect(first.status).toBe(200);
    expect(etag).toBeTruthy();
    const notModified = await service.app.yoga.fetch(url, { headers: { ...headers, 'if-none-match': etag! } });
    expect(notModified.status).toBe(304);
    const row = await service.db.prisma.tool.findFirstOrThrow({ where: { name: 'df', isLatest: true } });
    const changed = await service.graphql(
      `mutation { setToolEnabled(name: "df", platform: "${row.platform}", revision: ${row.revision}, enabled: false) { __typename } }`,
      {},
      editor,
    );
    expect(changed.data.setToolEnabled.__typename).toBe('Tool');
    const after = await service.app.yoga.fetch(url, { headers: { ...headers, 'if-none-match': etag! } });
    expect(after.status).toBe(200);
    expect(await after.json()).toEqual({ data: { tool: null } });
  });
});

describe('cache bounds and switches', () => {
  it('holds at most the configured entries, counting evictions', async () => {
    const small = await startTestService({ cache: { enabled: true, maxEntries: 3, maxBytes: 1_000_000, ttlMs: 60_000 } });
    try {
      for (const name of ['grep', 'find', 'df', 'ps', 'top']) await small.graphql(NESTED, { name });
      const text = await (await small.app.yoga.fetch('http://catalog.test/metrics')).text();
      expect(text).toMatch(/^tool_catalog_cache_entries\{cache="response"[^}]*\} 3$/m);
      expect(text).toMatch(/^tool_catalog_cache_evictions_total\{cache="response"[^}]*\} 2$/m);
    } finally {
      await small.close();
    }
  });

  it('shares one byte budget between the two whole-response caches, never more than a fifth of the heap limit', () => {
    const limits = { enabled: true, maxEntries: 10, maxBytes: 64 * 1024 * 1024, ttlMs: 1 };
    // A large heap: CACHE_MAX_BYTES in total, half each.
    expect(sharedCacheLimits(limits, 2, 4096 * 1024 * 1024).maxBytes).toBe(32 * 1024 * 1024);
    // A process held to a 192 MB heap: a fifth of it in total.
    expect(sharedCacheLimits(limits, 2, 192 * 1024 * 1024).maxBytes).toBe(Math.floor((192 * 1024 * 1024 * 0.2) / 2));
    expect(sharedCacheLimits(limits, 2, 192 * 1024 * 1024)).toMatchObject({ maxEntries: 10, ttlMs: 1 });
  });

  it('holds at most the configured bytes', async () => {
    const small = await startTestService({ cache: { enabled: true, maxEntries: 1_000, maxBytes: 2_000, ttlMs: 60_000 } });
    try {
      for (const name of ['grep', 'find', 'df', 'ps', 'top', 'ping']) await small.graphql(NESTED, { name });
      const text = await (await small.app.yoga.fetch('http://catalog.test/metrics')).text();
      const bytes = Number(/^tool_catalog_cache_bytes\{cache="response"[^}]*\} (\d+)$/m.exec(text)?.[1]);
      expect(bytes).toBeGreaterThan(0);
      expect(bytes).toBeLessThanOrEqual(2_000);
    } finally {
      await small.close();
    }
  });

  it('can be switched off: every request is executed', async () => {
    const uncached = await startTestService({ cache: { enabled: false, maxEntries: 1, maxBytes: 1024, ttlMs: 1 } });
    try {
      await uncached.graphql(HISTORY, { name: 'grep' });
      const again = await uncached.recordStatements(() => uncached.graphql(HISTORY, { name: 'grep' }));
      expect(again.statements.length).toBeGreaterThan(0);
    } finally {
      await uncached.close();
    }
  });
});
