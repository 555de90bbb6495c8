import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../src/auth/keys.js';
import { SAMPLE_CATALOG_DIR, startTestService, type TestService } from './support/service.js';

// A private copy of our sample catalog, edited by the tests.
const catalogDir = mkdtempSync(path.join(os.tmpdir(), 'tc-reload-'));
cpSync(SAMPLE_CATALOG_DIR, catalogDir, { recursive: true });
const grepFile = path.join(catalogDir, 'linux', 'grep.yaml');

let service: TestService;
let editor: Record<string, string>;
beforeAll(async () => {
  service = await startTestService({ catalogDir });
  editor = { authorization: `Bearer ${await createApiKey(service.db.prisma, 'reload-editor', 'editor')}` };
});
afterAll(async () => {
  await service.close();
  rmSync(catalogDir, { recursive: true, force: true });
});

const RELOAD = `mutation ($dryRun: Boolean, $source: ReloadSource) {
  reloadCatalog(dryRun: $dryRun, source: $source, reason: "test") {
    reload { id trigger actor dryRun created newVersions unchanged rejected error startedAt finishedAt durationMs }
    plan { applied counts { files } }
  }
}`;
const reload = async (variables: Record<string, unknown> = {}) => {
  const response = await service.graphql(RELOAD, variables, editor);
  expect(response.errors).toBeUndefined();
  return response.data.reloadCatalog;
};
// Nested rows in a fixed order: without one, PostgreSQL may return the same rows in another order.
const snapshot = async () =>
  JSON.stringify(
    await service.db.prisma.tool.findMany({
      orderBy: { id: 'asc' },
      include: { capabilities: { orderBy: { id: 'asc' }, include: { patterns: { orderBy: { id: 'asc' } } } } },
    }),
  );

describe('reloadCatalog', () => {
  it('plans on a dry run and writes nothing but its history row', async () => {
    const before = await snapshot();
    const result = await reload({ dryRun: true });
    expect(result.reload).toMatchObject({ trigger: 'graphql', actor: 'reload-editor', dryRun: true, created: 0, newVersions: 0, rejected: 0, error: null });
    expect(result.reload.unchanged).toBeGreaterThan(20);
    expect(result.plan.applied).toBe(false);
    expect(await snapshot()).toBe(before);
  });

  it('publishes what changed in the directory, and readers see it at once', async () => {
    const cached = await service.graphql('{ tool(name: "grep", platform: "linux") { version description } }');
    const original = readFileSync(grepFile, 'utf8');
    writeFileSync(grepFile, original.replace(/^version: .*$/m, 'version: "9.9.9"').replace(/^description: .*$/m, 'description: Reloaded grep'));
    const result = await reload();
    expect(result.reload).toMatchObject({ newVersions: 1, created: 0, rejected: 0, error: null });
    const finished = await service.db.prisma.catalogEvent.findFirstOrThrow({ where: { type: 'RELOAD_FINISHED' }, orderBy: { revision: 'desc' } });
    expect(finished.payload).toMatchObject({ reloadId: result.reload.id, newVersions: 1, trigger: 'graphql' });
    const after = await service.graphql('{ tool(name: "grep", platform: "linux") { version description } }');
    expect(after.data.tool).toEqual({ version: '9.9.9', description: 'Reloaded grep' });
    expect(after.data.tool).not.toEqual(cached.data.tool);
  });

  it('with a broken file changes nothing and says why', async () => {
    const before = await snapshot();
    const broken = path.join(catalogDir, 'linux', 'broken.yaml');
    writeFileSync(broken, 'tool_name: broken\nversion: "1"\nplatform: linux\ncategory: system\ncapabilities:\n  c:\n    patterns:\n      p:\n        complexity_score: 7\n');
    try {
      const result = await reload();
      expect(result.reload.error).toMatch(/1 file\(s\) rejected, nothing changed; first: .*broken\.yaml/);
      expect(result.reload.rejected).toBe(1);
      expect(await snapshot()).toBe(before);
      const events = await service.db.prisma.catalogEvent.findMany({ where: { type: { startsWith: 'RELOAD_' } }, orderBy: { revision: 'desc' }, take: 2 });
      expect(events.map((e) => e.type)).toEqual(['RELOAD_FAILED', 'RELOAD_STARTED']);
      expect(events[0]!.payload).toMatchObject({ reloadId: result.reload.id, rejected: 1, error: expect.stringMatching(/rejected/) });
      const stats = await service.graphql('{ reloadStats { total failed lastSucceededAt averageDurationMs } }');
      expect(stats.data.reloadStats).toMatchObject({ total: 3, failed: 1 });
      expect(stats.data.reloadStats.lastSucceededAt).not.toBeNull();
    } finally {
      rmSync(broken);
    }
  });

  it('never runs two reloads at once; identical requests waiting together run once', async () => {
    const before = await service.db.prisma.catalogReload.count();
    const first = reload();
    // Requests that arrive before the first has started would rightly join it: wait (bounded) until
    // its row exists, so that the next two identical ones can only wait together behind it.
    for (const deadline = Date.now() + 10_000; (await service.db.prisma.catalogReload.count()) === before; ) {
      if (Date.now() > deadline) throw new Error('the first reload did not start within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const results = await Promise.all([first, reload(), reload(), reload({ source: 'DATABASE' })]);
    const ids = new Set(results.map((r) => r.reload.id));
    // The first runs; the next two wait together and run once after it; the database one runs after.
    expect(ids.size).toBe(3);
    // Millisecond timestamps can tie when a reload starts the moment the previous one ends.
    const rows = await service.db.prisma.catalogReload.findMany({ orderBy: [{ startedAt: 'asc' }, { finishedAt: 'asc' }], skip: before });
    expect(rows).toHaveLength(3);
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.startedAt.getTime()).toBeGreaterThanOrEqual(rows[i - 1]!.finishedAt!.getTime());
    const history = await service.graphql('{ reloadHistory(first: 2) { totalCount edges { node { source trigger } } } }');
    expect(history.data.reloadHistory.totalCount).toBe(before + 3);
    expect(history.data.reloadHistory.edges.map((e: { node: unknown }) => e.node)).toContainEqual({ source: 'database', trigger: 'graphql' });
  });

  it('needs an editor key', async () => {
    const anonymous = await service.graphql(RELOAD, {});
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
