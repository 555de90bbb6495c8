import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { dashboard, panelQueries } from '../monitoring/src/dashboard.js';
import { generatedFiles } from '../monitoring/src/files.js';
import { registeredMetrics, type MetricDoc } from '../monitoring/src/metricsReference.js';
import { ALERTS, RECORDING_RULES, runbookUrl } from '../monitoring/src/rules.js';
import { privatePostgresAvailable, startPrivatePostgres, type PrivatePostgres } from './support/privatePostgres.js';
import { startServerProcess, type ServerProcess } from './support/process.js';
import { createPostgresDatabase, SAMPLE_CATALOG_DIR } from './support/service.js';

const root = new URL('../', import.meta.url).pathname;
const rulesFile = path.join(root, 'monitoring/rules/tool-catalog.yml');
const promtool = process.env.PROMTOOL_PATH ?? '/usr/bin/promtool';
const prometheusBinary = process.env.PROMETHEUS_PATH ?? '/usr/bin/prometheus';
const havePrometheus = existsSync(prometheusBinary) && existsSync(promtool);
if (!havePrometheus && process.env.CI) {
  throw new Error(`Prometheus and promtool are required in CI (apt-get install prometheus); not found at ${prometheusBinary}`);
}

/**
 * The metric selectors of a PromQL expression: `name{...}` or `name`, without range or subquery
 * brackets, skipping functions, keywords, label lists of by/on/without and numbers with units.
 */
export function metricSelectors(expr: string): string[] {
  const cleaned = expr
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ');
  const keywords = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);
  const found: string[] = [];
  for (const match of cleaned.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?/g)) {
    const before = cleaned[match.index! - 1] ?? ' ';
    if (/[0-9.]/.test(before)) continue; // the unit of a number, the exponent of 1e3
    const after = cleaned.slice(match.index! + match[0].length).trimStart();
    if (after.startsWith('(') && !match[2]) continue; // a function
    if (keywords.has(match[1]!.toLowerCase())) continue;
    found.push(`${match[1]}${match[2] ?? ''}`);
  }
  return found;
}

/** Counter series names: a counter's own name, and a histogram's or summary's _count/_sum/_bucket. */
function counterNames(metrics: MetricDoc[]): Set<string> {
  const names = new Set<string>();
  for (const m of metrics) {
    if (m.type === 'counter') names.add(m.name);
    if (m.type === 'histogram' || m.type === 'summary') for (const suffix of ['_count', '_sum', '_bucket']) names.add(`${m.name}${suffix}`);
  }
  return names;
}

/** Counters used anywhere but directly inside rate(), irate() or increase() over a range. */
function countersOutsideRate(expr: string, counters: Set<string>): string[] {
  const bad: string[] = [];
  for (const match of expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?\s*(\[[^\]]*\])?/g)) {
    if (!counters.has(match[1]!)) continue;
    const opening = expr.slice(0, match.index).trimEnd();
    if (!match[3] || !/\b(rate|irate|increase)\s*\($/.test(opening)) bad.push(match[0].trim());
  }
  return bad;
}

