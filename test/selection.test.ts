import { createServer, request as httpRequest } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from './support/service.js';

const ADMIN = 'selection-admin-key-0123456789';
const auth = { authorization: `Bearer ${ADMIN}` };

let service: TestService;
beforeAll(async () => {
  service = await startTestService({ adminApiKey: ADMIN });
});
afterAll(() => service.close());

const SELECT = `query Select($request: SelectToolsInput!) {
  selectTools(request: $request) {
    revision stale ambiguous preference weights { time cost complexity accuracy completeness }
    candidates {
      rank score capability pattern executionHint slaClass why
      tool { name platform version capabilityCount capabilities { name patterns { name timeEstimateMs } } }
      estimate { timeMs cost }
      features { time cost complexity accuracy completeness }
      contributions { time cost complexity accuracy completeness }
    }
    excluded { tool { name platform capabilities { name } } capability pattern reason detail missingVariables limit value }
  }
}`;

describe('selectTools', () => {
  it('ranks every pattern of a capability and lists each exclusion with its reason, without SQL', async () => {
    const request = { capability: 'Connectivity_Check', variables: { N: 1 }, maxTimeMs: 1000, preference: 'FAST' };
    // The first read may load memory; the next ones must not touch the database.
    await service.graphql(SELECT, { request });
    const { result, statements } = await service.recordStatements(() => service.graphql(SELECT, { request: { ...request, variables: { N: 2 } } }));
    expect(result.errors).toBeUndefined();
    expect(statements).toEqual([]);
    const selection = result.data.selectTools;
    expect(selection.stale).toBe(false);
    expect(selection.preference).toBe('FAST');
    expect(selection.weights).toEqual({ time: 0.4, cost: 0.15, complexity: 0.15, accuracy: 0.15, completeness: 0.15 });
    const revision = await service.graphql('{ catalogRevision }');
    expect(selection.revision).toBe(revision.data.catalogRevision);
    expect(selection.revision).toBeGreaterThan(0);

    const names = selection.candidates.map((c: any) => `${c.tool.name}/${c.pattern}`);
    const excluded = Object.fromEntries(selection.excluded.map((e: any) => [`${e.tool.name}/${e.pattern}`, e]));
    // Every candidate pattern is either ranked or excluded: 8 patterns offer connectivity_check.
    expect(names.length + selection.excluded.length).toBe(8);
    expect(excluded['ping/host_sweep']).toMatchObject({ reason: 'MISSING_VARIABLE', missingVariables: ['hosts'] });
    expect(excluded['node-exporter-check/metrics_endpoint_probe']).toMatchObject({ reason: 'MISSING_VARIABLE', missingVariables: ['hosts'] });
    expect(excluded['Test-NetConnection/icmp_probe']).toMatchObject({ reason: 'OVER_TIME_LIMIT', limit: 1000, value: 1500 });
    // N = 2 makes ping's single probe 1000 * N = 2000 ms: over the limit.
    expect(excluded['ping/single_host_probe']).toMatchObject({ reason: 'OVER_TIME_LIMIT', limit: 1000, value: 2000 });
    expect(names).toEqual(['redis-cli/ping_server', 'mysqladmin/server_ping', 'psql/connection_test']);

    for (const [index, candidate] of selection.candidates.entries()) {
      expect(candidate.rank).toBe(index + 1);
      const sum = Object.values(candidate.contributions as Record<string, number>).reduce((a, b) => a + b, 0);
      expect(candidate.score).toBeCloseTo(sum, 12);
      expect(candidate.why).toMatch(/^Ranked \d+ with score/);
      if (index > 0) expect(candidate.score).toBeLessThanOrEqual(selection.candidates[index - 1].score);
    }
    // Each tool's relations come from the in-memory row, planned once for the whole list (no SQL above).
    for (const item of [...selection.candidates, ...selection.excluded]) {
      expect(item.tool.capabilities.map((c: any) => c.name)).toContain(item.capability);
    }
    for (const candidate of selection.candidates) {
      expect(candidate.tool.capabilityCount).toBe(candidate.tool.capabilities.length);
      const offered = candidate.tool.capabilities.find((c: any) => c.name === candidate.capability);
      expect(offered.patterns.map((p: any) => p.name)).toContain(candidate.pattern);
    }
    // redis-cli ping_server is 50 ms: the best time feature there is.
    expect(selection.candidates[0]).toMatchObject({ tool: { name: 'redis-cli' }, pattern: 'ping_server', executionHint: 'IMMEDIATE', slaClass: 'INTERACTIVE' });
    expect(selection.candidates[0].features.time).toBe(1);
  });

  it('answers tools nested in two aliased selections from memory, each with its own selection of fields', async () => {
    const query = `query Two($a: SelectToolsInput!, $b: SelectToolsInput!) {
      first: selectTools(request: $a) { excluded { ...Excluded } candidates { tool { name } } }
      second: selectTools(request: $b) { excluded { ...Excluded tool { version capabilities { patterns { name } } } } }
    }
    fragment Excluded on ExcludedCandidate { pattern tool { name capabilities { name } } }`;
    const a = { capability: 'connectivity_check', variables: { N: 3 }, maxTimeMs: 1000 };
    const b = { capability: 'connectivity_check', variables: { N: 4 }, maxTimeMs: 1000 };
    await service.graphql(query, { a, b });
    const { result, statements } = await service.recordStatements(() => service.graphql(query, { a, b: { ...b, variables: { N: 5 } } }));
    expect(result.errors).toBeUndefined();
    expect(statements).toEqual([]);
    const { first, second } = result.data;
    expect(first.excluded.length).toBeGreaterThan(1);
    for (const item of first.excluded) expect(item.tool.capabilities.map((c: any) => c.name)).toContain('connectivity_check');
    expect(second.excluded.length).toBeGreaterThan(1);
    for (const item of second.excluded) {
      expect(item.tool.version).toEqual(expect.any(String));
      const patterns = item.tool.capabilities.flatMap((c: any) => c.patterns.map((p: any) => p.name));
      expect(patterns).toContain(item.pattern);
    }
  });

  it('names the revision an answer was computed on in every GraphQL response (X-Catalog-Revision)', async () => {
    const response = await service.app.yoga.fetch('http://catalog.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ tool(name: "grep") { name } catalogRevision }' }),
    });
    const body = (await response.json()) as any;
    expect(body.data.tool.name).toBe('grep');
    expect(response.headers.get('x-catalog-revision')).toBe(String(body.data.catalogRevision));
  });

  it('supplies variables from the request over the inputs and the globals', async () => {
    const request = { capability: 'connectivity_check', variables: { N: 1, hosts: 40 }, environment: 'NON_PRODUCTION', limit: 50 };
    const result = await service.graphql(SELECT, { request });
    const sweep = result.data.selectTools.candidates.find((c: any) => c.pattern === 'host_sweep');
    // 1000 + ceil(40 / 20) * 1000 and 1 + 40 / 50
    expect(sweep.estimate).toEqual({ timeMs: 3000, cost: 1.8 });
    expect(result.data.selectTools.excluded).toEqual([]);
  });

  it('refuses weights that do not sum to 1, a bad limit and non-numeric variables with BAD_USER_INPUT', async () => {
    const bad = [
      { capability: 'text_search', weights: { time: 0.5, cost: 0.5, complexity: 0.5, accuracy: 0, completeness: 0 } },
      { capability: 'text_search', weights: { time: 1.5, cost: -0.5, complexity: 0, accuracy: 0, completeness: 0 } },
      { capability: 'text_search', limit: 0 },
      { capability: 'text_search', limit: 51 },
      { capability: 'text_search', variables: { N: 'many' } },
    ];
    for (const request of bad) {
      const result = await service.graphql(SELECT, { request });
      expect(result.errors?.[0]?.extensions?.code, JSON.stringify(request)).toBe('BAD_USER_INPUT');
      expect(result.errors?.[0]?.message).toMatch(/request\.(weights|limit|variables)/);
    }
    const ok = await service.graphql(SELECT, {
      request: { capability: 'text_search', weights: { time: 0.3, cost: 0.2, complexity: 0.2, accuracy: 0.2, completeness: 0.105 } },
    });
    expect(ok.errors).toBeUndefined();
    expect(ok.data.selectTools.preference).toBeNull();
  });

  it('sees a change made through the API in the next selection (read your writes), with a new revision', async () => {
    const request = { capability: 'dns_lookup', variables: { hosts: 1 } };
    const before = await service.graphql(SELECT, { request });
    expect(before.data.selectTools.candidates.some((c: any) => c.tool.name === 'dig')).toBe(true);
    const dig = await service.graphql('{ tool(name: "dig") { revision } }');
    const change = await service.graphql(
      `mutation { setToolEnabled(name: "dig", platform: "network", revision: ${dig.data.tool.revision}, enabled: false) { __typename } }`,
      undefined,
      auth,
    );
    expect(change.data.setToolEnabled.__typename).toBe('Tool');
    const after = await service.graphql(SELECT, { request });
    expect(after.data.selectTools.revision).toBeGreaterThan(before.data.selectTools.revision);
    expect(after.data.selectTools.candidates.some((c: any) => c.tool.name === 'dig')).toBe(false);
    const disabled = after.data.selectTools.excluded.filter((e: any) => e.tool.name === 'dig');
    expect(disabled.map((e: any) => e.reason)).toEqual(['DISABLED', 'DISABLED']);
    expect(service.app.memory.snapshot?.revision).toBe(BigInt(after.data.selectTools.revision));
  });

  it('serves GET /profiles from memory with an ETag from the revision and arguments, and 304 on a match', async () => {
    const first = await service.app.yoga.fetch('http://catalog.test/profiles?platform=linux');
    expect(first.status).toBe(200);
    expect(first.headers.get('x-catalog-stale')).toBe('false');
    const etag = first.headers.get('etag')!;
    const body = (await first.json()) as any;
    expect(body.revision).toBe(Number(first.headers.get('x-catalog-revision')));
    expect(Object.keys(body.tools)).toContain('grep');
    expect(body.tools.grep.capabilities.text_search.patterns.single_file_match).toMatchObject({
      time_estimate_ms: '50 + lines / 20000',
      cost_estimate: 1,
      // from the tool's defaults
      accuracy_level: 'real-time',
    });
    const { result: again, statements } = await service.recordStatements(() =>
      Promise.resolve(service.app.yoga.fetch('http://catalog.test/profiles?platform=linux', { headers: { 'if-none-match': etag } })),
    );
    expect(again.status).toBe(304);
    expect(statements).toEqual([]);
    const other = await service.app.yoga.fetch('http://catalog.test/profiles');
    expect(other.headers.get('etag')).not.toBe(etag);
    const all = (await other.json()) as any;
    // ping exists on one platform here; every linux tool is keyed by its name alone.
    expect(Object.keys(all.tools).length).toBeGreaterThan(Object.keys(body.tools).length);
    const gql = await service.graphql('{ profiles(platform: "linux") }');
    expect(gql.data.profiles.tools).toEqual(body.tools);
  });

  it('gzips GET /profiles for clients that accept it, once per revision, without making any request wait', async () => {
    const url = 'http://catalog.test/profiles';
    const plain = await service.app.yoga.fetch(url);
    const json = Buffer.from(await plain.arrayBuffer());
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(plain.headers.get('vary')).toBe('Accept-Encoding');
    // The first request that accepts gzip starts the compression and gets the JSON as it is; later
    // ones get it gzipped once it is done (bounded wait here).
    let zipped: Response | undefined;
    for (let i = 0; i < 250 && !zipped; i++) {
      const answer = await service.app.yoga.fetch(url, { headers: { 'accept-encoding': 'gzip, deflate, br' } });
      if (answer.headers.get('content-encoding') === 'gzip') zipped = answer;
      else {
        expect(answer.headers.get('etag')).toBe(plain.headers.get('etag'));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    expect(zipped).toBeDefined();
    const bytes = Buffer.from(await zipped!.arrayBuffer());
    expect(Number(zipped!.headers.get('content-length'))).toBe(bytes.length);
    expect(bytes.length).toBeLessThan(json.length / 3);
    expect(gunzipSync(bytes).equals(json)).toBe(true);
    // Each representation has its own tag; either one is a match for the revision.
    const gzipTag = zipped!.headers.get('etag')!;
    expect(gzipTag).not.toBe(plain.headers.get('etag'));
    expect((await service.app.yoga.fetch(url, { headers: { 'if-none-match': gzipTag } })).status).toBe(304);
    expect((await service.app.yoga.fetch(url, { headers: { 'if-none-match': plain.headers.get('etag')!, 'accept-encoding': 'gzip' } })).status).toBe(304);
    // gzip refused (q=0): the JSON as it is.
    expect((await service.app.yoga.fetch(url, { headers: { 'accept-encoding': 'gzip;q=0, identity' } })).headers.get('content-encoding')).toBeNull();
    // Over a real socket, as the server writes it.
    const server = createServer(service.app.handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as { port: number }).port;
      const raw = await new Promise<{ encoding?: string; body: Buffer }>((resolve, reject) => {
        httpRequest({ host: '127.0.0.1', port, path: '/profiles', headers: { 'accept-encoding': 'gzip' } }, (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => resolve({ encoding: response.headers['content-encoding'], body: Buffer.concat(chunks) }));
        })
          .on('error', reject)
          .end();
      });
      expect(raw.encoding).toBe('gzip');
      expect(gunzipSync(raw.body).equals(json)).toBe(true);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
