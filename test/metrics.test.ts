import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_CATALOG_DIR, startTestService, type TestService } from './support/service.js';

/** Values of one metric family from the Prometheus text, keyed by their label set. */
async function scrape(service: TestService, name: string): Promise<Map<string, number>> {
  const text = await (await service.app.yoga.fetch('http://catalog.test/metrics')).text();
  const values = new Map<string, number>();
  for (const match of text.matchAll(/^([a-z_:]+)(\{[^}]*\})? (\S+)$/gm)) {
    if (match[1] !== name) continue;
    const labels = (match[2] ?? '').replace(/,?service="tool-catalog"/, '').replace('{,', '{');
    values.set(labels === '{}' ? '' : labels, Number(match[3]));
  }
  return values;
}

const ADMIN_KEY = 'metrics-test-admin-key-0123456789';
const auth = { authorization: `Bearer ${ADMIN_KEY}` };

describe('service metrics', () => {
  let service: TestService;
  let catalogDir: string;

  beforeAll(async () => {
    catalogDir = mkdtempSync(path.join(tmpdir(), 'tc-metrics-catalog-'));
    cpSync(SAMPLE_CATALOG_DIR, catalogDir, { recursive: true });
    service = await startTestService({ catalogDir, adminApiKey: ADMIN_KEY, cache: { enabled: false, maxEntries: 1, maxBytes: 1024, ttlMs: 1 } });
  });
  afterAll(async () => {
    await service?.close();
    rmSync(catalogDir, { recursive: true, force: true });
  });

  it('counts reloads by trigger and outcome, times them, and stamps the last success', async () => {
    const before = await scrape(service, 'tool_catalog_reloads_total');
    expect(before.get('{trigger="graphql",outcome="failure"}')).toBe(0);
    expect((await scrape(service, 'tool_catalog_last_successful_reload_timestamp_seconds')).get('')).toBe(0);

    const ok = await service.graphql('mutation { reloadCatalog { reload { error } } }', {}, auth);
    expect(ok.errors).toBeUndefined();
    const afterSuccess = Date.now() / 1000;
    const stamp = (await scrape(service, 'tool_catalog_last_successful_reload_timestamp_seconds')).get('')!;
    expect(stamp).toBeGreaterThan(afterSuccess - 60);
    expect(stamp).toBeLessThanOrEqual(afterSuccess + 1);

    writeFileSync(path.join(catalogDir, 'broken.yaml'), 'tool_name: [unclosed\n');
    const failed = await service.graphql<{ reloadCatalog: { reload: { error: string | null } } }>(
      'mutation { reloadCatalog { reload { error } } }',
      {},
      auth,
    );
    expect(failed.data?.reloadCatalog.reload.error).toBeTruthy();
    await service.graphql('mutation { reloadCatalog(dryRun: true) { reload { error } } }', {}, auth);

    const after = await scrape(service, 'tool_catalog_reloads_total');
    expect(after.get('{trigger="graphql",outcome="success"}')).toBe(1);
    expect(after.get('{trigger="graphql",outcome="failure"}')).toBe(1);
    expect(after.get('{trigger="graphql",outcome="dry_run"}')).toBe(1);
    // The failure did not move the last-success stamp.
    expect((await scrape(service, 'tool_catalog_last_successful_reload_timestamp_seconds')).get('')).toBe(stamp);
    expect((await scrape(service, 'tool_catalog_reload_duration_seconds_count')).get('')).toBe(3);
    rmSync(path.join(catalogDir, 'broken.yaml'));
  });

  it('exports reported runs at 0 for every outcome and path before any report, so the first rejection is an increase', async () => {
    const reported = await scrape(service, 'tool_catalog_executions_reported_total');
    const expected = ['accepted', 'duplicate', 'rejected'].flatMap((outcome) => ['graphql', 'ndjson'].map((path) => [`{outcome="${outcome}",path="${path}"}`, 0]));
    expect(Object.fromEntries(reported)).toEqual(Object.fromEntries(expected));
  });

  it('counts GraphQL errors by code, bounded to known codes', async () => {
    const before = await scrape(service, 'tool_catalog_graphql_errors_total');
    await service.graphql('query { nope }');
    await service.graphql('query {');
    await service.graphql('mutation { reloadCatalog { reload { error } } }', {}, { authorization: 'Bearer not-a-key-of-ours-at-all' });
    const after = await scrape(service, 'tool_catalog_graphql_errors_total');
    const grew = (code: string) => after.get(`{code="${code}"}`)! - (before.get(`{code="${code}"}`) ?? 0);
    expect(grew('GRAPHQL_VALIDATION_FAILED')).toBe(1);
    expect(grew('GRAPHQL_PARSE_FAILED')).toBe(1);
    expect(grew('UNAUTHENTICATED')).toBe(1);
    // Codes other issues introduced are counted under their own name, not OTHER.
    const aliases = Array.from({ length: 40 }, (_, i) => `a${i}: catalogRevision`).join(' ');
    const refused = await service.graphql(`query { ${aliases} }`);
    expect(refused.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    const afterLimits = await scrape(service, 'tool_catalog_graphql_errors_total');
    expect(afterLimits.get('{code="QUERY_TOO_COMPLEX"}')! - (after.get('{code="QUERY_TOO_COMPLEX"}') ?? 0)).toBe(1);
    expect(afterLimits.get('{code="OTHER"}')).toBe(after.get('{code="OTHER"}'));
    expect([...after.keys()].every((labels) => /^\{code="[A-Z][A-Z0-9_]*"\}$/.test(labels))).toBe(true);
  });

  it('reports catalog size by status and the catalog revision, following changes', async () => {
    const tools = await scrape(service, 'tool_catalog_tools');
    const stats = await service.graphql<{ catalogStats: { tools: number } }>('{ catalogStats { tools } }');
    const total = [...tools.values()].reduce((a, b) => a + b, 0);
    expect(total).toBe(stats.data!.catalogStats.tools);
    expect(tools.get('{status="active"}')).toBeGreaterThan(0);
    expect(tools.has('{status="deprecated"}')).toBe(true);
    const revision = (await scrape(service, 'tool_catalog_catalog_revision')).get('')!;
    expect(revision).toBeGreaterThan(0);

    const tool = await service.graphql<{ tool: { name: string; platform: string; revision: number } }>(
      '{ tool(name: "grep", platform: "linux") { name platform revision } }',
    );
    const changed = await service.graphql(
      'mutation ($revision: Int!) { deprecateTool(name: "grep", platform: "linux", revision: $revision, reason: "metrics test") { __typename } }',
      { revision: tool.data!.tool.revision },
      auth,
    );
    expect(changed.errors).toBeUndefined();
    // The sampler reads at most every 5 s.
    await new Promise((r) => setTimeout(r, 5_100));
    const later = await scrape(service, 'tool_catalog_tools');
    expect(later.get('{status="deprecated"}')).toBe(tools.get('{status="deprecated"}')! + 1);
    expect((await scrape(service, 'tool_catalog_catalog_revision')).get('')).toBeGreaterThan(revision);
  }, 30_000);

  it('reports the database as up, the pool, and every connection acquisition', async () => {
    expect((await scrape(service, 'tool_catalog_database_up')).get('')).toBe(1);
    const max = (await scrape(service, 'tool_catalog_db_pool_max_connections')).get('')!;
    expect(max).toBe(service.db.kind === 'pglite' ? 1 : 5);
    const acquiredBefore = (await scrape(service, 'tool_catalog_db_pool_acquire_duration_seconds_count')).get('{outcome="ok"}')!;

    // Hold every connection in transactions and queue one more statement behind them.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const holders = Array.from({ length: max }, () => service.db.prisma.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT 1`;
      await held;
    }, { timeout: 20_000, maxWait: 20_000 }));
    await new Promise((r) => setTimeout(r, 300));
    const queued = service.db.prisma.$queryRaw`SELECT 2`;
    await new Promise((r) => setTimeout(r, 300));
    const connections = await scrape(service, 'tool_catalog_db_pool_connections');
    expect(connections.get('{state="in_use"}')).toBe(max);
    expect((await scrape(service, 'tool_catalog_db_pool_waiting_requests')).get('')).toBeGreaterThanOrEqual(1);
    release();
    await Promise.all([...holders, queued]);
    expect((await scrape(service, 'tool_catalog_db_pool_waiting_requests')).get('')).toBe(0);
    const acquiredAfter = (await scrape(service, 'tool_catalog_db_pool_acquire_duration_seconds_count')).get('{outcome="ok"}')!;
    expect(acquiredAfter).toBeGreaterThanOrEqual(acquiredBefore + max + 1);
  }, 30_000);

  it('says which version and commit run on which Node.js', async () => {
    const info = await scrape(service, 'tool_catalog_build_info');
    expect([...info.keys()]).toEqual([`{version="0.1.0",commit="unknown",node="${process.version}"}`]);
  });
});
