import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from './support/service.js';

const ADMIN_KEY = 'bad-input-admin-key-Rw4Tq8Zm2Xk6Pv9Ln3Hc7Jb1Yd5Gf0';
let service: TestService;
beforeAll(async () => {
  service = await startTestService({ adminApiKey: ADMIN_KEY });
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

/**
 * The hostile battery: requests as an attacker or a broken client sends them, over a real loopback
 * listener through the HTTP front door. None may get a 5xx, every refusal must carry a code, and
 * nothing they ask may change the data.
 */
describe('hostile requests over HTTP', () => {
  const EDITOR_NAME = 'battery-editor';
  let editorKey: string;
  let base: string;
  let server: import('node:http').Server;

  beforeAll(async () => {
    const { createServer } = await import('node:http');
    const { createApiKey } = await import('../src/auth/keys.js');
    editorKey = await createApiKey(service.db.prisma, EDITOR_NAME, 'editor');
    server = createServer(service.app.handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  type Hostile = { name: string; path?: string; method?: string; headers?: Record<string, string>; body?: string | Uint8Array };
  const json = (query: unknown, variables?: unknown, extra: Record<string, unknown> = {}) => JSON.stringify({ query, variables, ...extra });
  const asEditor = () => ({ 'content-type': 'application/json', authorization: `Bearer ${editorKey}` });
  const NUL = '\u0000';
  const longName = 'x'.repeat(100_000);
  const ref = 'name: "grep", platform: "linux", revision: 1';

  const cases = (): Hostile[] => [
    // Bodies that are not GraphQL requests.
    { name: 'invalid JSON', body: '{"query": ' },
    { name: 'JSON null', body: 'null' },
    { name: 'JSON number', body: '42' },
    { name: 'JSON string', body: '"{ tools { totalCount } }"' },
    { name: 'JSON array (batch)', body: JSON.stringify([{ query: '{ catalogStats { tools } }' }, { query: '{ catalogStats { tools } }' }]) },
    { name: 'empty body', body: '' },
    { name: 'query is a number', body: json(123) },
    { name: 'query is an object', body: json({ a: 1 }) },
    { name: 'query missing', body: JSON.stringify({ variables: {} }) },
    { name: 'variables is a string', body: json('{ catalogStats { tools } }', 'oops') },
    { name: 'variables is an array', body: json('{ catalogStats { tools } }', [1, 2]) },
    { name: 'operationName not in document', body: json('query A { catalogStats { tools } }', {}, { operationName: 'B' }) },
    { name: 'two operations, no operationName', body: json('query A { catalogStats { tools } } query B { catalogStats { tools } }') },
    { name: 'extensions is a string', body: json('{ catalogStats { tools } }', {}, { extensions: 'x' }) },
    { name: 'invalid UTF-8 in the query', body: Buffer.concat([Buffer.from('{"query":"{ tool(name: \\"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('\\") { id } }"}')]) },
    { name: 'invalid UTF-8 in a variable', body: Buffer.concat([Buffer.from('{"query":"query($n: String!) { tool(name: $n) { id } }","variables":{"n":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}}')]) },
    { name: 'overlong UTF-8 encoding of /', body: Buffer.concat([Buffer.from('{"query":"{ tool(name: \\"'), Buffer.from([0xe0, 0x80, 0xaf]), Buffer.from('\\") { id } }"}')]) },
    { name: 'lone surrogate escape', body: '{"query":"{ tool(name: \\"\\ud800\\") { id } }"}' },
    { name: 'UTF-16 body', body: Buffer.from(json('{ catalogStats { tools } }'), 'utf16le') },
    { name: 'BOM then JSON', body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json('{ catalogStats { tools } }'))]) },
    // Content types and methods.
    { name: 'text/plain body without CSRF header', headers: { 'content-type': 'text/plain' }, body: json('{ catalogStats { tools } }') },
    { name: 'form body without CSRF header', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'query=%7B%20catalogStats%20%7B%20tools%20%7D%20%7D' },
    { name: 'multipart without CSRF header', headers: { 'content-type': 'multipart/form-data; boundary=x' }, body: '--x\r\n\r\n--x--' },
    { name: 'unknown content type', headers: { 'content-type': 'application/x-evil' }, body: 'whatever' },
    { name: 'GET without CSRF header', method: 'GET', path: `/graphql?query=${encodeURIComponent('{ catalogStats { tools } }')}` },
    { name: 'GET mutation', method: 'GET', headers: { 'x-graphql-yoga-csrf': '1' }, path: `/graphql?query=${encodeURIComponent('mutation { revokeApiKey(name: "x") { __typename } }')}` },
    { name: 'GET with broken variables', method: 'GET', headers: { 'x-graphql-yoga-csrf': '1' }, path: `/graphql?query=${encodeURIComponent('{ catalogStats { tools } }')}&variables=%7B` },
    { name: 'GET with variables as an array', method: 'GET', headers: { 'x-graphql-yoga-csrf': '1' }, path: `/graphql?query=${encodeURIComponent('{ catalogStats { tools } }')}&variables=%5B1%5D` },
    { name: 'GET with broken extensions', method: 'GET', headers: { 'x-graphql-yoga-csrf': '1' }, path: `/graphql?query=${encodeURIComponent('{ catalogStats { tools } }')}&extensions=nope` },
    { name: 'GET with no query', method: 'GET', headers: { 'x-graphql-yoga-csrf': '1', accept: 'application/json' }, path: '/graphql?foo=1' },
    { name: 'PUT', method: 'PUT', body: json('{ catalogStats { tools } }') },
    { name: 'DELETE', method: 'DELETE' },
    { name: 'PATCH', method: 'PATCH', body: json('{ catalogStats { tools } }') },
    // Documents.
    { name: 'syntax error', body: json('{ tools(') },
    { name: 'unterminated string', body: json('{ tool(name: "grep) { id } }') },
    { name: 'unknown field', body: json('{ noSuchThing }') },
    { name: 'unknown argument', body: json('{ tools(colour: "red") { totalCount } }') },
    { name: 'unknown type in variables', body: json('query ($x: Nope) { catalogStats { tools } }', { x: 1 }) },
    { name: 'fragment cycle', body: json('{ catalogStats { ...A } } fragment A on CatalogStats { ...B } fragment B on CatalogStats { ...A }') },
    { name: 'unknown fragment', body: json('{ catalogStats { ...Nope } }') },
    { name: 'unknown directive', body: json('{ catalogStats @evil { tools } }') },
    { name: 'too many directives', body: json(`{ catalogStats ${'@include(if: true) '.repeat(60)} { tools } }`) },
    { name: 'too deep', body: json(`{ tools { edges { node { capabilities { patterns { capability { tool { capabilities { patterns { capability { tool { capabilities { name } } } } } } } } } } } } }`) },
    { name: 'too many aliases', body: json(`{ ${Array.from({ length: 40 }, (_, i) => `a${i}: catalogStats { tools }`).join(' ')} }`) },
    { name: 'too many tokens', body: json(`{ catalogStats { ${'tools '.repeat(6_000)} } }`) },
    { name: 'too costly', body: json(`{ ${Array.from({ length: 12 }, (_, i) => `a${i}: tools(first: 200) { edges { node { capabilities { patterns { name description limitations } } } } }`).join(' ')} }`) },
    { name: 'introspection depth bomb', body: json('{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }') },
    { name: 'subscription asking for plain JSON', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: json('subscription { catalogEvents { revision } }') },
    { name: 'string where an Int is expected', body: json('{ tools(first: "ten") { totalCount } }') },
    { name: 'Int overflow', body: json('{ tools(first: 99999999999) { totalCount } }') },
    { name: 'float where an Int is expected', body: json('{ tools(first: 1.5) { totalCount } }') },
    { name: 'negative first', body: json('{ tools(first: -5) { totalCount } }') },
    { name: 'first over the page limit', body: json('{ tools(first: 100000) { totalCount } }') },
    { name: 'first and last together', body: json('{ tools(first: 5, last: 5) { totalCount } }') },
    { name: 'forged cursor', body: json('{ tools(first: 5, after: "AAAA") { totalCount } }') },
    { name: 'cursor of another shape', body: json(`{ tools(first: 5, after: "${Buffer.from('GPC:J:{"a":1}').toString('base64')}") { totalCount } }`) },
    { name: 'null for a non-null variable', body: json('query ($n: String!) { tool(name: $n) { id } }', { n: null }) },
    { name: 'missing variable', body: json('query ($n: String!) { tool(name: $n) { id } }', {}) },
    { name: 'object for a String variable', body: json('query ($n: String!) { tool(name: $n) { id } }', { n: { $ne: 1 } }) },
    { name: 'invalid enum', body: json('{ tools(first: 1, filter: { status: EVIL }) { totalCount } }') },
    { name: 'bad UUID for toolById', body: json('{ toolById(id: "not-a-uuid") { name } }') },
    { name: 'SQL in a name', body: json(`{ tool(name: "grep'; DROP TABLE \\"Tool\\"; --") { id } }`) },
    { name: 'LIKE wildcards in search', body: json('{ tools(first: 5, filter: { search: "%_%\\\\" }) { totalCount } }') },
    { name: '100 kB name', body: json('query ($n: String!) { tool(name: $n) { id } }', { n: longName }) },
    { name: 'NUL in a name (literal)', body: json('{ tool(name: "gr\\u0000ep") { id } }') },
    { name: 'NUL in a name (variable)', body: json('query ($n: String!) { tool(name: $n) { id } }', { n: `grep${NUL}` }) },
    { name: 'NUL in a platform', body: json('query ($p: String) { tool(name: "grep", platform: $p) { id } }', { p: `linux${NUL}` }) },
    { name: 'NUL in a search', body: json('query ($s: String) { tools(first: 5, filter: { search: $s }) { totalCount } }', { s: `a${NUL}b` }) },
    { name: 'NUL in a cursor', body: json('query ($c: String) { tools(first: 5, after: $c) { totalCount } }', { c: `abc${NUL}` }) },
    { name: 'NUL in a mutation name argument', headers: asEditor(), body: json('mutation ($n: String!) { deleteTool(name: $n, platform: "linux", revision: 1) { __typename } }', { n: `grep${NUL}` }) },
    { name: 'NUL in a reason', headers: asEditor(), body: json('mutation ($r: String) { setToolEnabled(name: "grep", platform: "linux", revision: 1, enabled: false, reason: $r) { __typename } }', { r: `why${NUL}` }) },
    { name: 'NUL in a key name', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` }, body: json('mutation ($n: String!) { createApiKey(name: $n, role: READER) { key } }', { n: `k${NUL}` }) },
    // Keys.
    { name: 'Basic auth', headers: { 'content-type': 'application/json', authorization: 'Basic YWRtaW46YWRtaW4=' }, body: json('{ catalogStats { tools } }') },
    { name: 'Bearer without a key', headers: { 'content-type': 'application/json', authorization: 'Bearer' }, body: json('{ catalogStats { tools } }') },
    { name: 'Bearer with two words', headers: { 'content-type': 'application/json', authorization: 'Bearer a b' }, body: json('{ catalogStats { tools } }') },
    { name: 'a 10 kB key', headers: { 'content-type': 'application/json', authorization: `Bearer ${'k'.repeat(10_000)}` }, body: json('{ catalogStats { tools } }') },
    { name: 'revoked-looking key', headers: { 'content-type': 'application/json', authorization: 'Bearer tc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }, body: json('{ catalogStats { tools } }') },
    // Writes without the right, or with wrong input.
    { name: 'mutation anonymously', body: json(`mutation { setToolEnabled(${ref}, enabled: false) { __typename } }`) },
    { name: 'admin mutation as editor', headers: asEditor(), body: json('mutation { createApiKey(name: "sneaky", role: ADMIN) { key } }') },
    { name: 'audit log anonymously', body: json('{ auditLog(first: 5) { totalCount } }') },
    { name: 'api keys anonymously', body: json('{ apiKeys { name } }') },
    { name: 'stale revision', headers: asEditor(), body: json(`mutation { setToolEnabled(name: "grep", platform: "linux", revision: 999, enabled: false) { __typename ... on Error { message } } }`) },
    { name: 'unknown tool', headers: asEditor(), body: json('mutation { setToolEnabled(name: "no-such-tool", platform: "linux", revision: 1, enabled: false) { __typename } }') },
    { name: 'rollback to an unknown version', headers: asEditor(), body: json('mutation { rollbackTool(name: "grep", platform: "linux", revision: 1, to: "99.99") { __typename } }') },
    { name: 'invalid tool definition', headers: asEditor(), body: json('mutation { createTool(input: { name: "", platform: "", version: "", category: "" }) { __typename } }') },
    { name: 'tool without a name', headers: asEditor(), body: json('mutation { createTool(input: { platform: "linux", version: "1.0", category: "system" }) { __typename } }') },
    { name: 'estimate that is code', headers: asEditor(), body: json('mutation ($i: ToolInput!) { createTool(input: $i) { __typename } }', { i: { name: 'evil-estimate', platform: 'linux', version: '1.0', category: 'system', capabilities: [{ name: 'c', patterns: [{ name: 'p', timeEstimateMs: 'process.exit(1)' }] }] } }) },
    // Tool names and platforms name files on export (<platform>/<name>.yaml): nothing path-like.
    { name: 'tool named like a path (createTool)', headers: asEditor(), body: json('mutation ($i: ToolInput!) { createTool(input: $i) { __typename ... on ValidationError { fieldErrors { path } } } }', { i: { name: '../etc/passwd', platform: 'linux', version: '1.0', category: 'system' } }) },
    { name: 'tool named with a backslash (createTool)', headers: asEditor(), body: json('mutation ($i: ToolInput!) { createTool(input: $i) { __typename } }', { i: { name: '..\\windows\\win.ini', platform: 'linux', version: '1.0', category: 'system' } }) },
    { name: 'hidden-file tool name (createTool)', headers: asEditor(), body: json('mutation ($i: ToolInput!) { createTool(input: $i) { __typename } }', { i: { name: '.bashrc', platform: 'linux', version: '1.0', category: 'system' } }) },
    { name: 'platform like a path (createTool)', headers: asEditor(), body: json('mutation ($i: ToolInput!) { createTool(input: $i) { __typename } }', { i: { name: 'probe', platform: '../../tmp', version: '1.0', category: 'system' } }) },
    { name: 'tool named like a path (import)', headers: asEditor(), body: json('mutation ($c: String!) { importCatalog(documents: [{ name: "linux/passwd.yaml", content: $c }]) { __typename ... on ImportResult { applied tools { action } } } }', { c: "tool_name: ../etc/passwd\nversion: '1'\nplatform: linux\ncategory: system\ncapabilities: {}\n" }) },
    { name: 'invalid key name', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` }, body: json('mutation { createApiKey(name: "bad name!", role: READER) { key } }') },
    { name: 'revoke an unknown key', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` }, body: json('mutation { revokeApiKey(name: "nobody") { __typename } }') },
    { name: 'import with a file path traversal', headers: asEditor(), body: json('mutation { importCatalog(files: [{ path: "../../etc/passwd", content: "tool_name: x" }], dryRun: true) { __typename } }') },
    { name: 'import of YAML bomb', headers: asEditor(), body: json('mutation ($c: String!) { importCatalog(files: [{ path: "bomb.yaml", content: $c }], dryRun: true) { __typename } }', { c: `a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n` }) },
    // Other paths.
    { name: 'unknown path', path: '/../../etc/passwd', method: 'GET' },
    { name: 'path with NUL', path: '/graphql%00', method: 'GET' },
    { name: 'metrics with a body', path: '/metrics', method: 'POST', body: 'x' },
    { name: 'ready with a body', path: '/ready', method: 'POST', body: 'x' },
    { name: 'declared length over the limit', headers: { 'content-type': 'application/json', 'x-declared': '1' }, body: json(`{ catalogStats { tools } } #${'x'.repeat(20 * 1024 * 1024)}`) },
  ];

  it('gets no 5xx, a code on every refusal, and leaves the data as it was', async () => {
    const prisma = service.db.prisma;
    const counts = async () => ({
      tools: await prisma.tool.count(),
      enabled: await prisma.tool.count({ where: { enabled: true } }),
      keys: await prisma.apiKey.count(),
      audit: await prisma.auditLog.count(),
      events: await prisma.catalogEvent.count(),
    });
    const before = await counts();
    const startedAt = new Date();
    const list = cases();
    expect(list.length).toBeGreaterThanOrEqual(90);
    const problems: string[] = [];
    const outcomes: Array<{ name: string; status: number; codes: Array<string | undefined>; refused: boolean }> = [];
    for (const hostile of list) {
      let response: Response;
      let text: string;
      try {
        response = await fetch(`${base}${hostile.path ?? '/graphql'}`, {
          method: hostile.method ?? 'POST',
          headers: hostile.headers ?? { 'content-type': 'application/json' },
          body: hostile.body as BodyInit | undefined,
          signal: AbortSignal.timeout(10_000),
        });
        text = await response.text();
      } catch (error) {
        problems.push(`${hostile.name}: no answer (${(error as Error).message})`);
        continue;
      }
      let parsed: { data?: unknown; errors?: Array<{ message: string; extensions?: { code?: string } }> } | undefined;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      const refused = response.status >= 400 || Boolean(parsed?.errors?.length) || JSON.stringify(parsed?.data ?? null).includes('Error"');
      outcomes.push({ name: hostile.name, status: response.status, codes: parsed?.errors?.map((error) => error.extensions?.code) ?? [], refused });
      if (response.status >= 500) problems.push(`${hostile.name}: HTTP ${response.status} ${text.slice(0, 200)}`);
      if (response.status >= 400 && !parsed?.errors?.length && response.status !== 404) problems.push(`${hostile.name}: HTTP ${response.status} without a typed error: ${text.slice(0, 200)}`);
      for (const error of parsed?.errors ?? []) {
        if (!/^[A-Z][A-Z0-9_]+$/.test(error.extensions?.code ?? '')) problems.push(`${hostile.name}: untyped error ${JSON.stringify(error).slice(0, 200)}`);
        if (/Unexpected error|prisma|SELECT |invalid byte sequence/i.test(error.message)) problems.push(`${hostile.name}: leaks ${error.message.slice(0, 200)}`);
      }
    }
    expect(problems).toEqual([]);
    expect(outcomes.filter((outcome) => outcome.refused).length).toBeGreaterThanOrEqual(85);
    const created = await prisma.tool.findMany({ where: { createdAt: { gt: startedAt } }, select: { name: true, platform: true } });
    expect(created).toEqual([]);
    expect(await counts()).toEqual(before);
  }, 180_000);
});
