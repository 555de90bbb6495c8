import { createServer, request as httpRequest, type Server } from 'node:http';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CACHE } from '../src/config.js';
import { startTestService, type TestService } from './support/service.js';

// The decision lane, on a real loopback listener (app.handler) as the server runs it: a decision
// query text Yoga has accepted and compiled is answered again at the front door, without Yoga (no
// parsing, no validation), with the same bytes and headers; everything the lane does not answer
// itself goes to Yoga, with the answer it always gave.

const ADMIN = 'decision-lane-admin-key-0123456789';
const SELECT = `query Decide($request: SelectToolsInput!) { selectTools(request: $request) {
  revision stale ambiguous candidates { rank score pattern tool { name platform version } estimate { timeMs cost } executionHint why }
  excluded { pattern reason detail tool { name platform } } } }`;

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Metric samples by series, from /metrics. */
async function metrics(base: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^(\S+) (\S+)$/.exec(line);
    if (match) samples.set(match[1]!, Number(match[2]));
  }
  return samples;
}
const sum = (samples: Map<string, number>, prefix: string) => [...samples].filter(([series]) => series.startsWith(prefix)).reduce((total, [, value]) => total + value, 0);

for (const cache of [false, true]) {
  describe(`the decision lane (response cache ${cache ? 'on' : 'off'})`, () => {
    let service: TestService;
    let server: Server;
    let base: string;
    beforeAll(async () => {
      service = await startTestService({ adminApiKey: ADMIN, cache: { ...DEFAULT_CACHE, enabled: cache } });
      server = createServer(service.app.handler);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    });
    afterAll(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await service.close();
    });

    /** POSTs a raw body over HTTP (node:http, so that nothing is added to the headers given). */
    const post = (body: string | Buffer, headers: Record<string, string> = {}): Promise<Answer> =>
      new Promise((resolve, reject) => {
        const request = httpRequest(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers } }, (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            const { date: _date, connection: _connection, 'keep-alive': _keepAlive, ...rest } = response.headers as Record<string, string>;
            resolve({ status: response.statusCode!, headers: rest, body: Buffer.concat(chunks).toString('utf8') });
          });
        });
        request.on('error', reject);
        request.end(body);
      });
    const decide = (request: Record<string, unknown>, headers?: Record<string, string>) => post(JSON.stringify({ query: SELECT, variables: { request } }), headers);
    /** Requests Yoga's pipeline validated (the lane never does). */
    const validated = async () => sum(await metrics(base), 'graphql_envelop_phase_validate_count');
    const requests = async () => sum(await metrics(base), 'graphql_envelop_request{operationName="Decide"');
    /** HTTP requests Yoga's metrics counted for the operation. */
    const httpRequests = async () => {
      const samples = await metrics(base);
      return [...samples].filter(([series]) => series.startsWith('graphql_yoga_http_duration_count{') && series.includes('operationName="Decide"')).reduce((total, [, value]) => total + value, 0);
    };

    /** Different variables on every call, as the pipeline sends them: no cached answer to give. */
    let calls = 0;
    const fresh = (request: Record<string, unknown> = {}) => ({ capability: 'text_search', variables: { N: 10 + ++calls, lines: 500 }, ...request });

    it('answers a decision Yoga has accepted without Yoga, with the same bytes and headers', async () => {
      expect((await decide(fresh())).status).toBe(200);
      const before = { validated: await validated(), requests: await requests(), http: await httpRequests() };
      const accepts = [undefined, '*/*', 'application/json', 'application/graphql-response+json'];
      for (const [index, accept] of accepts.entries()) {
        const request = fresh({ limit: 3 });
        const headers: Record<string, string> = accept ? { accept } : {};
        // The same document with one more space is a text Yoga has not accepted yet: Yoga answers it.
        const fromYoga = await post(JSON.stringify({ query: `${SELECT}${' '.repeat(index + 1)}`, variables: { request } }), headers);
        const laned = await decide(request, headers);
        // With the response cache on, Yoga's answer carries the ETag it was stored under; the lane's
        // answers are not stored.
        const { etag, ...yogaHeaders } = fromYoga.headers;
        expect(Boolean(etag)).toBe(cache);
        expect(laned).toEqual({ ...fromYoga, headers: yogaHeaders });
        expect(JSON.parse(laned.body).data.selectTools.candidates.length).toBeGreaterThan(0);
      }
      // Yoga validated its four; the lane's four were answered and counted as requests of the
      // operation without being validated: not through Yoga's pipeline.
      expect(await validated()).toBe(before.validated + accepts.length);
      expect(await requests()).toBe(before.requests + 2 * accepts.length);
      expect(await httpRequests()).toBe(before.http + 2 * accepts.length);
    });

    it('hands every answer with an error to Yoga, which gives it as always', async () => {
      await decide(fresh());
      const badWeights = await decide({ capability: 'text_search', weights: { time: 0.5, cost: 0.5, complexity: 0.5, accuracy: 0, completeness: 0 } });
      expect(JSON.parse(badWeights.body).errors[0].extensions.code).toBe('BAD_USER_INPUT');
      const wrongType = await decide({ capability: 'text_search', limit: 'five' });
      expect(JSON.parse(wrongType.body).errors[0].message).toMatch(/^Variable "\$request" got invalid value "five" at "request\.limit"/);
      const nul = await decide({ capability: 'text\u0000search' });
      expect(JSON.parse(nul.body).errors[0].message).toMatch(/NUL/);
      const badKey = await decide({ capability: 'text_search' }, { authorization: 'Bearer not-a-key-this-service-knows' });
      expect(badKey.status).toBe(401);
      // Each of these went through Yoga's pipeline.
      const before = await validated();
      await decide({ capability: 'text_search', limit: 0 });
      expect(await validated()).toBe(before + 1);
    });

    it('runs a decision once when its answer has an error: Yoga gives the outcome of the lane\'s run', async () => {
      const TWO = `query Two($good: SelectToolsInput!, $bad: SelectToolsInput!) {
        good: selectTools(request: $good) { revision candidates { rank } } bad: selectTools(request: $bad) { revision } }`;
      const badWeights = { capability: 'text_search', weights: { time: 0.5, cost: 0.5, complexity: 0.5, accuracy: 0, completeness: 0 } };
      const ask = () => post(JSON.stringify({ query: TWO, variables: { good: fresh(), bad: badWeights } }));
      const counted = async () => {
        const samples = await metrics(base);
        return { selections: sum(samples, 'tool_catalog_selections_total{'), compiled: sum(samples, 'tool_catalog_graphql_compiled_operations_total'), validated: sum(samples, 'graphql_envelop_phase_validate_count') };
      };
      // Yoga accepts the text first; from then on the lane runs it.
      const first = await ask();
      const before = await counted();
      const answer = await ask();
      const after = await counted();
      // The same answer Yoga gave: the typed error for the bad request (a selection is never null,
      // so the good one's answer goes with it).
      const body = JSON.parse(answer.body);
      expect(body.data).toBeNull();
      expect(body.errors.map((error: { path: string[]; extensions: { code: string } }) => [error.path, error.extensions.code])).toEqual([[['bad'], 'BAD_USER_INPUT']]);
      expect(body.errors).toEqual(JSON.parse(first.body).errors);
      // Given by Yoga's pipeline (validated there), but run once: the good request's one selection,
      // one compiled run.
      expect(after.validated).toBe(before.validated + 1);
      expect(after.selections).toBe(before.selections + 1);
      expect(after.compiled).toBe(before.compiled + 1);
    });

    it('leaves to Yoga what it does not handle: other documents, extensions, bodies that are not UTF-8, documents of two operations, origins', async () => {
      await decide(fresh());
      const before = await validated();
      const tool = await post(JSON.stringify({ query: '{ tool(name: "grep", platform: "linux") { name capabilities { name } } }' }));
      expect(JSON.parse(tool.body).data.tool.name).toBe('grep');
      const withExtensions = await post(JSON.stringify({ query: SELECT, variables: { request: fresh() }, extensions: { trace: true } }));
      expect(withExtensions.status).toBe(200);
      expect(await validated()).toBe(before + 2);
      const notUtf8 = await post(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]));
      expect(notUtf8.status).toBe(400);
      expect(JSON.parse(notUtf8.body).errors[0].extensions.code).toBe('INVALID_UTF8');
      // A document with two operations never runs compiled, so never takes the lane.
      const two = `${SELECT} query Other { catalogRevision }`;
      await post(JSON.stringify({ query: two, operationName: 'Decide', variables: { request: fresh() } }));
      const again = await validated();
      const answer = await post(JSON.stringify({ query: two, operationName: 'Decide', variables: { request: fresh() } }));
      expect(JSON.parse(answer.body).data.selectTools.revision).toBeGreaterThan(0);
      expect(await validated()).toBe(again + 1);
    });

    it('takes a valid key (an admin\'s) in the lane, with the answer Yoga gives', async () => {
      const headers = { authorization: `Bearer ${ADMIN}` };
      await decide(fresh(), headers);
      const before = await validated();
      const request = fresh();
      const laned = await decide(request, headers);
      expect(await validated()).toBe(before);
      const fromYoga = await post(JSON.stringify({ query: `${SELECT}\n`, variables: { request } }), headers);
      expect(laned.body).toBe(fromYoga.body);
      // A request from a browser (with an Origin) is Yoga's, which owns CORS.
      const crossSite = await decide(fresh(), { origin: 'https://elsewhere.example' });
      expect(crossSite.status).toBe(200);
      expect(await validated()).toBe(before + 2);
    });
  });
}

