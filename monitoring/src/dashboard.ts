/**
 * The Grafana dashboard, as data: `npm run monitoring:generate` writes
 * monitoring/grafana/tool-catalog.json from here, and a test fails when they differ.
 *
 * Adding a panel: one entry in PANELS (title, unit, queries). Queries use `$job`, `$instance` and
 * `$__rate_interval`; counters appear only inside rate() or increase() (a test checks). The live
 * check runs every query against a real Prometheus and fails on one that returns nothing.
 */

import {
  DashboardBuilder,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableRefresh,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { BigValueTextMode, LegendDisplayMode, LegendPlacement, ReduceDataOptionsBuilder, SortOrder, TooltipDisplayMode, VizLegendOptionsBuilder, VizTooltipOptionsBuilder } from '@grafana/grafana-foundation-sdk/common';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanelBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';

export interface PanelQuery {
  expr: string;
  legend: string;
}

export interface PanelDef {
  title: string;
  description: string;
  kind: 'timeseries' | 'stat';
  /** A Grafana unit id: s, reqps, ops, percentunit, bytes, short, bool_yes_no, none... */
  unit: string;
  queries: PanelQuery[];
  /** Grid width out of 24; rows fill left to right. */
  width?: number;
  /** Stat panels: thresholds from green, e.g. [[1, 'red']]. */
  thresholds?: Array<[number, string]>;
  min?: number;
  max?: number;
}

export interface RowDef {
  title: string;
  panels: PanelDef[];
}

const sel = (metric: string, extra = '') => `${metric}{job="$job", instance=~"$instance"${extra ? `, ${extra}` : ''}}`;
const rate = (metric: string, extra = '') => `rate(${sel(metric, extra)}[$__rate_interval])`;
const quantiles = (metric: string, by = '') =>
  [0.5, 0.95, 0.99].map((q) => ({
    expr: `histogram_quantile(${q}, sum by (le${by ? `, ${by}` : ''}) (${rate(`${metric}_bucket`)}))`,
    legend: `p${q * 100}${by ? ` {{${by}}}` : ''}`,
  }));

export const ROWS: RowDef[] = [
  {
    title: 'Overview',
    panels: [
      { title: 'Targets up', description: 'Instances Prometheus can scrape (1 = up).', kind: 'stat', unit: 'short', width: 4, queries: [{ expr: 'sum(up{job="$job", instance=~"$instance"})', legend: 'up' }], thresholds: [[0, 'red'], [1, 'green']] },
      { title: 'Uptime', description: 'Time since each process started.', kind: 'stat', unit: 's', width: 4, queries: [{ expr: `time() - ${sel('process_start_time_seconds')}`, legend: '{{instance}}' }] },
      { title: 'Tools in the catalog', description: 'Latest, not deleted tools, by status.', kind: 'stat', unit: 'short', width: 6, queries: [{ expr: `sum by (status) (${sel('tool_catalog_tools')})`, legend: '{{status}}' }] },
      { title: 'Catalog revision', description: 'Id of the newest catalog event; instances on one database show the same number.', kind: 'stat', unit: 'none', width: 4, queries: [{ expr: sel('tool_catalog_catalog_revision'), legend: '{{instance}}' }] },
      { title: 'Version', description: 'Running version, commit and Node.js per instance (tool_catalog_build_info).', kind: 'stat', unit: 'short', width: 6, queries: [{ expr: `count by (version, commit, node) (${sel('tool_catalog_build_info')})`, legend: '{{version}} {{commit}} {{node}}' }] },
    ],
  },
  {
    title: 'Requests',
    panels: [
      { title: 'Requests by operation', description: '/graphql requests per second by operation name, cached answers included.', kind: 'timeseries', unit: 'reqps', width: 12, queries: [{ expr: `sum by (operationName) (${rate('graphql_yoga_http_duration_count')})`, legend: '{{operationName}}' }] },
      { title: 'Latency p50 / p95 / p99', description: 'Whole HTTP exchange of /graphql requests.', kind: 'timeseries', unit: 's', width: 12, queries: quantiles('graphql_yoga_http_duration') },
      { title: 'Errors by code', description: 'Errors in GraphQL responses per second, by extensions.code.', kind: 'timeseries', unit: 'reqps', width: 12, queries: [{ expr: `sum by (code) (${rate('tool_catalog_graphql_errors_total')})`, legend: '{{code}}' }] },
      {
        title: 'SLO: internal error ratio',
        description: 'Share of /graphql requests that ended in an internal error (objective: under 0.5%).',
        kind: 'timeseries',
        unit: 'percentunit',
        width: 12,
        queries: [{ expr: `sum(${rate('tool_catalog_graphql_errors_total', 'code="INTERNAL_SERVER_ERROR"')}) / sum(${rate('graphql_yoga_http_duration_count')})`, legend: 'internal errors / requests' }],
      },
    ],
  },
  {
    title: 'Cache',
    panels: [
      {
        title: 'Cache hit ratio',
        description: 'Share of lookups answered from memory, per cache.',
        kind: 'timeseries',
        unit: 'percentunit',
        width: 8,
        min: 0,
        max: 1,
        queries: [{ expr: `sum by (cache) (${rate('tool_catalog_cache_hits_total')}) / (sum by (cache) (${rate('tool_catalog_cache_hits_total')}) + sum by (cache) (${rate('tool_catalog_cache_misses_total')}))`, legend: '{{cache}}' }],
      },
      { title: 'Cache entries', description: 'Entries held per cache.', kind: 'timeseries', unit: 'short', width: 8, queries: [{ expr: `sum by (cache) (${sel('tool_catalog_cache_entries')})`, legend: '{{cache}}' }] },
      { title: 'Cache size', description: 'Approximate bytes held per cache.', kind: 'timeseries', unit: 'bytes', width: 8, queries: [{ expr: `sum by (cache) (${sel('tool_catalog_cache_bytes')})`, legend: '{{cache}}' }] },
    ],
  },
  {
    title: 'Database',
    panels: [
      { title: 'SQL statements by kind', description: 'Statements per second sent to the database.', kind: 'timeseries', unit: 'ops', width: 8, queries: [{ expr: `sum by (kind) (${rate('tool_catalog_db_statements_total')})`, legend: '{{kind}}' }] },
      { title: 'SQL statement latency', description: 'Statement duration as Prisma reports it.', kind: 'timeseries', unit: 's', width: 8, queries: quantiles('tool_catalog_db_statement_duration_seconds').slice(1) },
      {
        title: 'Database health',
        description: 'Database answering a round trip at scrape; change listener connected (PostgreSQL only).',
        kind: 'stat',
        unit: 'bool_yes_no',
        width: 8,
        thresholds: [[0, 'red'], [1, 'green']],
        queries: [
          { expr: `min(${sel('tool_catalog_database_up')})`, legend: 'database up' },
          { expr: `min(${sel('tool_catalog_change_listener_connected')})`, legend: 'change listener connected' },
        ],
      },
      {
        title: 'Connection pool',
        description: 'Connections in use and idle, the pool maximum, and requests waiting for a connection.',
        kind: 'timeseries',
        unit: 'short',
        width: 12,
        queries: [
          { expr: `sum by (state) (${sel('tool_catalog_db_pool_connections')})`, legend: '{{state}}' },
          { expr: `sum(${sel('tool_catalog_db_pool_max_connections')})`, legend: 'max' },
          { expr: `sum(${sel('tool_catalog_db_pool_waiting_requests')})`, legend: 'waiting' },
        ],
      },
      { title: 'Connection acquire time', description: 'Wait for a database connection (p50/p95/p99).', kind: 'timeseries', unit: 's', width: 12, queries: quantiles('tool_catalog_db_pool_acquire_duration_seconds') },
    ],
  },
  {
    title: 'Reloads',
    panels: [
      { title: 'Reloads by trigger and outcome', description: 'Reloads in the last hour.', kind: 'timeseries', unit: 'short', width: 8, queries: [{ expr: `sum by (trigger, outcome) (increase(${sel('tool_catalog_reloads_total')}[1h]))`, legend: '{{trigger}} {{outcome}}' }] },
      {
        title: 'Reload duration',
        description: 'Average reload duration over the last hour.',
        kind: 'timeseries',
        unit: 's',
        width: 8,
        queries: [{ expr: `sum(increase(${sel('tool_catalog_reload_duration_seconds_sum')}[1h])) / sum(increase(${sel('tool_catalog_reload_duration_seconds_count')}[1h]))`, legend: 'average' }],
      },
      {
        title: 'Since the last successful reload',
        description: 'Time since each instance last reloaded its catalog successfully.',
        kind: 'stat',
        unit: 's',
        width: 8,
        queries: [{ expr: `time() - (${sel('tool_catalog_last_successful_reload_timestamp_seconds')} > 0)`, legend: '{{instance}}' }],
      },
    ],
  },
  {
    title: 'Subscriptions',
    panels: [
      { title: 'Open subscriptions', description: 'catalogEvents subscriptions open now, by transport.', kind: 'timeseries', unit: 'short', width: 8, queries: [{ expr: `sum by (transport) (${sel('tool_catalog_event_subscriptions')})`, legend: '{{transport}}' }] },
      {
        title: 'Event log reads and dropped subscribers',
        description: 'Reads of the event log by the shared feed, and subscribers dropped for falling behind, per second.',
        kind: 'timeseries',
        unit: 'ops',
        width: 8,
        queries: [
          { expr: `sum(${rate('tool_catalog_event_log_reads_total')})`, legend: 'event log reads' },
          { expr: `sum(${rate('tool_catalog_event_subscribers_dropped_total')})`, legend: 'dropped subscribers' },
        ],
      },
      { title: 'Change listener reconnects', description: 'Reconnections of the PostgreSQL change listener in the last hour.', kind: 'timeseries', unit: 'short', width: 8, queries: [{ expr: `sum(increase(${sel('tool_catalog_change_listener_reconnects_total')}[1h]))`, legend: 'reconnects' }] },
    ],
  },
  {
    title: 'Selection',
    panels: [
      { title: 'Selections by outcome', description: 'selectTools answers per second: with candidates (selected) or with none (empty).', kind: 'timeseries', unit: 'ops', width: 8, queries: [{ expr: `sum by (outcome) (${rate('tool_catalog_selections_total')})`, legend: '{{outcome}}' }] },
      { title: 'Selection latency p50 / p95 / p99', description: 'Time to compute one selectTools answer from the in-memory catalog.', kind: 'timeseries', unit: 's', width: 8, queries: quantiles('tool_catalog_selection_duration_seconds') },
      { title: 'Exclusions by reason', description: 'Candidate patterns left out of selectTools answers per second, by reason.', kind: 'timeseries', unit: 'ops', width: 8, queries: [{ expr: `sum by (reason) (${rate('tool_catalog_selection_exclusions_total')})`, legend: '{{reason}}' }] },
      { title: 'Stale answers', description: 'selectTools and profiles answers per second given from memory while the database was unreachable or memory could not be confirmed current.', kind: 'timeseries', unit: 'ops', width: 8, queries: [{ expr: `sum by (instance) (${rate('tool_catalog_selection_stale_total')})`, legend: '{{instance}}' }] },
      {
        title: 'In-memory catalog revision',
        description: 'Revision the in-memory catalog answers from, against the catalog revision in the database; the lines meet when memory is current.',
        kind: 'timeseries',
        unit: 'none',
        width: 8,
        queries: [
          { expr: sel('tool_catalog_memory_catalog_revision'), legend: 'memory {{instance}}' },
          { expr: sel('tool_catalog_catalog_revision'), legend: 'database {{instance}}' },
        ],
      },
      { title: 'In-memory catalog build time', description: 'Time to (re)build the in-memory catalog from the database, full or incremental (p95 / p99).', kind: 'timeseries', unit: 's', width: 8, queries: quantiles('tool_catalog_memory_catalog_build_seconds', 'kind').slice(1) },
    ],
  },
  {
    title: 'Telemetry',
    panels: [
      { title: 'Runs reported by outcome and path', description: 'Reported runs per second: accepted, duplicate or rejected, through the reportExecutions mutation (graphql) or POST /executions (ndjson).', kind: 'timeseries', unit: 'ops', width: 8, queries: [{ expr: `sum by (outcome, path) (${rate('tool_catalog_executions_reported_total')})`, legend: '{{outcome}} {{path}}' }] },
      { title: 'Ingest latency by path', description: 'Time to validate and store one batch of reported runs (p50 / p95 / p99).', kind: 'timeseries', unit: 's', width: 8, queries: quantiles('tool_catalog_execution_ingest_duration_seconds', 'path') },
      { title: 'Roll-up lag', description: 'Age of the oldest hourly roll-up not yet compacted (0 when all are).', kind: 'timeseries', unit: 's', width: 8, queries: [{ expr: sel('tool_catalog_telemetry_rollup_lag_seconds'), legend: '{{instance}}' }] },
    ],
  },
  {
    title: 'Experiments',
    panels: [
      { title: 'Running experiments', description: 'Experiments in the RUNNING state (every instance on one database shows the same number).', kind: 'stat', unit: 'short', width: 12, queries: [{ expr: `max(${sel('tool_catalog_experiments_running')})`, legend: 'running' }] },
      {
        title: 'SRM alarms',
        description: 'Running experiments whose units do not follow the configured weights (sample-ratio mismatch): their results cannot be trusted.',
        kind: 'stat',
        unit: 'short',
        width: 12,
        thresholds: [[1, 'red']],
        queries: [{ expr: `max(${sel('tool_catalog_experiment_srm_alarms')})`, legend: 'SRM alarms' }],
      },
    ],
  },
  {
    title: 'Process',
    panels: [
      {
        title: 'Memory',
        description: 'Resident memory, the RSS soft limit above which the service collects its garbage itself (RSS_SOFT_LIMIT_MB), and V8 heap in use.',
        kind: 'timeseries',
        unit: 'bytes',
        width: 8,
        queries: [
          { expr: sel('process_resident_memory_bytes'), legend: 'resident {{instance}}' },
          { expr: sel('tool_catalog_rss_soft_limit_bytes'), legend: 'soft limit {{instance}}' },
          { expr: `sum by (instance) (${sel('nodejs_heap_size_used_bytes')})`, legend: 'heap used {{instance}}' },
        ],
      },
      { title: 'CPU', description: 'CPU seconds used per second.', kind: 'timeseries', unit: 'percentunit', width: 8, queries: [{ expr: rate('process_cpu_seconds_total'), legend: '{{instance}}' }] },
      { title: 'Event loop lag p99', description: 'How long work waits for the event loop.', kind: 'timeseries', unit: 's', width: 8, queries: [{ expr: sel('nodejs_eventloop_lag_p99_seconds'), legend: '{{instance}}' }] },
    ],
  },
];

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

function target(query: PanelQuery, index: number) {
  return new DataqueryBuilder().datasource(DATASOURCE).expr(query.expr).legendFormat(query.legend).refId(String.fromCharCode(65 + index));
}

function thresholds(steps: Array<[number, string]> | undefined) {
  return new ThresholdsConfigBuilder()
    .mode(ThresholdsMode.Absolute)
    .steps([{ value: null, color: 'green' }, ...(steps ?? []).map(([value, color]) => ({ value, color }))]);
}

function panel(def: PanelDef, id: number) {
  const width = def.width ?? 12;
  if (def.kind === 'stat') {
    const stat = new StatPanelBuilder()
      .id(id)
      .title(def.title)
      .description(def.description)
      .datasource(DATASOURCE)
      .unit(def.unit)
      .span(width)
      .height(5)
      .thresholds(thresholds(def.thresholds))
      .textMode(BigValueTextMode.ValueAndName)
      .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false));
    if (def.min !== undefined) stat.min(def.min);
    if (def.max !== undefined) stat.max(def.max);
    def.queries.forEach((query, i) => stat.withTarget(target(query, i)));
    return stat;
  }
  const series = new TimeseriesPanelBuilder()
    .id(id)
    .title(def.title)
    .description(def.description)
    .datasource(DATASOURCE)
    .unit(def.unit)
    .span(width)
    .height(8)
    .legend(new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.List).placement(LegendPlacement.Bottom))
    .tooltip(new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Multi).sort(SortOrder.None));
  if (def.min !== undefined) series.min(def.min);
  if (def.max !== undefined) series.max(def.max);
  def.queries.forEach((query, i) => series.withTarget(target(query, i)));
  return series;
}

