import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runServerExpectingExit, startServerProcess } from './support/process.js';
import { processDatabase, SAMPLE_CATALOG_DIR } from './support/service.js';
import { readSampleCatalog } from './support/sampleCatalog.js';
import { subscribeSse, subscribeWs } from './support/subscriptions.js';

let workDir: string;
let databaseEnv: Record<string, string>;
let dropDatabase: () => Promise<void> = async () => {};

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'tool-catalog-process-'));
  ({ env: databaseEnv, drop: dropDatabase } = await processDatabase(workDir));
});
afterAll(async () => {
  await dropDatabase();
  rmSync(workDir, { recursive: true, force: true });
});

async function toolCount(url: string): Promise<number> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ tools { totalCount } }' }),
  });
  return ((await response.json()) as { data: { tools: { totalCount: number } } }).data.tools.totalCount;
}

describe('the service process', () => {
  it('stops at once with one line naming a bad variable', async () => {
    const { code, stderr } = await runServerExpectingExit({ PORT: 'not-a-port', DATA_DIR: path.join(workDir, 'unused') });
    expect(code).toBe(78);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^tool-catalog: invalid configuration: PORT="not-a-port"/);
  });

  it('seeds an empty database, keeps its data across a restart and does not seed again', async () => {
    const catalogDir = path.join(workDir, 'catalog');
    cpSync(SAMPLE_CATALOG_DIR, catalogDir, { recursive: true });
    const expected = readSampleCatalog(catalogDir).length;

    const first = await startServerProcess({ ...databaseEnv, CATALOG_DIR: catalogDir, RSS_SOFT_LIMIT_MB: '128' });
    try {
      expect(await toolCount(first.url)).toBe(expected);
      expect((await fetch(`${first.url}/ready`)).status).toBe(200);
      // The server watches its RSS against the configured soft limit.
      expect(await fetch(`${first.url}/metrics`).then((r) => r.text())).toMatch(/^tool_catalog_rss_soft_limit_bytes{service="tool-catalog"} 134217728$/m);
    } catch (error) {
      await first.stop();
      throw error;
    }
    expect(await first.stop('SIGTERM')).toBe(0);
    expect(first.logs().map((l) => l.msg)).toContain('stopped');

    // A file added after the first start must not be loaded by a restart: the data is kept as is.
    const extra = readFileSync(path.join(catalogDir, 'linux', 'grep.yaml'), 'utf8').replace(/^tool_name: .*$/m, 'tool_name: grep-copy');
    writeFileSync(path.join(catalogDir, 'linux', 'grep-copy.yaml'), extra);
    const second = await startServerProcess({ ...databaseEnv, CATALOG_DIR: catalogDir });
    try {
      expect(await toolCount(second.url)).toBe(expected);
      expect(second.logs().map((l) => l.msg)).toContain('catalog loaded from the database');
      // Each start-up is a reload in the history, kept across the restart.
      const history = await fetch(`${second.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ reloadHistory(first: 5) { edges { node { trigger actor source created unchanged error } } } }' }),
      }).then((r) => r.json() as Promise<{ data: { reloadHistory: { edges: Array<{ node: Record<string, unknown> }> } } }>);
      // An anonymous reader sees neither actors (key names) nor the server's paths.
      expect(history.data.reloadHistory.edges.map((e) => e.node)).toEqual([
        { trigger: 'startup', actor: 'hidden', source: 'database', created: 0, unchanged: expected, error: null },
        { trigger: 'startup', actor: 'hidden', source: path.basename(catalogDir), created: expected, unchanged: 0, error: null },
      ]);
    } finally {
      await second.stop();
    }
  });

  it('exits with a clear message when its port is taken', async () => {
    const first = await startServerProcess({ ...databaseEnv, CATALOG_DIR: SAMPLE_CATALOG_DIR });
    try {
      const port = new URL(first.url).port;
      const { code, stdout } = await runServerExpectingExit({ PORT: port, DATA_DIR: path.join(workDir, 'second') });
      expect(code).toBe(1);
      expect(stdout).toContain(`cannot listen on 127.0.0.1:${port}: EADDRINUSE`);
    } finally {
      await first.stop();
    }
  });

  it('ends open subscriptions on SIGTERM instead of waiting out the drain timeout', async () => {
    const server = await startServerProcess({ ...databaseEnv, CATALOG_DIR: SAMPLE_CATALOG_DIR, SHUTDOWN_TIMEOUT_MS: '60000' });
    const query = 'subscription { catalogEvents { revision } }';
    const sse = await subscribeSse(`${server.url}/graphql`, query);
    const ws = subscribeWs(`${server.url.replace('http', 'ws')}/graphql`, query);
    const started = Date.now();
    while (Date.now() - started < 10_000) {
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      if (/tool_catalog_event_subscriptions\{transport="websocket"\} 1/.test(metrics) && /tool_catalog_event_subscriptions\{transport="http"\} 1/.test(metrics)) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await server.stop('SIGTERM')).toBe(0);
    // Both streams were ended by the server, and the drain never needed its timeout.
    await Promise.all([sse.ended, ws.ended]);
    expect(server.logs().map((l) => l.msg)).toContain('stopped');
    expect(server.logs().map((l) => l.msg)).not.toContain('drain timeout reached; closing open connections');
  });

  it('finishes an in-flight request after SIGTERM before it exits', async () => {
    const server = await startServerProcess({ ...databaseEnv, CATALOG_DIR: SAMPLE_CATALOG_DIR });
    const body = JSON.stringify({ query: '{ tool(name: "grep", platform: "linux") { name } }' });
    const { hostname, port } = new URL(server.url);
    const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        { host: hostname, port, path: '/graphql', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      // Half the body now, the rest after SIGTERM: the request is in flight when the signal lands.
      req.write(body.slice(0, 10));
      setTimeout(() => {
        const exited = server.stop('SIGTERM');
        setTimeout(() => req.end(body.slice(10)), 300);
        void exited;
      }, 200);
    });
    const result = await response;
    expect(result.status).toBe(200);
    expect(JSON.parse(result.text)).toEqual({ data: { tool: { name: 'grep' } } });
    expect(await server.stop()).toBe(0);
    expect(server.logs().map((l) => l.msg)).toEqual(expect.arrayContaining(['draining in-flight requests', 'stopped']));
  });
});
