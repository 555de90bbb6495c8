import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../src/config.js';
import { FIRST_QUERY } from '../src/app.js';
import { startTestService, type TestService } from './support/service.js';

let service: TestService;
beforeAll(async () => {
  service = await startTestService({ limits: { ...DEFAULT_LIMITS, maxDepth: 8, maxAliases: 3, maxTokens: 400, maxCost: 2_000, bodyBytes: 64 * 1024 } });
});
afterAll(() => service.close());

const post = (body: string, headers: Record<string, string> = {}) =>
  service.app.yoga.fetch('http://catalog.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });

/** Runs a query expecting it to be refused before any SQL is sent. */
async function refused(query: string) {
  const { result, statements } = await service.recordStatements(() => service.graphql(query));
  expect(statements).toEqual([]);
  expect(result.data ?? null).toBeNull();
  return result.errors!.map((e) => e.message).join('\n');
}

describe('request limits', () => {
  it('refuse a query nested deeper than the limit', async () => {
    const deep = '{ tools { edges { node { capabilities { patterns { capability { tool { capabilities { name } } } } } } } } }';
    expect(await refused(deep)).toMatch(/depth limit of 8/i);
  });

  it('refuse more aliases than the limit', async () => {
    const aliases = `{ ${[1, 2, 3, 4, 5].map((i) => `a${i}: catalogStats { tools }`).join(' ')} }`;
    expect(await refused(aliases)).toMatch(/aliases limit of 3/i);
  });

  it('refuse documents with more tokens than the limit', async () => {
    const long = `{ catalogStats { ${Array.from({ length: 500 }, () => 'tools').join(' ')} } }`;
    expect(await refused(long)).toMatch(/token limit of 400/i);
  });

  it('refuse queries whose estimated cost is over the limit', async () => {
    const costly = `{ tools(first: 200) { edges { node { name capabilities { name description patterns { name description scope completeness policy limitations typicalUseCases requiredInputs optionalInputs expectedOutputs } } } } } }`;
    expect(await refused(costly)).toMatch(/cost limit of 2000/i);
  });

  it('let the README query and a nested listing through', async () => {
    expect((await service.graphql(FIRST_QUERY)).errors).toBeUndefined();
    expect((await service.graphql('{ tools(first: 20) { edges { node { name capabilities { name patterns { name } } } } } }')).errors).toBeUndefined();
  });

  it('refuse a body over the size limit with 413', async () => {
    const response = await post(JSON.stringify({ query: `{ catalogStats { tools } } # ${'x'.repeat(70 * 1024)}` }), {
      'content-length': String(70 * 1024 + 100),
    });
    expect(response.status).toBe(413);
    expect((await response.json()).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('refuse a body without a length (chunked) once it streams past the limit, over HTTP', async () => {
    const { createServer, request } = await import('node:http');
    const server = createServer(service.app.handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const chunked = (body: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/graphql', method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (chunk) => (text += chunk)).on('end', () => resolve({ status: res.statusCode!, body: text }));
        });
        req.on('error', reject);
        // Two chunks, so the count runs over more than one.
        req.write(body.slice(0, 10));
        req.end(body.slice(10));
      });
    try {
      const small = await chunked(JSON.stringify({ query: '{ catalogStats { tools } }' }));
      expect(small.status).toBe(200);
      expect(JSON.parse(small.body).data.catalogStats.tools).toBeGreaterThan(0);
      const large = await chunked(JSON.stringify({ query: `{ catalogStats { tools } } # ${'x'.repeat(70 * 1024)}` }));
      expect(large.status).toBe(413);
      expect(JSON.parse(large.body).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('refuse a Content-Length that is not a byte count with 400', async () => {
    const response = await post(JSON.stringify({ query: '{ catalogStats { tools } }' }), { 'content-length': '12, 12' });
    expect(response.status).toBe(400);
    expect((await response.json()).errors[0].extensions.code).toBe('BAD_REQUEST');
  });

  it('do not accept batched requests', async () => {
    const response = await post(JSON.stringify([{ query: '{ catalogStats { tools } }' }, { query: '{ catalogStats { tools } }' }]));
    expect(response.status).toBeGreaterThanOrEqual(400);
    const body = await response.json();
    expect(Array.isArray(body)).toBe(false);
    expect(body.errors[0].message).toBe('Batching is not supported.');
  });
});

describe('browsers', () => {
  it('need a non-simple request: a plain GET without the CSRF header is refused', async () => {
    const url = `http://catalog.test/graphql?query=${encodeURIComponent('{ catalogStats { tools } }')}`;
    const simple = await service.app.yoga.fetch(url);
    expect(simple.status).toBe(403);
    const withHeader = await service.app.yoga.fetch(url, { headers: { 'x-graphql-yoga-csrf': '1', accept: 'application/json' } });
    expect(withHeader.status).toBe(200);
    expect((await withHeader.json()).data.catalogStats.tools).toBeGreaterThan(0);
    const formPost = await service.app.yoga.fetch('http://catalog.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'query=%7B%20catalogStats%20%7B%20tools%20%7D%20%7D',
    });
    expect(formPost.status).toBe(403);
  });
});

describe('introspection', () => {
  it('is on by default and can be turned off (as in production)', async () => {
    expect((await service.graphql('{ __schema { queryType { name } } }')).data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    const closed = await startTestService({ seed: false, limits: { ...DEFAULT_LIMITS, introspection: false } });
    try {
      const result = await closed.graphql('{ __schema { queryType { name } } }');
      expect(result.errors?.[0]?.message).toMatch(/introspection/i);
      expect((await closed.graphql('{ catalogStats { tools } }')).data).toEqual({ catalogStats: { tools: 0 } });
    } finally {
      await closed.close();
    }
  });
});

describe('typed refusals', () => {
  it.each([
    ['depth', '{ tools { edges { node { capabilities { patterns { capability { tool { capabilities { name } } } } } } } } }'],
    ['aliases', `{ ${[1, 2, 3, 4, 5].map((i) => `a${i}: catalogStats { tools }`).join(' ')} }`],
    ['tokens', `{ catalogStats { ${Array.from({ length: 500 }, () => 'tools').join(' ')} } }`],
    ['cost', `{ tools(first: 200) { edges { node { name capabilities { name description patterns { name description scope completeness policy limitations typicalUseCases requiredInputs optionalInputs expectedOutputs } } } } } }`],
  ])('a query over the %s limit is QUERY_TOO_COMPLEX, never labelled a syntax error', async (_limit, query) => {
    const { errors } = await service.graphql(query);
    expect(errors?.length).toBeGreaterThan(0);
    for (const error of errors!) {
      expect(error.extensions?.code).toBe('QUERY_TOO_COMPLEX');
      expect(error.message).not.toMatch(/syntax error/i);
    }
  });

  it('a real syntax error is GRAPHQL_PARSE_FAILED, an unknown field GRAPHQL_VALIDATION_FAILED', async () => {
    expect((await service.graphql('{ tools(')).errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    expect((await service.graphql('{ noSuchField }')).errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('a GET without the CSRF header is refused 403 CSRF_REJECTED', async () => {
    const response = await service.app.yoga.fetch(`http://catalog.test/graphql?query=${encodeURIComponent('{ catalogStats { tools } }')}`, {
      headers: { accept: 'application/json' },
    });
    expect(response.status).toBe(403);
    expect((await response.json()).errors[0].extensions.code).toBe('CSRF_REJECTED');
  });
});
