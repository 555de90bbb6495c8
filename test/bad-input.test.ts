import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from './support/service.js';

let service: TestService;
beforeAll(async () => {
  service = await startTestService();
});
afterAll(() => service.close());

const page = `query Page($first: Int, $after: String, $last: Int) {
  tools(first: $first, after: $after, last: $last) { edges { node { name } } }
}`;

describe('invalid arguments', () => {
  it.each([
    [{ first: -1 }, /"first".*non-negative/],
    [{ first: 201 }, /"first" must be at most 200/],
    [{ last: 500 }, /"last" must be at most 200/],
    [{ first: 5, after: 'not-a-cursor' }, /"after" is not a valid cursor/],
    [{ first: 5, after: Buffer.from('GPC:S:').toString('base64') }, /"after" is not a valid cursor/],
    [{ first: 5, after: Buffer.from('GPC:S:12345').toString('base64') }, /"after" is not a valid cursor/],
  ])('%j gives a BAD_USER_INPUT error naming the problem, and no data', async (variables, message) => {
    const { data, errors } = await service.graphql(page, variables);
    expect(errors).toHaveLength(1);
    expect(errors![0]!.message).toMatch(message);
    expect(errors![0]!.extensions?.code).toBe('BAD_USER_INPUT');
    expect(data).toBeNull();
  });

  it('accepts the boundary values', async () => {
    const zero = await service.graphql(page, { first: 0 });
    expect(zero.errors).toBeUndefined();
    expect(zero.data.tools.edges).toEqual([]);
    const max = await service.graphql(page, { first: 200 });
    expect(max.errors).toBeUndefined();
    expect(max.data.tools.edges.length).toBeGreaterThan(0);
  });

  it('rejects wrongly typed arguments at validation, naming the argument', async () => {
    const { errors } = await service.graphql(`{ tools(first: "ten") { totalCount } }`);
    expect(errors?.[0]?.message).toMatch(/Int.*"ten"|"ten".*Int/);
    const missing = await service.graphql(`{ tool { id } }`);
    expect(missing.errors?.[0]?.message).toMatch(/argument "name"/);
  });
});

describe('unexpected errors', () => {
  it('are masked: no SQL, no Prisma text, no stack', async () => {
    const { db, drop } = await import('./support/service.js').then((m) => m.openTestDatabase());
    const { createApp } = await import('../src/app.js');
    const { silentLog } = await import('./support/service.js');
    // A database without the catalog's tables: every read fails inside Prisma.
    const app = createApp({ db, config: { graphiql: false }, log: silentLog, state: { catalogLoaded: true } });
    try {
      const response = await app.yoga.fetch('http://catalog.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ tool(name: "grep") { id } }' }),
      });
      const body = await response.text();
      const parsed = JSON.parse(body);
      expect(parsed.errors[0].message).toBe('Unexpected error.');
      expect(body).not.toMatch(/prisma|SELECT|relation|stack|\.ts:/i);
    } finally {
      await drop();
    }
  });
});
