import { createSchema, createYoga } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceUnavailableError } from '../src/db/availability.js';
import { maskError } from '../src/errors.js';
import { useServiceAvailability } from '../src/http/serviceAvailability.js';
import { startTestService, type TestService } from './support/service.js';

let service: TestService;
beforeAll(async () => {
  service = await startTestService();
});
afterAll(() => service.close());

const post = (query: string) =>
  service.app.yoga.fetch('http://catalog.test/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });

describe('not ready, not serving', () => {
  it('answers GraphQL with 503 SERVICE_UNAVAILABLE until the catalog is loaded; /health stays 200 and /ready names the catalog', async () => {
    service.state.catalogLoaded = false;
    try {
      const response = await post('{ tools(first: 1) { totalCount } }');
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('5');
      const body = (await response.json()) as { data?: unknown; errors: Array<{ extensions: { code: string; reason: string } }> };
      expect(body.data).toBeUndefined();
      expect(body.errors[0]!.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', reason: 'starting' });
      expect((await service.app.yoga.fetch('http://catalog.test/health')).status).toBe(200);
      const ready = await service.app.yoga.fetch('http://catalog.test/ready');
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'unavailable', failing: 'catalog' });
    } finally {
      service.state.catalogLoaded = true;
    }
    expect((await post('{ tools(first: 1) { totalCount } }')).status).toBe(200);
    expect((await service.app.yoga.fetch('http://catalog.test/ready')).status).toBe(200);
  });

  it('once shutdown began, /ready says stopping while GraphQL still answers requests in flight', async () => {
    service.state.stopping = true;
    try {
      const ready = await service.app.yoga.fetch('http://catalog.test/ready');
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'unavailable', failing: 'stopping' });
      expect((await post('{ tools(first: 1) { totalCount } }')).status).toBe(200);
    } finally {
      service.state.stopping = false;
    }
  });
});

describe('the SERVICE_UNAVAILABLE tier', () => {
  // A schema of two fields: one the database could answer, one it could not.
  const yoga = createYoga({
    schema: createSchema({
      typeDefs: 'type Query { cached: String, fromDatabase: String, required: String! }',
      resolvers: {
        Query: {
          cached: () => 'from memory',
          fromDatabase: () => {
            throw Object.assign(new Error('Connection terminated unexpectedly'), {});
          },
          required: () => {
            throw new ServiceUnavailableError('database');
          },
        },
      },
    }),
    maskedErrors: { maskError },
    logging: false,
    plugins: [useServiceAvailability({ serving: () => 'ready' })],
  });
  const ask = (query: string) => yoga.fetch('http://x/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });

  it('no data at all: HTTP 503 with Retry-After, a typed error and no driver text', async () => {
    const response = await ask('{ required }');
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    const text = await response.text();
    expect(JSON.parse(text).errors[0].extensions.code).toBe('SERVICE_UNAVAILABLE');
    expect(text).not.toMatch(/Connection terminated/);
  });

  it('partial data keeps 200 with the typed error in `errors`; a raw driver failure is recognised and never shown', async () => {
    const response = await ask('{ cached fromDatabase }');
    expect(response.status).toBe(200);
    const body = (await response.json()) as { data: Record<string, unknown>; errors: Array<{ message: string; path: string[]; extensions: { code: string } }> };
    expect(body.data).toEqual({ cached: 'from memory', fromDatabase: null });
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0]!.path).toEqual(['fromDatabase']);
    expect(body.errors[0]!.extensions.code).toBe('SERVICE_UNAVAILABLE');
    expect(body.errors[0]!.message).not.toMatch(/Connection terminated/);
  });
});