describe('generated monitoring files', () => {
  let metrics: MetricDoc[];
  beforeAll(async () => {
    metrics = await registeredMetrics();
  });

  it('are what the generators write (run npm run monitoring:generate after a change)', async () => {
    for (const [file, content] of await generatedFiles()) {
      expect(readFileSync(path.join(root, file), 'utf8'), `${file} is out of date`).toBe(content);
    }
  });

  it('hold at least 18 alerts following the mixin conventions, each with a firing and a quiet case', () => {
    expect(ALERTS.length).toBeGreaterThanOrEqual(18);
    const doc = parse(readFileSync(rulesFile, 'utf8')) as { groups: Array<{ rules: Array<Record<string, any>> }> };
    const alerts = doc.groups.flatMap((g) => g.rules).filter((r) => r.alert);
    expect(alerts.map((a) => a.alert).sort()).toEqual(ALERTS.map((a) => a.alert).sort());
    for (const alert of alerts) {
      expect(alert.alert, 'CamelCase with the ToolCatalog prefix').toMatch(/^ToolCatalog([A-Z][a-z0-9]*)+$/);
      expect(['critical', 'warning', 'info']).toContain(alert.labels.severity);
      expect(Object.keys(alert.annotations).sort()).toEqual(['description', 'runbook_url', 'summary']);
      expect(alert.annotations.runbook_url).toBe(runbookUrl(alert.alert));
    }
    const tests = (parse(readFileSync(path.join(root, 'monitoring/rules/tool-catalog.test.yml'), 'utf8')) as { tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }> }> }).tests;
    for (const { alert } of ALERTS) {
      const cases = tests.flatMap((t) => t.alert_rule_test ?? []).filter((c) => c.alertname === alert);
      expect(cases.some((c) => c.exp_alerts.length > 0), `${alert} has a firing case`).toBe(true);
      expect(cases.some((c) => c.exp_alerts.length === 0), `${alert} has a quiet case`).toBe(true);
    }
  });

  it('every alert has its runbook section and every section an alert', () => {
    const runbook = readFileSync(path.join(root, 'docs/runbook.md'), 'utf8');
    const sections = [...runbook.matchAll(/^## (\S+)\s*$/gm)].map((m) => m[1]!).filter((title) => title.startsWith('ToolCatalog'));
    expect(sections.sort()).toEqual(ALERTS.map((a) => a.alert).sort());
    for (const alert of ALERTS) {
      const body = runbook.split(`## ${alert.alert}\n`)[1]!.split(/^## /m)[0]!;
      for (const part of ['Meaning', 'Confirm', 'Act', 'Verify']) expect(body, `${alert.alert}: ${part}`).toContain(`**${part}**`);
    }
  });

  it('the dashboard has 12+ panels with units, datasource/job/instance variables and counters only in rate()/increase()', () => {
    const json = dashboard();
    const panels = json.panels!.filter((p: any) => p.type !== 'row') as any[];
    expect(panels.length).toBeGreaterThanOrEqual(12);
    expect(json.templating.list!.map((v) => v.name)).toEqual(['datasource', 'job', 'instance']);
    for (const panel of panels) {
      expect(panel.fieldConfig.defaults.unit, panel.title).toBeTruthy();
      expect(panel.datasource.uid).toBe('${datasource}');
      expect(panel.targets.length).toBeGreaterThan(0);
    }
    const counters = counterNames(metrics);
    expect(counters.has('graphql_envelop_request')).toBe(true);
    const misuse = panelQueries().flatMap((q) => countersOutsideRate(q.expr, counters).map((c) => `${q.panel}: ${c}`));
    expect(misuse).toEqual([]);
    // The check itself: a bare counter is caught.
    expect(countersOutsideRate('sum(tool_catalog_reloads_total{job="x"})', counters)).toHaveLength(1);
    for (const q of panelQueries()) expect(q.expr, q.panel).toMatch(/job="\$job"/);
  });

  it('rules and panels read only metrics the service registers', () => {
    const series = new Set(['up', ...counterNames(metrics), ...metrics.map((m) => m.name)]);
    const recorded = new Set(RECORDING_RULES.map((r) => r.record));
    const expressions = [...RECORDING_RULES.map((r) => r.expr), ...ALERTS.map((a) => a.expr), ...panelQueries().map((q) => q.expr)];
    const unknown = expressions.flatMap((expr) => metricSelectors(expr).map((sel) => sel.replace(/\{.*$/, ''))).filter((name) => !series.has(name) && !recorded.has(name));
    expect([...new Set(unknown)]).toEqual([]);
    expect(metricSelectors('sum by (job) (rate(foo_total{a="b"}[5m])) > 1.5e3 and on (job) bar')).toEqual(['foo_total{a="b"}', 'bar']);
  });

  it.skipIf(!havePrometheus)('pass promtool: rules check and unit tests', () => {
    for (const args of [['check', 'rules', rulesFile], ['test', 'rules', path.join(root, 'monitoring/rules/tool-catalog.test.yml')]]) {
      const run = spawnSync(promtool, args, { encoding: 'utf8', timeout: 60_000 });
      expect(run.status, run.stdout + run.stderr).toBe(0);
    }
  });
});

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
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

const ADMIN_KEY = 'live-check-admin-key-Wb4Tq9Zm2Xr7Kv5Ln8Py3Hs6Dc1Fj0Ga';

interface TrafficContext {
  url: string;
  catalogDir: string;
  post(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<any>;
  admin: Record<string, string>;
  /** Things to undo when the check ends (an open subscription). */
  cleanups: Array<() => void>;
}

/**
 * Traffic that touches every metric family, one step per family, run against each service in
 * order. A new family (selection, telemetry, experiments) adds one step here, and its panels and
 * alerts in monitoring/src; the check then proves that they have data.
 */
const TRAFFIC: Array<{ family: string; run(ctx: TrafficContext): Promise<void> }> = [
  {
    family: 'subscriptions (catalogEvents over SSE, kept open)',
    async run(ctx) {
      const subscription = new AbortController();
      const stream = await fetch(`${ctx.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ query: 'subscription LiveCheck { catalogEvents { revision type } }' }),
        signal: subscription.signal,
      });
      expect(stream.status).toBe(200);
      ctx.cleanups.push(() => subscription.abort());
    },
  },
  {
    family: 'reads, cache hits and misses',
    async run(ctx) {
      for (let i = 0; i < 4; i++) await ctx.post('query LiveToolByName { tool(name: "grep", platform: "linux") { id name revision } }');
      await ctx.post('query LiveStats { catalogStats { tools byStatus { key count } } }');
    },
  },
  {
    family: 'errors by code (validation, parse, authentication)',
    async run(ctx) {
      await ctx.post('query LiveBroken { nope }');
      await ctx.post('query LiveSyntax {');
      await ctx.post('mutation LiveNoKey { reloadCatalog { reload { error } } }', {}, { authorization: 'Bearer not-a-key-we-know-at-all' });
    },
  },
  // Before the write below, which deprecates grep: selection, reports and the experiment use it.
  {
    family: 'selection (one selectTools answer from the in-memory catalog)',
    async run(ctx) {
      const selection = await ctx.post('query LiveSelect { selectTools(request: { capability: "text_search", variables: { lines: 1000 }, limit: 3 }) { revision candidates { rank } excluded { reason } } }');
      expect(selection.errors).toBeUndefined();
      expect(selection.data.selectTools.candidates.length).toBeGreaterThan(0);
    },
  },
  {
    family: 'telemetry (an accepted, a duplicate and a rejected run over graphql and ndjson)',
    async run(ctx) {
      const run = (executionId: string, durationMs = 120) => ({
        executionId,
        name: 'grep',
        platform: 'linux',
        version: '1.0.0',
        capability: 'text_search',
        pattern: 'single_file_match',
        startedAt: new Date(Date.now() - 60_000).toISOString(),
        durationMs,
        success: true,
      });
      const report = await ctx.post(
        'mutation LiveReport($runs: [ExecutionInput!]!) { reportExecutions(executions: $runs) { accepted duplicates rejected } }',
        { runs: [run('live-graphql-1'), run('live-graphql-1'), run('live-graphql-2', -5)] },
        ctx.admin,
      );
      expect(report.data.reportExecutions).toEqual({ accepted: 1, duplicates: 1, rejected: 1 });
      const ndjson = await fetch(`${ctx.url}/executions`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson', ...ctx.admin },
        body: [run('live-ndjson-1'), run('live-ndjson-1'), run('live-ndjson-2', -5)].map((r) => JSON.stringify(r)).join('\n') + '\n',
      });
      expect(ndjson.status).toBe(200);
      expect(await ndjson.json()).toMatchObject({ accepted: 1, duplicates: 1, rejected: 1 });
    },
  },
  {
    family: 'experiments (one created and started)',
    async run(ctx) {
      const created = await ctx.post(
        `mutation LiveCreateExperiment { createExperiment(input: { key: "live-check", capability: "text_search", metric: SUCCESS_RATE,
          arms: [{ key: "a", tool: { name: "grep", platform: "linux" }, weight: 0.5 }, { key: "b", tool: { name: "grep", platform: "linux" }, weight: 0.5 }] }, reason: "live check") { __typename } }`,
        {},
        ctx.admin,
      );
      expect(created.data.createExperiment.__typename).toBe('Experiment');
      const started = await ctx.post('mutation LiveStartExperiment { startExperiment(key: "live-check", reason: "live check") { __typename } }', {}, ctx.admin);
      expect(started.data.startExperiment.__typename).toBe('Experiment');
    },
  },
  {
    family: 'a write (catalog size by status, revision)',
    async run(ctx) {
      const tool = await ctx.post('{ tool(name: "grep", platform: "linux") { revision } }');
      const write = await ctx.post(
        'mutation LiveWrite($revision: Int!) { deprecateTool(name: "grep", platform: "linux", revision: $revision, reason: "live check") { __typename } }',
        { revision: tool.data.tool.revision },
        ctx.admin,
      );
      expect(write.errors).toBeUndefined();
    },
  },
  {
    family: 'a reload and a failed reload',
    async run(ctx) {
      const reload = await ctx.post('mutation LiveReload { reloadCatalog(reason: "live check") { reload { error } } }', {}, ctx.admin);
      expect(reload.data.reloadCatalog.reload.error).toBeNull();
      writeFileSync(path.join(ctx.catalogDir, 'broken.yaml'), 'tool_name: [unclosed\n');
      const failed = await ctx.post('mutation LiveFailedReload { reloadCatalog(reason: "live check") { reload { error } } }', {}, ctx.admin);
      expect(failed.data.reloadCatalog.reload.error).toBeTruthy();
    },
  },
];

async function driveTraffic(url: string, catalogDir: string): Promise<() => void> {
  const ctx: TrafficContext = {
    url,
    catalogDir,
    admin: { authorization: `Bearer ${ADMIN_KEY}` },
    cleanups: [],
    post: (query, variables = {}, headers = {}) =>
      fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) }).then((r) => r.json()),
  };
  for (const step of TRAFFIC) {
    try {
      await step.run(ctx);
    } catch (error) {
      throw new Error(`live check traffic "${step.family}" failed: ${(error as Error).message}`);
    }
  }
  return () => ctx.cleanups.forEach((cleanup) => cleanup());
}

describe.skipIf(!havePrometheus)(`live check: every dashboard and rule expression against a real Prometheus${havePrometheus ? '' : ' (skipped: prometheus not installed)'}`, () => {
  let workDir: string;
  const services: ServerProcess[] = [];
  const cleanups: Array<() => Promise<void> | void> = [];
  let prometheus: ChildProcess | undefined;
  let promUrl: string;

  const query = async (promql: string) => {
    const response = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await response.json()) as { status: string; error?: string; data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    if (body.status !== 'success') throw new Error(`${promql}: ${body.error}`);
    return body.data!.result;
  };

  beforeAll(async () => {
    workDir = mkdtempSync(path.join(tmpdir(), 'tool-catalog-live-'));
    // One service on each kind of database: some metrics exist on one only (the change listener).
    let postgresUrl: string | undefined;
    if (process.env.DATABASE_URL) {
      const fresh = await createPostgresDatabase(process.env.DATABASE_URL);
      cleanups.push(fresh.drop);
      postgresUrl = fresh.url;
    } else if (privatePostgresAvailable) {
      const server: PrivatePostgres = await startPrivatePostgres();
      cleanups.push(() => server.destroy());
      postgresUrl = server.url;
    } else if (process.env.CI) {
      throw new Error('the live check needs PostgreSQL in CI (DATABASE_URL or the postgresql package)');
    }
    const databases: Array<Record<string, string>> = [{ DATA_DIR: path.join(workDir, 'data') }];
    if (postgresUrl) databases.push({ DATABASE_URL: postgresUrl });
    const catalogDirs: string[] = [];
    for (const [i, database] of databases.entries()) {
      const catalogDir = path.join(workDir, `catalog-${i}`);
      cpSync(SAMPLE_CATALOG_DIR, catalogDir, { recursive: true });
      catalogDirs.push(catalogDir);
      services.push(await startServerProcess({ ...database, CATALOG_DIR: catalogDir, ADMIN_API_KEY: ADMIN_KEY, CATALOG_WATCH: 'false' }));
    }

    // The committed config and rules, with the targets and intervals changed for a quick check.
    const config = parse(readFileSync(path.join(root, 'monitoring/prometheus.yml'), 'utf8'));
    config.global = { scrape_interval: '1s', evaluation_interval: '1s' };
    config.rule_files = [rulesFile];
    delete config.alerting;
    config.scrape_configs[0].scrape_interval = '1s';
    config.scrape_configs[0].scrape_timeout = '1s';
    config.scrape_configs[0].static_configs = [{ targets: services.map((s) => new URL(s.url).host) }];
    writeFileSync(path.join(workDir, 'prometheus.yml'), JSON.stringify(config));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      prometheusBinary,
      [`--config.file=${path.join(workDir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(workDir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`],
      { stdio: 'ignore' },
    );
    // Prometheus sees the service before the traffic, as in production: the first failed reload is
    // then an increase that the alert can see.
    const scrapes = async () => {
      const result = await query('count_over_time(up{job="tool-catalog"}[5m])');
      return result.length === services.length ? Math.min(...result.map((r) => Number(r.value[1]))) : 0;
    };
    await until('a first scrape of every target', async () => ((await scrapes()) >= 1 ? true : undefined));
    const stops: Array<() => void> = [];
    for (const [i, service] of services.entries()) stops.push(await driveTraffic(service.url, catalogDirs[i]!));
    cleanups.push(() => stops.forEach((stop) => stop()));
    // Two scrapes after the traffic, then a rule evaluation after them.
    const before = await scrapes();
    await until('two scrapes of every target after the traffic', async () => ((await scrapes()) >= before + 2 ? true : undefined));
    await new Promise((r) => setTimeout(r, 2_500));
  }, 110_000);

  afterAll(async () => {
    prometheus?.kill('SIGTERM');
    for (const service of services) await service.stop();
    for (const cleanup of cleanups.reverse()) await cleanup();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('every target is up', async () => {
    const up = await query('up{job="tool-catalog"}');
    expect(up.map((r) => r.value[1])).toEqual(services.map(() => '1'));
  });

  it('every recording rule and every dashboard query returns series', async () => {
    const expressions = [
      ...RECORDING_RULES.map((rule) => ({ what: `recording rule ${rule.record}`, expr: rule.expr })),
      ...RECORDING_RULES.map((rule) => ({ what: `recorded series ${rule.record}`, expr: rule.record })),
      ...panelQueries().map((q) => ({
        what: `panel "${q.panel}"`,
        expr: q.expr.replaceAll('$job', 'tool-catalog').replaceAll('$instance', '.*').replaceAll('$__rate_interval', '1m'),
      })),
    ];
    const empty: string[] = [];
    for (const { what, expr } of expressions) if ((await query(expr)).length === 0) empty.push(`${what}: ${expr}`);
    expect(empty).toEqual([]);
  });

  it('every alert expression evaluates, and each of its metric selectors matches a series', async () => {
    const unmatched: string[] = [];
    for (const alert of ALERTS) {
      await query(alert.expr); // must parse and evaluate; empty is its normal state
      for (const selector of metricSelectors(alert.expr)) {
        if ((await query(`count(${selector})`)).length === 0) unmatched.push(`${alert.alert}: ${selector}`);
      }
    }
    expect(unmatched).toEqual([]);
  });

  it('fires ToolCatalogReloadFailed for the failed reload of each instance, and nothing critical', async () => {
    const alerts = await until('ToolCatalogReloadFailed firing', async () => {
      const body = (await (await fetch(`${promUrl}/api/v1/alerts`)).json()) as { data: { alerts: Array<{ labels: Record<string, string>; state: string }> } };
      const firing = body.data.alerts.filter((a) => a.state === 'firing');
      return firing.filter((a) => a.labels.alertname === 'ToolCatalogReloadFailed').length === services.length ? firing : undefined;
    });
    expect(alerts.filter((a) => a.labels.alertname === 'ToolCatalogReloadFailed').map((a) => a.labels.trigger)).toEqual(services.map(() => 'graphql'));
    expect(alerts.filter((a) => a.labels.severity === 'critical')).toEqual([]);
  });

  it('sees the traffic: the failed reload, the write and the errors by code', async () => {
    const failures = await query('sum(tool_catalog_reloads_total{job="tool-catalog",trigger="graphql",outcome="failure"})');
    expect(Number(failures[0]!.value[1])).toBe(services.length);
    const codes = await query('sum by (code) (tool_catalog_graphql_errors_total{job="tool-catalog"}) > 0');
    expect(codes.map((r) => r.metric.code).sort()).toEqual(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'UNAUTHENTICATED']);
    // Catalog size is sampled at most every 5 s per instance: a scrape soon after the write may still
    // carry an instance's earlier sample, so wait (bounded) until every instance's sample has it.
    const deprecated = await until('every instance to count the deprecated tool', async () => {
      const result = await query('sum(tool_catalog_tools{job="tool-catalog",status="deprecated"})');
      return Number(result[0]?.value[1] ?? 0) >= services.length ? result : undefined;
    });
    expect(Number(deprecated[0]!.value[1])).toBeGreaterThanOrEqual(services.length);
  });

  it('sees the selection, the reported runs by outcome and path, and the running experiment', async () => {
    const selections = await query('sum(tool_catalog_selections_total{job="tool-catalog",outcome="selected"})');
    expect(Number(selections[0]!.value[1])).toBe(services.length);
    const reported = await query('sum by (outcome, path) (tool_catalog_executions_reported_total{job="tool-catalog"})');
    expect(Object.fromEntries(reported.map((r) => [`${r.metric.outcome} ${r.metric.path}`, Number(r.value[1])]))).toEqual(
      Object.fromEntries(['accepted', 'duplicate', 'rejected'].flatMap((outcome) => ['graphql', 'ndjson'].map((path) => [`${outcome} ${path}`, services.length]))),
    );
    const running = await query('tool_catalog_experiments_running{job="tool-catalog"}');
    expect(running.map((r) => r.value[1])).toEqual(services.map(() => '1'));
  });
});
