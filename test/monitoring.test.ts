import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startServerProcess, type ServerProcess } from './support/process.js';
import { processDatabase, SAMPLE_CATALOG_DIR, startTestService } from './support/service.js';

const rulesFile = new URL('../monitoring/rules/tool-catalog.yml', import.meta.url).pathname;
const exporters = /\b(?:graphql_[a-z_]+|tool_catalog_[a-z_]+|process_[a-z_]+|nodejs_[a-z_]+)\b/g;

/** Metric names the rules read (not the names they record, which contain colons). */
function metricsUsedByRules(): string[] {
  const doc = parse(readFileSync(rulesFile, 'utf8')) as { groups: Array<{ rules: Array<{ expr: string }> }> };
  const names = new Set<string>();
  for (const rule of doc.groups.flatMap((g) => g.rules)) {
    for (const token of String(rule.expr).replace(/[a-z_]*:[a-z_:0-9]+/g, ' ').match(exporters) ?? []) names.add(token);
  }
  return [...names].sort();
}

describe('monitoring rules', () => {
  it('read only metrics the service exports', async () => {
    const service = await startTestService();
    try {
      await service.graphql('query Probe { catalogStats { tools } }');
      await service.graphql('query Broken { tool(name: "grep", platform: "linux", version: "1") { noSuchField } }');
      const text = await (await service.app.yoga.fetch('http://catalog.test/metrics')).text();
      const exported = new Set([...text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/gm)].map((m) => m[1]!));
      const used = metricsUsedByRules();
      expect(used.length).toBeGreaterThanOrEqual(5);
      for (const name of used) expect(exported, `${name} is used by a rule`).toContain(name);
    } finally {
      await service.close();
    }
  });
});

const prometheusBinary = process.env.PROMETHEUS_PATH ?? '/usr/bin/prometheus';
const havePrometheus = existsSync(prometheusBinary);
if (!havePrometheus && process.env.CI) {
  throw new Error(`Prometheus is required in CI (apt-get install prometheus); not found at ${prometheusBinary}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 45_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

describe.skipIf(!havePrometheus)(`a real Prometheus server${havePrometheus ? '' : ' (skipped: prometheus not installed)'}`, () => {
  let workDir: string;
  let service: ServerProcess;
  let prometheus: ChildProcess;
  let promUrl: string;
  let dropDatabase = async () => {};

  beforeAll(async () => {
    workDir = mkdtempSync(path.join(tmpdir(), 'tool-catalog-prometheus-'));
    const database = await processDatabase(workDir);
    const databaseEnv = database.env;
    dropDatabase = database.drop;
    service = await startServerProcess({ ...databaseEnv, CATALOG_DIR: SAMPLE_CATALOG_DIR });
    const target = new URL(service.url).host;
    // The committed config and rules, with the target and intervals changed for a quick test.
    const config = parse(readFileSync(new URL('../monitoring/prometheus.yml', import.meta.url), 'utf8'));
    config.global = { scrape_interval: '1s', evaluation_interval: '1s' };
    config.rule_files = [rulesFile];
    config.scrape_configs[0].scrape_interval = '1s';
    config.scrape_configs[0].scrape_timeout = '1s';
    config.scrape_configs[0].static_configs = [{ targets: [target] }];
    writeFileSync(path.join(workDir, 'prometheus.yml'), JSON.stringify(config));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      prometheusBinary,
      [
        `--config.file=${path.join(workDir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(workDir, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: 'ignore' },
    );
  });

  afterAll(async () => {
    prometheus?.kill('SIGTERM');
    await service?.stop();
    await dropDatabase();
    rmSync(workDir, { recursive: true, force: true });
  });

  const query = async (promql: string) => {
    const response = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await response.json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    return body.data.result;
  };

  it('scrapes the service and sees its GraphQL requests by operation', async () => {
    await until('target up', async () => ((await query('up{job="tool-catalog"}'))[0]?.value[1] === '1' ? true : undefined));
    for (let i = 0; i < 5; i++) {
      await fetch(`${service.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: 'query MonitoringProbe { tool(name: "grep", platform: "linux") { id } }' }),
      });
    }
    // One execution; the other four are answered from the response cache, and still timed.
    const seen = await until('5 probe requests in Prometheus', async () => {
      const result = await query('sum(graphql_yoga_http_duration_count{job="tool-catalog", operationName="MonitoringProbe"})');
      return Number(result[0]?.value[1]) >= 5 ? Number(result[0]!.value[1]) : undefined;
    });
    expect(seen).toBe(5);
    const executed = await query('sum(graphql_envelop_request{job="tool-catalog", operationName="MonitoringProbe"})');
    expect(Number(executed[0]?.value[1])).toBe(1);
    const hits = await query('sum(tool_catalog_cache_hits_total{job="tool-catalog"})');
    expect(Number(hits[0]?.value[1])).toBeGreaterThanOrEqual(4);
  });

  it('loads every rule and evaluates them without errors', async () => {
    const rules = await until('rules evaluated', async () => {
      const body = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as {
        data: { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> };
      };
      const all = body.data.groups.flatMap((g) => g.rules);
      return all.length > 0 && all.every((r) => r.health !== 'unknown') ? all : undefined;
    });
    const committed = parse(readFileSync(rulesFile, 'utf8')).groups.flatMap((g: { rules: unknown[] }) => g.rules).length;
    expect(rules).toHaveLength(committed);
    for (const rule of rules) expect(rule, rule.name).toMatchObject({ health: 'ok' });
    const statements = await until('recorded statement rate', async () => {
      const result = await query('job:tool_catalog_db_statements:rate5m{job="tool-catalog"}');
      return result.length ? Number(result[0]!.value[1]) : undefined;
    });
    expect(statements).toBeGreaterThan(0);
  });
});