/**
 * The dashboard JSON Grafana imports, built with Grafana's own SDK (@grafana/grafana-foundation-sdk):
 * a datasource variable, a job variable and a multi-value instance variable, then ROWS in order.
 */
export function dashboard() {
  const builder = new DashboardBuilder('Tool Catalog')
    .uid('tool-catalog')
    .description('GENERATED by npm run monitoring:generate from monitoring/src/dashboard.ts; edit that file, not this one.')
    .tags(['tool-catalog'])
    .timezone('browser')
    .editable()
    .refresh('30s')
    .time({ from: 'now-6h', to: 'now' })
    .withVariable(new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus'))
    .withVariable(
      new QueryVariableBuilder('job')
        .label('Job')
        .datasource(DATASOURCE)
        .query('label_values(tool_catalog_build_info, job)')
        .definition('label_values(tool_catalog_build_info, job)')
        .refresh(VariableRefresh.OnDashboardLoad),
    )
    .withVariable(
      new QueryVariableBuilder('instance')
        .label('Instance')
        .datasource(DATASOURCE)
        .query('label_values(tool_catalog_build_info{job="$job"}, instance)')
        .definition('label_values(tool_catalog_build_info{job="$job"}, instance)')
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .multi(true)
        .includeAll(true)
        .allValue('.*'),
    );
  let id = 0;
  for (const row of ROWS) {
    builder.withRow(new RowBuilder(row.title).id(++id));
    for (const def of row.panels) builder.withPanel(panel(def, ++id));
  }
  return builder.build();
}

/** Every query of every panel, with the panel's title. */
export function panelQueries(): Array<{ panel: string; expr: string }> {
  return ROWS.flatMap((row) => row.panels.flatMap((panel) => panel.queries.map((query) => ({ panel: panel.title, expr: query.expr }))));
}