/**
 * A decision that waits on the database (a unit's experiments are read again once the catalog has
 * changed) while a table it reads is locked: the lane's run and Yoga's each answer 503
 * SERVICE_UNAVAILABLE within one deadline; the lane's request is not run (and waited) again by Yoga.
 */
describe.skipIf(!process.env.DATABASE_URL)('a decision waiting on a locked table (PostgreSQL)', () => {
  const DEADLINE_MS = 1_000;
  const HOLD_MS = 6_000;
  let service: TestService;
  let server: Server;
  let base: string;
  beforeAll(async () => {
    service = await startTestService({ adminApiKey: ADMIN, cache: { ...DEFAULT_CACHE, enabled: false }, dbQueryTimeoutMs: DEADLINE_MS });
    server = createServer(service.app.handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await service.close();
  });

  it('answers within one deadline, whether the lane or Yoga runs it', async () => {
    let calls = 0;
    const decide = async (query: string) => {
      const started = performance.now();
      const response = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query, variables: { request: { capability: 'text_search', unitId: `unit-${++calls}`, variables: { N: calls } } } }),
        signal: AbortSignal.timeout(30_000),
      });
      const body = (await response.json()) as { errors?: Array<{ extensions: { code: string } }> };
      return { status: response.status, code: body.errors?.[0]?.extensions.code, ms: performance.now() - started };
    };
    // Accepted by Yoga, then answered by the lane.
    expect((await decide(SELECT)).status).toBe(200);
    expect((await decide(SELECT)).status).toBe(200);
    // A change moves the catalog generation: the next decision with a unit reads the experiments again.
    const created = await service.graphql(
      `mutation ($input: ToolInput!) { createTool(input: $input) { __typename } }`,
      { input: { name: 'lane-deadline-probe', platform: 'linux', version: '1.0', category: 'network', description: 'Probe', capabilities: [] } },
      { authorization: `Bearer ${ADMIN}` },
    );
    expect(created.errors).toBeUndefined();
    const [{ name }] = (await service.db.prisma.$queryRaw`SELECT current_database() AS name`) as [{ name: string }];
    const url = new URL(process.env.DATABASE_URL!);
    url.pathname = `/${name}`;
    const locker = new pg.Client({ connectionString: url.toString() });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE "Experiment" IN ACCESS EXCLUSIVE MODE');
      const released = new Promise<void>((resolve) => setTimeout(resolve, HOLD_MS));
      const viaLane = await decide(SELECT);
      const viaYoga = await decide(`${SELECT} `);
      for (const answer of [viaLane, viaYoga]) {
        expect({ status: answer.status, code: answer.code }).toEqual({ status: 503, code: 'SERVICE_UNAVAILABLE' });
        // One deadline (and a second for a shared machine), not two, and not the lock's hold.
        expect(answer.ms).toBeLessThan(DEADLINE_MS + 1_000);
      }
      await released;
    } finally {
      await locker.query('ROLLBACK').catch(() => {});
      await locker.end();
    }
    expect((await decide(SELECT)).status).toBe(200);
  }, 60_000);
});
