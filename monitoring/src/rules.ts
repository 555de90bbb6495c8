/**
 * Recording rules, alerts and their promtool unit tests, as data. `npm run monitoring:generate`
 * writes monitoring/rules/tool-catalog.yml and tool-catalog.test.yml from here; a test fails when
 * the committed files differ.
 *
 * Adding an alert: push one entry to ALERTS with a `fires` and a `quiet` case (input series and the
 * time to evaluate at), and a section `## <AlertName>` in docs/runbook.md. Annotations may use
 * `{{ $labels.x }}` and one `{{ $value ... }}`; a firing case states how the value renders.
 */

export type Severity = 'critical' | 'warning' | 'info';

export interface RecordingRule {
  record: string;
  expr: string;
  /** Why it exists; becomes a comment. */
  comment?: string;
}

export interface InputSeries {
  series: string;
  values: string;
}

export interface AlertCase {
  /** What the case shows, for the test's name. */
  story: string;
  series: InputSeries[];
  /** When to evaluate, e.g. `20m`. */
  at: string;
}

export interface FiringCase extends AlertCase {
  /** The alert's labels besides alertname and severity. */
  labels: Record<string, string>;
  /** How `{{ $value ... }}` renders at `at`, when the annotations use it. */
  value?: string;
  /** An earlier time at which the alert must not fire yet (pending, or below threshold). */
  notYetAt?: string;
}

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  severity: Severity;
  summary: string;
  description: string;
  comment?: string;
  fires: FiringCase;
  quiet: AlertCase;
}

export const JOB = 'tool-catalog';
/** Relative to the repository; a deployment that publishes the docs may rewrite it (see monitoring/README.md). */
export const RUNBOOK_BASE = 'docs/runbook.md';

/** The runbook section of an alert: docs/runbook.md has a `## <AlertName>` heading for each. */
export function runbookUrl(alert: string): string {
  return `${RUNBOOK_BASE}#${alert.toLowerCase()}`;
}

const target = 'job="tool-catalog",instance="127.0.0.1:4000",service="tool-catalog"';
/** A series as the service exports it, with the labels Prometheus adds when scraping. */
export function s(metric: string, values: string, labels = ''): InputSeries {
  return { series: `${metric}{${target}${labels ? `,${labels}` : ''}}`, values };
}
const instanceLabels = { job: JOB, instance: '127.0.0.1:4000' };
const http = (operationName: string, extra = '') =>
  `method="POST",statusCode="200",operationType="query",operationName="${operationName}"${extra ? `,${extra}` : ''}`;
/** Selector for the job; every alert is limited to it so that other jobs' metrics never page us. */
const J = `job="${JOB}"`;

/** SLO: 99.5 % of /graphql requests answered without an internal (unexpected) error. */
export const SLO_ERROR_BUDGET = 0.005;

export const RECORDING_RULES: RecordingRule[] = [
  {
    comment: 'Executed GraphQL operations per second, by operation name. Queries answered from the response cache are not executed: they count in the HTTP histogram and the cache counters.',
    record: 'job_operationName:graphql_envelop_request:rate5m',
    expr: 'sum by (job, operationName) (rate(graphql_envelop_request[5m]))',
  },
  { record: 'job:graphql_envelop_request:rate5m', expr: 'sum by (job) (rate(graphql_envelop_request[5m]))' },
  {
    comment: 'HTTP requests to /graphql per second (includes requests rejected at parse/validate).',
    record: 'job:graphql_yoga_http_requests:rate5m',
    expr: 'sum by (job) (rate(graphql_yoga_http_duration_count[5m]))',
  },
  {
    comment: 'p95 of the whole HTTP exchange, in seconds.',
    record: 'job_operationName:graphql_yoga_http_duration:p95_5m',
    expr: 'histogram_quantile(0.95, sum by (job, operationName, le) (rate(graphql_yoga_http_duration_bucket[5m])))',
  },
  { record: 'job:graphql_yoga_http_duration:p95_5m', expr: 'histogram_quantile(0.95, sum by (job, le) (rate(graphql_yoga_http_duration_bucket[5m])))' },
  {
    comment: 'GraphQL errors per second, by operation name and phase (parse, validate, execute...).',
    record: 'job_operationName_phase:graphql_envelop_error_result:rate5m',
    expr: 'sum by (job, operationName, phase) (rate(graphql_envelop_error_result[5m]))',
  },
  {
    comment:
      'Errors per executed operation. The error counter has no series until the first error, so `or ... * 0` yields 0 instead of nothing while there is traffic. Errors are counted per GraphQL error and include requests that never reached execution, so the raw ratio can exceed 1; it is capped at 1.',
    record: 'job:graphql_envelop_error_result:ratio_rate5m',
    expr: `clamp_max(
  (
      sum by (job) (rate(graphql_envelop_error_result[5m]))
    or
      sum by (job) (rate(graphql_envelop_request[5m])) * 0
  )
  / sum by (job) (rate(graphql_envelop_request[5m])),
  1
)`,
  },
  {
    comment: 'GraphQL errors per second by code (BAD_USER_INPUT, UNAUTHENTICATED, INTERNAL_SERVER_ERROR...).',
    record: 'job_code:tool_catalog_graphql_errors:rate5m',
    expr: 'sum by (job, code) (rate(tool_catalog_graphql_errors_total[5m]))',
  },
  ...(['5m', '30m', '1h', '6h'] as const).map((window) => ({
    comment:
      window === '5m'
        ? 'SLO error ratio: internal (unexpected) errors per /graphql request, over the windows the burn-rate alerts use.'
        : undefined,
    record: `job:tool_catalog_slo_errors:ratio_rate${window}`,
    expr: `sum by (job) (rate(tool_catalog_graphql_errors_total{code="INTERNAL_SERVER_ERROR"}[${window}]))
/
sum by (job) (rate(graphql_yoga_http_duration_count[${window}]))`,
  })),
  {
    comment: 'SQL statements per second, by statement kind (SELECT, INSERT, ...) and in total.',
    record: 'job_kind:tool_catalog_db_statements:rate5m',
    expr: 'sum by (job, kind) (rate(tool_catalog_db_statements_total[5m]))',
  },
  { record: 'job:tool_catalog_db_statements:rate5m', expr: 'sum by (job) (rate(tool_catalog_db_statements_total[5m]))' },
  {
    comment: 'Share of cache lookups answered from memory, per cache (response...).',
    record: 'job_cache:tool_catalog_cache_hit:ratio_rate5m',
    expr: `sum by (job, cache) (rate(tool_catalog_cache_hits_total[5m]))
/
(sum by (job, cache) (rate(tool_catalog_cache_hits_total[5m])) + sum by (job, cache) (rate(tool_catalog_cache_misses_total[5m])))`,
  },
  {
    comment: 'p95 SQL statement duration, in seconds.',
    record: 'job:tool_catalog_db_statement_duration_seconds:p95_5m',
    expr: 'histogram_quantile(0.95, sum by (job, le) (rate(tool_catalog_db_statement_duration_seconds_bucket[5m])))',
  },
  {
    comment: 'p95 wait for a database connection, per instance, in seconds.',
    record: 'job_instance:tool_catalog_db_pool_acquire_duration_seconds:p95_5m',
    expr: 'histogram_quantile(0.95, sum by (job, instance, le) (rate(tool_catalog_db_pool_acquire_duration_seconds_bucket[5m])))',
  },
  {
    comment: 'Share of the pool in use, per instance.',
    record: 'job_instance:tool_catalog_db_pool_utilisation:ratio',
    expr: `sum by (job, instance) (tool_catalog_db_pool_connections{state="in_use"})
/
sum by (job, instance) (tool_catalog_db_pool_max_connections)`,
  },
];

/** Tests of the recording rules (promtool promql_expr_test), ported from the hand-written file. */
export const RECORDING_TESTS = [
  {
    name: 'cache hit ratio is recorded per cache',
    input_series: [
      s('tool_catalog_cache_hits_total', '0+45x15', 'cache="response"'),
      s('tool_catalog_cache_misses_total', '0+15x15', 'cache="response"'),
    ],
    promql_expr_test: [
      { expr: 'job_cache:tool_catalog_cache_hit:ratio_rate5m', eval_time: '10m', exp_samples: [{ labels: 'job_cache:tool_catalog_cache_hit:ratio_rate5m{job="tool-catalog",cache="response"}', value: 0.75 }] },
    ],
  },
  {
    name: 'request rate, error ratio and DB statement rate are recorded',
    input_series: [
      s('graphql_envelop_request', '0+60x15', 'operationName="ToolByName",operationType="query"'),
      s('graphql_envelop_request', '0+30x15', 'operationName="Stats",operationType="query"'),
      s('graphql_envelop_error_result', '0+45x15', 'operationName="ToolByName",operationType="query",phase="execute",path="tool"'),
      s('tool_catalog_db_statements_total', '0+120x15', 'kind="SELECT"'),
      s('tool_catalog_db_statements_total', '0+6x15', 'kind="INSERT"'),
    ],
    promql_expr_test: [
      {
        expr: 'job_operationName:graphql_envelop_request:rate5m',
        eval_time: '10m',
        exp_samples: [
          { labels: 'job_operationName:graphql_envelop_request:rate5m{job="tool-catalog",operationName="ToolByName"}', value: 1 },
          { labels: 'job_operationName:graphql_envelop_request:rate5m{job="tool-catalog",operationName="Stats"}', value: 0.5 },
        ],
      },
      { expr: 'job:graphql_envelop_request:rate5m', eval_time: '10m', exp_samples: [{ labels: 'job:graphql_envelop_request:rate5m{job="tool-catalog"}', value: 1.5 }] },
      { expr: 'job:graphql_envelop_error_result:ratio_rate5m', eval_time: '10m', exp_samples: [{ labels: 'job:graphql_envelop_error_result:ratio_rate5m{job="tool-catalog"}', value: 0.5 }] },
      {
        expr: 'job_operationName_phase:graphql_envelop_error_result:rate5m',
        eval_time: '10m',
        exp_samples: [{ labels: 'job_operationName_phase:graphql_envelop_error_result:rate5m{job="tool-catalog",operationName="ToolByName",phase="execute"}', value: 0.75 }],
      },
      {
        expr: 'job_kind:tool_catalog_db_statements:rate5m',
        eval_time: '10m',
        exp_samples: [
          { labels: 'job_kind:tool_catalog_db_statements:rate5m{job="tool-catalog",kind="SELECT"}', value: 2 },
          { labels: 'job_kind:tool_catalog_db_statements:rate5m{job="tool-catalog",kind="INSERT"}', value: 0.1 },
        ],
      },
      { expr: 'job:tool_catalog_db_statements:rate5m', eval_time: '10m', exp_samples: [{ labels: 'job:tool_catalog_db_statements:rate5m{job="tool-catalog"}', value: 2.1 }] },
    ],
  },
  {
    name: 'error ratio is 0, not absent, before the first error',
    input_series: [s('graphql_envelop_request', '0+60x15', 'operationName="ToolByName",operationType="query"')],
    promql_expr_test: [{ expr: 'job:graphql_envelop_error_result:ratio_rate5m', eval_time: '10m', exp_samples: [{ labels: 'job:graphql_envelop_error_result:ratio_rate5m{job="tool-catalog"}', value: 0 }] }],
  },
  {
    name: 'p95 latency is recorded per operation and per job',
    input_series: [
      s('graphql_yoga_http_duration_bucket', '0+0x15', http('ToolByName', 'le="0.005"')),
      s('graphql_yoga_http_duration_bucket', '0+60x15', http('ToolByName', 'le="0.01"')),
      s('graphql_yoga_http_duration_bucket', '0+60x15', http('ToolByName', 'le="+Inf"')),
    ],
    promql_expr_test: [
      // Linear interpolation inside the (0.005, 0.01] bucket: 0.005 + 0.005 * 0.95.
      { expr: 'job_operationName:graphql_yoga_http_duration:p95_5m', eval_time: '10m', exp_samples: [{ labels: 'job_operationName:graphql_yoga_http_duration:p95_5m{job="tool-catalog",operationName="ToolByName"}', value: 0.00975 }] },
      { expr: 'job:graphql_yoga_http_duration:p95_5m', eval_time: '10m', exp_samples: [{ labels: 'job:graphql_yoga_http_duration:p95_5m{job="tool-catalog"}', value: 0.00975 }] },
    ],
  },
  {
    name: 'errors by code, the SLO error ratio and pool utilisation are recorded',
    input_series: [
      s('tool_catalog_graphql_errors_total', '0+6x15', 'code="INTERNAL_SERVER_ERROR"'),
      s('tool_catalog_graphql_errors_total', '0+30x15', 'code="BAD_USER_INPUT"'),
      s('graphql_yoga_http_duration_count', '0+600x15', http('ToolByName')),
      s('tool_catalog_db_pool_connections', '3x15', 'state="in_use"'),
      s('tool_catalog_db_pool_connections', '7x15', 'state="idle"'),
      s('tool_catalog_db_pool_max_connections', '10x15'),
    ],
    promql_expr_test: [
      {
        expr: 'job_code:tool_catalog_graphql_errors:rate5m',
        eval_time: '10m',
        exp_samples: [
          { labels: 'job_code:tool_catalog_graphql_errors:rate5m{job="tool-catalog",code="INTERNAL_SERVER_ERROR"}', value: 0.1 },
          { labels: 'job_code:tool_catalog_graphql_errors:rate5m{job="tool-catalog",code="BAD_USER_INPUT"}', value: 0.5 },
        ],
      },
      // 6 internal errors in 600 requests a minute; user errors do not spend the budget.
      { expr: 'job:tool_catalog_slo_errors:ratio_rate5m', eval_time: '10m', exp_samples: [{ labels: 'job:tool_catalog_slo_errors:ratio_rate5m{job="tool-catalog"}', value: 0.01 }] },
      { expr: 'job_instance:tool_catalog_db_pool_utilisation:ratio', eval_time: '10m', exp_samples: [{ labels: 'job_instance:tool_catalog_db_pool_utilisation:ratio{job="tool-catalog",instance="127.0.0.1:4000"}', value: 0.3 }] },
    ],
  },
];

const latencyBuckets = (operationName: string, counts: Record<string, string>) =>
  Object.entries(counts).map(([le, values]) => s('graphql_yoga_http_duration_bucket', values, http(operationName, `le="${le}"`)));

export const ALERTS: AlertRule[] = [
  // ------------------------------------------------------------------ availability
  {
    alert: 'ToolCatalogDown',
    expr: `up{${J}} == 0`,
    for: '2m',
    severity: 'critical',
    summary: 'Tool Catalog target {{ $labels.instance }} is down',
    description:
      'Prometheus has failed to scrape {{ $labels.instance }} (job {{ $labels.job }}) for more than 2 minutes. The process is not running or /metrics does not answer.',
    fires: { story: 'after 2 minutes of failed scrapes', series: [{ series: 'up{job="tool-catalog",instance="127.0.0.1:4000"}', values: '1 1 1 0 0 0 0 0 0 0' }], at: '6m', notYetAt: '4m', labels: instanceLabels },
    quiet: { story: 'while the target is up', series: [{ series: 'up{job="tool-catalog",instance="127.0.0.1:4000"}', values: '1x20' }], at: '20m' },
  },
  {
    alert: 'ToolCatalogRestartingOften',
    expr: `changes(process_start_time_seconds{${J}}[1h]) > 3`,
    severity: 'warning',
    summary: 'Tool Catalog {{ $labels.instance }} restarted {{ $value }} times in an hour',
    description:
      'The process behind {{ $labels.instance }} (job {{ $labels.job }}) started more than 3 times in the last hour: it is crashing or being killed (out of memory, failed health checks). Look at the service log and the exit reason.',
    fires: {
      story: 'after 4 restarts in an hour',
      series: [s('process_start_time_seconds', '1000 1000 1300 1300 1600 1600 1900 1900 2200 2200')],
      at: '9m',
      value: '4',
      labels: { ...instanceLabels, service: 'tool-catalog' },
    },
    quiet: { story: 'after one restart', series: [s('process_start_time_seconds', '1000x5 1600x5')], at: '10m' },
  },
  {
    alert: 'ToolCatalogDatabaseUnreachable',
    expr: `tool_catalog_database_up{${J}} == 0`,
    for: '1m',
    severity: 'critical',
    summary: 'Tool Catalog {{ $labels.instance }} cannot reach its database',
    description:
      '{{ $labels.instance }} (job {{ $labels.job }}) has not had an answer from its database within 2 s at any scrape for a minute. Reads that miss the cache and every write fail; /ready answers 503.',
    fires: { story: 'after a minute without answers', series: [s('tool_catalog_database_up', '1 1 0 0 0 0 0')], at: '5m', notYetAt: '2m', labels: { ...instanceLabels, service: 'tool-catalog' } },
    quiet: { story: 'while the database answers', series: [s('tool_catalog_database_up', '1x10')], at: '10m' },
  },
  // ------------------------------------------------------------------ errors and SLO burn
  {
    alert: 'ToolCatalogHighErrorRatio',
    comment: 'Only with at least 0.05 /graphql requests per second (3 per minute), so that a single bad query on an idle instance does not page anyone.',
    expr: `job:graphql_envelop_error_result:ratio_rate5m{${J}} > 0.05
and on (job)
job:graphql_yoga_http_requests:rate5m{${J}} > 0.05`,
    for: '10m',
    severity: 'warning',
    summary: 'Tool Catalog GraphQL error ratio is {{ $value | humanizePercentage }}',
    description:
      'More than 5% of GraphQL operations of job {{ $labels.job }} returned errors over the last 5 minutes, for 10 minutes. See job_operationName_phase:graphql_envelop_error_result:rate5m and job_code:tool_catalog_graphql_errors:rate5m for the operations, phases and codes involved.',
    fires: {
      story: 'at 20% errors with real traffic',
      series: [
        s('graphql_envelop_request', '0+60x30', 'operationName="ToolByName",operationType="query"'),
        s('graphql_yoga_http_duration_count', '0+60x30', http('ToolByName')),
        s('graphql_envelop_error_result', '0+12x30', 'operationName="ToolByName",operationType="query",phase="execute",path="tool"'),
      ],
      at: '20m',
      notYetAt: '5m',
      value: '20%',
      labels: { job: JOB },
    },
    quiet: {
      story: 'below 5% errors',
      series: [
        s('graphql_envelop_request', '0+60x30', 'operationName="ToolByName",operationType="query"'),
        s('graphql_yoga_http_duration_count', '0+60x30', http('ToolByName')),
        s('graphql_envelop_error_result', '0+1x30', 'operationName="ToolByName",operationType="query",phase="execute",path="tool"'),
      ],
      at: '25m',
    },
  },
  {
    alert: 'ToolCatalogErrorBudgetBurnFast',
    comment: `Multi-window burn rate (SRE workbook): at 14.4 times the budget of a ${SLO_ERROR_BUDGET * 100}% error SLO, 2% of a 30-day budget goes in an hour.`,
    expr: `job:tool_catalog_slo_errors:ratio_rate1h{${J}} > ${14.4 * SLO_ERROR_BUDGET}
and on (job)
job:tool_catalog_slo_errors:ratio_rate5m{${J}} > ${14.4 * SLO_ERROR_BUDGET}`,
    for: '2m',
    severity: 'critical',
    summary: 'Tool Catalog is spending its error budget 14 times too fast ({{ $value | humanizePercentage }} internal errors)',
    description:
      'Over the last hour and the last 5 minutes more than 7.2% of /graphql requests of job {{ $labels.job }} ended in an internal (unexpected) error; the 99.5% availability objective is being spent 14.4 times faster than it may. Look at the service log for the masked errors.',
    fires: {
      story: 'when 10% of requests fail internally',
      series: [s('tool_catalog_graphql_errors_total', '0+60x90', 'code="INTERNAL_SERVER_ERROR"'), s('graphql_yoga_http_duration_count', '0+600x90', http('ToolByName'))],
      at: '80m',
      value: '10%',
      labels: { job: JOB },
    },
    quiet: {
      story: 'at 0.1% internal errors',
      series: [s('tool_catalog_graphql_errors_total', '0+6x90', 'code="INTERNAL_SERVER_ERROR"'), s('graphql_yoga_http_duration_count', '0+6000x90', http('ToolByName'))],
      at: '80m',
    },
  },
  {
    alert: 'ToolCatalogErrorBudgetBurnSlow',
    comment: 'At 6 times the budget, 5% of a 30-day budget goes in 6 hours.',
    expr: `job:tool_catalog_slo_errors:ratio_rate6h{${J}} > ${6 * SLO_ERROR_BUDGET}
and on (job)
job:tool_catalog_slo_errors:ratio_rate30m{${J}} > ${6 * SLO_ERROR_BUDGET}`,
    for: '15m',
    severity: 'warning',
    summary: 'Tool Catalog is spending its error budget 6 times too fast ({{ $value | humanizePercentage }} internal errors)',
    description:
      'Over the last 6 hours and the last 30 minutes more than 3% of /graphql requests of job {{ $labels.job }} ended in an internal (unexpected) error, 6 times what the 99.5% availability objective allows.',
    fires: {
      story: 'when 4% of requests fail internally for hours',
      series: [s('tool_catalog_graphql_errors_total', '0+24x400', 'code="INTERNAL_SERVER_ERROR"'), s('graphql_yoga_http_duration_count', '0+600x400', http('ToolByName'))],
      at: '380m',
      value: '4%',
      labels: { job: JOB },
    },
    quiet: {
      story: 'at 1% internal errors',
      series: [s('tool_catalog_graphql_errors_total', '0+6x400', 'code="INTERNAL_SERVER_ERROR"'), s('graphql_yoga_http_duration_count', '0+600x400', http('ToolByName'))],
      at: '380m',
    },
  },
  {
    alert: 'ToolCatalogAuthFailures',
    expr: `sum by (job) (rate(tool_catalog_graphql_errors_total{${J},code=~"UNAUTHENTICATED|FORBIDDEN"}[10m])) > 0.1`,
    for: '10m',
    severity: 'info',
    summary: 'Tool Catalog refuses {{ $value | printf "%.2f" }} requests per second for missing or wrong keys',
    description:
      'Job {{ $labels.job }} answered more than one request in ten seconds with UNAUTHENTICATED or FORBIDDEN for 10 minutes: a client runs with a revoked or mistyped key, or someone is guessing keys.',
    fires: { story: 'at 0.5 refusals per second', series: [s('tool_catalog_graphql_errors_total', '0+30x40', 'code="UNAUTHENTICATED"')], at: '30m', value: '0.50', labels: { job: JOB } },
    quiet: { story: 'at one refusal a minute', series: [s('tool_catalog_graphql_errors_total', '0+1x40', 'code="UNAUTHENTICATED"')], at: '30m' },
  },
  // ------------------------------------------------------------------ latency
  {
    alert: 'ToolCatalogHighLatencyP95',
    expr: `job:graphql_yoga_http_duration:p95_5m{${J}} > 1`,
    for: '10m',
    severity: 'warning',
    summary: 'Tool Catalog p95 GraphQL latency is {{ $value | humanizeDuration }}',
    description:
      'The 95th percentile of /graphql request duration of job {{ $labels.job }} has been above 1s for 10 minutes. See job_operationName:graphql_yoga_http_duration:p95_5m for the slow operations and job:tool_catalog_db_statement_duration_seconds:p95_5m for the database.',
    fires: {
      story: 'when requests take 1-2.5s',
      series: latencyBuckets('ToolsNested', { '0.5': '0+0x30', '1': '0+0x30', '2.5': '0+60x30', '+Inf': '0+60x30' }),
      at: '20m',
      notYetAt: '5m',
      // p95 = 1 + 1.5 * 0.95
      value: '2.425s',
      labels: { job: JOB },
    },
    quiet: { story: 'for fast requests', series: latencyBuckets('ToolByName', { '0.025': '0+50x30', '0.05': '0+60x30', '+Inf': '0+60x30' }), at: '25m' },
  },
  {
    alert: 'ToolCatalogSlowDatabaseStatements',
    expr: `job:tool_catalog_db_statement_duration_seconds:p95_5m{${J}} > 0.5`,
    for: '10m',
    severity: 'warning',
    summary: 'Tool Catalog p95 SQL statement time is {{ $value | humanizeDuration }}',
    description:
      'The 95th percentile of SQL statement duration of job {{ $labels.job }} has been above 0.5 s for 10 minutes: the database is overloaded, a query lost its index, or the embedded database is busy with an import.',
    fires: {
      story: 'when statements take 0.5-1 s',
      series: [
        s('tool_catalog_db_statement_duration_seconds_bucket', '0+0x30', 'le="0.5"'),
        s('tool_catalog_db_statement_duration_seconds_bucket', '0+100x30', 'le="1"'),
        s('tool_catalog_db_statement_duration_seconds_bucket', '0+100x30', 'le="+Inf"'),
      ],
      at: '20m',
      notYetAt: '5m',
      value: '975ms',
      labels: { job: JOB },
    },
    quiet: {
      story: 'for millisecond statements',
      series: [
        s('tool_catalog_db_statement_duration_seconds_bucket', '0+100x30', 'le="0.005"'),
        s('tool_catalog_db_statement_duration_seconds_bucket', '0+100x30', 'le="+Inf"'),
      ],
      at: '25m',
    },
  },
  // ------------------------------------------------------------------ resources and pool
  {
    alert: 'ToolCatalogHighMemory',
    comment: 'The embedded PGlite database runs in-process, so an idle instance already uses about 600 MiB of resident memory.',
    expr: `process_resident_memory_bytes{${J}} > 1.5 * 1024 * 1024 * 1024`,
    for: '15m',
    severity: 'warning',
    summary: 'Tool Catalog {{ $labels.instance }} uses {{ $value | humanize1024 }}B of memory',
    description:
      'Resident memory of {{ $labels.instance }} (job {{ $labels.job }}) has been above 1.5 GiB for 15 minutes. Look for a leak or an oversized embedded database.',
    fires: { story: 'after 15 minutes above 1.5 GiB', series: [s('process_resident_memory_bytes', '2147483648x30')], at: '20m', notYetAt: '10m', value: '2Gi', labels: { ...instanceLabels, service: 'tool-catalog' } },
    quiet: { story: 'at the usual ~600 MiB', series: [s('process_resident_memory_bytes', '629145600x30')], at: '25m' },
  },
  {
    alert: 'ToolCatalogRssSoftLimitCollecting',
    comment: 'Collections of the RSS soft limit are cheap now and then (0.1–0.2 s each); a tenth of the time in them means the limit is below what the instance needs.',
    expr: `sum by (job, instance) (rate(tool_catalog_rss_soft_limit_collection_seconds_total{${J}}[10m])) > 0.1`,
    for: '15m',
    severity: 'warning',
    summary: 'Tool Catalog {{ $labels.instance }} spends {{ $value | humanizePercentage }} of its time in collections of the RSS soft limit',
    description:
      'For 15 minutes {{ $labels.instance }} (job {{ $labels.job }}) has spent more than a tenth of its event loop in full garbage collections run because its RSS was above RSS_SOFT_LIMIT_MB: its live memory needs more than the limit, and every request pays for it.',
    fires: { story: 'at 0.2 s of collection per second', series: [s('tool_catalog_rss_soft_limit_collection_seconds_total', '0+12x40')], at: '35m', notYetAt: '15m', value: '20%', labels: instanceLabels },
    quiet: { story: 'at a 0.15 s collection a minute', series: [s('tool_catalog_rss_soft_limit_collection_seconds_total', '0+0.15x40')], at: '35m' },
  },
  {
    alert: 'ToolCatalogEventLoopLagHigh',
    expr: `nodejs_eventloop_lag_p99_seconds{${J}} > 0.5`,
    for: '10m',
    severity: 'warning',
    summary: 'Tool Catalog {{ $labels.instance }} event loop lags {{ $value | humanizeDuration }} (p99)',
    description:
      'The p99 event-loop delay of {{ $labels.instance }} (job {{ $labels.job }}) has been above 0.5 s for 10 minutes: every request on that instance waits that long before it is even looked at. CPU starvation, a huge response being serialised, or the embedded database working on the main thread.',
    fires: { story: 'at 0.8 s of lag', series: [s('nodejs_eventloop_lag_p99_seconds', '0.8x30')], at: '20m', notYetAt: '5m', value: '800ms', labels: { ...instanceLabels, service: 'tool-catalog' } },
    quiet: { story: 'at 20 ms of lag', series: [s('nodejs_eventloop_lag_p99_seconds', '0.02x30')], at: '25m' },
  },
  {
    alert: 'ToolCatalogFileDescriptorsExhausted',
    expr: `process_open_fds{${J}} / process_max_fds{${J}} > 0.8`,
    for: '10m',
    severity: 'warning',
    summary: 'Tool Catalog {{ $labels.instance }} uses {{ $value | humanizePercentage }} of its file descriptors',
    description:
      '{{ $labels.instance }} (job {{ $labels.job }}) has had more than 80% of its file-descriptor limit open for 10 minutes; at the limit it can accept no connection. Too many clients (subscriptions hold one each), leaked sockets, or a LimitNOFILE too low.',
    fires: { story: 'at 90% of the limit', series: [s('process_open_fds', '900x30'), s('process_max_fds', '1000x30')], at: '20m', value: '90%', labels: { ...instanceLabels, service: 'tool-catalog' } },
    quiet: { story: 'at 5% of the limit', series: [s('process_open_fds', '50x30'), s('process_max_fds', '1000x30')], at: '20m' },
  },
  {
    alert: 'ToolCatalogDbPoolExhausted',
    comment: 'Requests waited for a connection at every scrape for 5 minutes: the pool is too small for the load, or connections are held by slow statements.',
    expr: `min_over_time(tool_catalog_db_pool_waiting_requests{${J}}[5m]) > 0`,
    for: '5m',
    severity: 'warning',
    summary: 'Tool Catalog {{ $labels.instance }} has requests waiting for a database connection',
    description:
      'On {{ $labels.instance }} (job {{ $labels.job }}) requests have been waiting for a free database connection for 10 minutes without a break. Compare tool_catalog_db_pool_connections with tool_catalog_db_pool_max_connections (DB_POOL_MAX) and look for slow statements.',
    fires: { story: 'when requests keep waiting', series: [s('tool_catalog_db_pool_waiting_requests', '0 0 3x30')], at: '20m', notYetAt: '8m', labels: { ...instanceLabels, service: 'tool-catalog' } },
    quiet: { story: 'when waits come and go', series: [s('tool_catalog_db_pool_waiting_requests', '0 2 0 1 0 3 0 0 1 0 0 2 0 0 0 1 0 0 0 0 0')], at: '20m' },
  },
  {
    alert: 'ToolCatalogDbPoolAcquireSlow',
    expr: `job_instance:tool_catalog_db_pool_acquire_duration_seconds:p95_5m{${J}} > 0.5`,
    for: '10m',
    severity: 'warning',
    summary: 'Tool Catalog {{ $labels.instance }} waits {{ $value | humanizeDuration }} for a database connection (p95)',
    description:
      'The 95th percentile wait for a database connection on {{ $labels.instance }} (job {{ $labels.job }}) has been above 0.5 s for 10 minutes. Requests spend that long queueing before their first statement.',
    fires: {
      story: 'when acquisitions take about a second',
      series: [
        s('tool_catalog_db_pool_acquire_duration_seconds_bucket', '0+0x30', 'outcome="ok",le="0.5"'),
        s('tool_catalog_db_pool_acquire_duration_seconds_bucket', '0+60x30', 'outcome="ok",le="1"'),
        s('tool_catalog_db_pool_acquire_duration_seconds_bucket', '0+60x30', 'outcome="ok",le="+Inf"'),
      ],
      at: '20m',
      notYetAt: '5m',
      value: '975ms',
      labels: instanceLabels,
    },
    quiet: {
      story: 'when connections are free',
      series: [
        s('tool_catalog_db_pool_acquire_duration_seconds_bucket', '0+60x30', 'outcome="ok",le="0.001"'),
        s('tool_catalog_db_pool_acquire_duration_seconds_bucket', '0+60x30', 'outcome="ok",le="+Inf"'),
      ],
      at: '25m',
    },
  },
  {
    alert: 'ToolCatalogDbPoolAcquireErrors',
    expr: `sum by (job, instance) (increase(tool_catalog_db_pool_acquire_duration_seconds_count{${J},outcome="error"}[5m])) > 0`,
    for: '2m',
    severity: 'warning',
    summary: 'Tool Catalog {{ $labels.instance }} failed to get {{ $value | printf "%.0f" }} database connections in 5 minutes',
    description:
      '{{ $labels.instance }} (job {{ $labels.job }}) could not get a database connection (refused, or none free within DB_CONNECT_TIMEOUT_MS) for several minutes. Requests needing the database fail.',
    fires: { story: 'when connections keep failing', series: [s('tool_catalog_db_pool_acquire_duration_seconds_count', '0x3 0+5x20', 'outcome="error"')], at: '15m', value: '25', labels: instanceLabels },
    quiet: { story: 'when every acquisition succeeds', series: [s('tool_catalog_db_pool_acquire_duration_seconds_count', '0x20', 'outcome="error"'), s('tool_catalog_db_pool_acquire_duration_seconds_count', '0+100x20', 'outcome="ok"')], at: '15m' },
  },
  // ------------------------------------------------------------------ cache
  {
    alert: 'ToolCatalogCacheHitRatioLow',
    expr: `job_cache:tool_catalog_cache_hit:ratio_rate5m{${J}} < 0.2
and on (job, cache)
sum by (job, cache) (rate(tool_catalog_cache_misses_total{${J}}[5m])) > 1`,
    for: '30m',
    severity: 'info',
    summary: 'Tool Catalog {{ $labels.cache }} cache answers only {{ $value | humanizePercentage }} of lookups',
    description:
      'The {{ $labels.cache }} cache of job {{ $labels.job }} has answered less than 20% of more than one lookup per second for 30 minutes. The catalog changes too often for caching to help (each change empties the cache), or clients send queries that never repeat.',
    fires: {
      story: 'at 10% hits under load',
      series: [s('tool_catalog_cache_hits_total', '0+12x60', 'cache="response"'), s('tool_catalog_cache_misses_total', '0+108x60', 'cache="response"')],
      at: '50m',
      value: '10%',
      labels: { job: JOB, cache: 'response' },
    },
    quiet: {
      story: 'at 75% hits',
      series: [s('tool_catalog_cache_hits_total', '0+90x60', 'cache="response"'), s('tool_catalog_cache_misses_total', '0+30x60', 'cache="response"')],
      at: '50m',
    },
  },
  {
    alert: 'ToolCatalogCacheEvicting',
    expr: `sum by (job, instance, cache) (rate(tool_catalog_cache_evictions_total{${J}}[10m])) > 1`,
    for: '30m',
    severity: 'warning',
    summary: 'Tool Catalog {{ $labels.instance }} evicts {{ $value | printf "%.1f" }} {{ $labels.cache }} cache entries per second',
    description:
      'The {{ $labels.cache }} cache of {{ $labels.instance }} (job {{ $labels.job }}) has been dropping more than one entry per second for 30 minutes to stay within CACHE_MAX_ENTRIES / CACHE_MAX_BYTES: answers that could come from memory are computed again.',
    fires: { story: 'at 2 evictions per second', series: [s('tool_catalog_cache_evictions_total', '0+120x60', 'cache="response"')], at: '50m', value: '2.0', labels: { ...instanceLabels, cache: 'response' } },
    quiet: { story: 'at an eviction a minute', series: [s('tool_catalog_cache_evictions_total', '0+1x60', 'cache="response"')], at: '50m' },
  },
  // ------------------------------------------------------------------ reloads
  {
    alert: 'ToolCatalogReloadFailed',
    comment: 'The counter exists at 0 for every trigger from start-up, so the first failure is an increase.',
    expr: `sum by (job, instance, trigger) (increase(tool_catalog_reloads_total{${J},outcome="failure"}[15m])) > 0`,
    severity: 'warning',
    summary: 'A {{ $labels.trigger }} catalog reload failed on {{ $labels.instance }}',
    description:
      'A catalog reload triggered by {{ $labels.trigger }} on {{ $labels.instance }} (job {{ $labels.job }}) failed in the last 15 minutes. Nothing changed: the catalog is served as before, but the files in CATALOG_DIR are not what is served. The reload history (reloadHistory query) says why.',
    fires: { story: 'after one failed reload', series: [s('tool_catalog_reloads_total', '0x5 1x10', 'trigger="watch",outcome="failure"')], at: '8m', labels: { ...instanceLabels, trigger: 'watch' } },
    quiet: { story: 'when reloads succeed', series: [s('tool_catalog_reloads_total', '0x5 1x10', 'trigger="watch",outcome="success"'), s('tool_catalog_reloads_total', '0x15', 'trigger="watch",outcome="failure"')], at: '8m' },
  },
  {
    alert: 'ToolCatalogReloadSlow',
    expr: `sum by (job, instance) (increase(tool_catalog_reload_duration_seconds_sum{${J}}[1h]))
/
sum by (job, instance) (increase(tool_catalog_reload_duration_seconds_count{${J}}[1h])) > 120`,
    severity: 'warning',
    summary: 'Tool Catalog reloads on {{ $labels.instance }} take {{ $value | humanizeDuration }} on average',
    description:
      'Reloads on {{ $labels.instance }} (job {{ $labels.job }}) took more than 2 minutes on average over the last hour. On the embedded database readers wait for a running import to commit, so a slow reload is slow reads too.',
    fires: {
      story: 'when reloads take 5 minutes',
      series: [s('tool_catalog_reload_duration_seconds_sum', '0x10 300x20'), s('tool_catalog_reload_duration_seconds_count', '0x10 1x20')],
      at: '20m',
      value: '5m 0s',
      labels: instanceLabels,
    },
    quiet: { story: 'when reloads take 3 seconds', series: [s('tool_catalog_reload_duration_seconds_sum', '0x10 3x20'), s('tool_catalog_reload_duration_seconds_count', '0x10 1x20')], at: '20m' },
  },
  // ------------------------------------------------------------------ data consistency
  {
    alert: 'ToolCatalogNoToolsLoaded',
    expr: `sum by (job, instance) (tool_catalog_tools{${J}}) == 0`,
    for: '5m',
    severity: 'critical',
    summary: 'Tool Catalog {{ $labels.instance }} serves an empty catalog',
    description:
      '{{ $labels.instance }} (job {{ $labels.job }}) has had no tool at all (latest, not deleted) for 5 minutes. The pipeline finds nothing to run. A database restored empty, a wrong DATABASE_URL, or every tool deleted.',
    fires: { story: 'with no tools', series: [s('tool_catalog_tools', '0x20', 'status="active"'), s('tool_catalog_tools', '0x20', 'status="deprecated"')], at: '10m', notYetAt: '3m', labels: instanceLabels },
    quiet: { story: 'with tools', series: [s('tool_catalog_tools', '218x20', 'status="active"'), s('tool_catalog_tools', '0x20', 'status="deprecated"')], at: '10m' },
  },
  {
    alert: 'ToolCatalogCatalogShrank',
    expr: `sum by (job, instance) (tool_catalog_tools{${J}})
< 0.8 * max_over_time(sum by (job, instance) (tool_catalog_tools{${J}})[1h:1m])`,
    severity: 'warning',
    summary: 'Tool Catalog on {{ $labels.instance }} lost more than 20% of its tools within an hour ({{ $value }} left)',
    description:
      'The number of tools on {{ $labels.instance }} (job {{ $labels.job }}) dropped below 80% of its highest value in the last hour. Mass deletion, an import from a truncated directory, or a restore of an old backup. The audit log (auditLog query) and the reload history say who and what.',
    fires: { story: 'when 218 tools become 100', series: [s('tool_catalog_tools', '218x10 100x10', 'status="active"')], at: '15m', value: '100', labels: instanceLabels },
    quiet: { story: 'when a few tools are deleted', series: [s('tool_catalog_tools', '218x10 210x10', 'status="active"')], at: '15m' },
  },
  {
    alert: 'ToolCatalogVersionsDiffer',
    expr: `count by (job) (count by (job, version) (tool_catalog_build_info{${J}})) > 1`,
    for: '1h',
    severity: 'info',
    summary: 'Tool Catalog instances of job {{ $labels.job }} run {{ $value }} different versions',
    description:
      'Instances of job {{ $labels.job }} have run different versions of the service for more than an hour: a rolling upgrade stopped half-way. See tool_catalog_build_info.',
    fires: {
      story: 'when a rollout stalls',
      series: [
        { series: 'tool_catalog_build_info{job="tool-catalog",instance="a:4000",version="0.1.0",commit="abc",node="v20.20.2"}', values: '1x90' },
        { series: 'tool_catalog_build_info{job="tool-catalog",instance="b:4000",version="0.2.0",commit="def",node="v20.20.2"}', values: '1x90' },
      ],
      at: '80m',
      value: '2',
      labels: { job: JOB },
    },
    quiet: {
      story: 'when every instance runs one version',
      series: [
        { series: 'tool_catalog_build_info{job="tool-catalog",instance="a:4000",version="0.2.0",commit="def",node="v20.20.2"}', values: '1x90' },
        { series: 'tool_catalog_build_info{job="tool-catalog",instance="b:4000",version="0.2.0",commit="def",node="v20.20.2"}', values: '1x90' },
      ],
      at: '80m',
    },
  },
  // ------------------------------------------------------------------ change listener and subscriptions
  {
    alert: 'ToolCatalogChangeListenerDisconnected',
    expr: `tool_catalog_change_listener_connected{${J}} == 0`,
    for: '2m',
    severity: 'warning',
    summary: 'Tool Catalog {{ $labels.instance }} does not hear catalog changes',
    description:
      'The change listener of {{ $labels.instance }} (job {{ $labels.job }}) has had no PostgreSQL connection for 2 minutes: changes made by other instances or the CLI do not reach its caches or subscribers, so it may serve outdated answers until it reconnects (it retries by itself and then drops its caches).',
    fires: { story: 'after 2 minutes disconnected', series: [s('tool_catalog_change_listener_connected', '1 1 0x10')], at: '6m', notYetAt: '3m', labels: { ...instanceLabels, service: 'tool-catalog' } },
    quiet: { story: 'while connected', series: [s('tool_catalog_change_listener_connected', '1x12')], at: '10m' },
  },
  {
    alert: 'ToolCatalogChangeListenerFlapping',
    expr: `increase(tool_catalog_change_listener_reconnects_total{${J}}[15m]) > 5`,
    severity: 'warning',
    summary: 'Tool Catalog {{ $labels.instance }} change listener reconnected {{ $value | printf "%.0f" }} times in 15 minutes',
    description:
      'The change listener of {{ $labels.instance }} (job {{ $labels.job }}) keeps losing its PostgreSQL connection; every reconnection empties the caches. Look for a proxy or firewall cutting idle connections, or PostgreSQL restarts.',
    fires: { story: 'at a reconnection a minute', series: [s('tool_catalog_change_listener_reconnects_total', '0+1x30')], at: '20m', value: '15', labels: { ...instanceLabels, service: 'tool-catalog' } },
    quiet: { story: 'after one reconnection', series: [s('tool_catalog_change_listener_reconnects_total', '0x10 1x20')], at: '20m' },
  },
  {
    alert: 'ToolCatalogSubscribersDropped',
    comment:
      'A subscriber is dropped when its queue overflows: its client stopped reading, or cannot keep up. One now and then is a client going away; many mean clients keep losing the feed (they must reconnect with `since` and replay) or SUBSCRIPTION_QUEUE_LIMIT is too small.',
    expr: `increase(tool_catalog_event_subscribers_dropped_total{${J}}[15m]) > 10`,
    severity: 'warning',
    summary: 'Tool Catalog dropped {{ $value | humanize }} slow catalogEvents subscribers in 15 minutes',
    description:
      '{{ $labels.instance }} (job {{ $labels.job }}) dropped more than 10 catalogEvents subscribers for falling behind in the last 15 minutes. Check the clients, the network, and SUBSCRIPTION_QUEUE_LIMIT.',
    fires: { story: 'when subscribers keep being dropped', series: [{ series: 'tool_catalog_event_subscribers_dropped_total{job="tool-catalog",instance="127.0.0.1:4000"}', values: '0x4 1x15 1+2x20' }], at: '35m', notYetAt: '15m', value: '28', labels: instanceLabels },
    quiet: { story: 'for one drop', series: [{ series: 'tool_catalog_event_subscribers_dropped_total{job="tool-catalog",instance="127.0.0.1:4000"}', values: '0x4 1x30' }], at: '20m' },
  },
  // ------------------------------------------------------------------ selection and the in-memory catalog
  {
    alert: 'ToolCatalogSelectionEmptyRatioHigh',
    comment: 'Only with at least 0.05 selections per second (3 per minute), so that a few unanswerable requests on an idle instance do not open a ticket.',
    expr: `sum by (job) (rate(tool_catalog_selections_total{${J},outcome="empty"}[15m]))
/
sum by (job) (rate(tool_catalog_selections_total{${J}}[15m])) > 0.5
and on (job)
sum by (job) (rate(tool_catalog_selections_total{${J}}[15m])) > 0.05`,
    for: '15m',
    severity: 'warning',
    summary: 'Tool Catalog finds no candidate for {{ $value | humanizePercentage }} of selections',
    description:
      'More than half of the selectTools answers of job {{ $labels.job }} have had no candidate for 15 minutes: the pipeline finds no tool for its steps. Tools were disabled, deprecated or deleted, a policy limit excludes every pattern, or clients ask for a capability the catalog does not have. tool_catalog_selection_exclusions_total by reason says which.',
    fires: {
      story: 'when 80% of selections are empty',
      series: [s('tool_catalog_selections_total', '0+48x60', 'outcome="empty"'), s('tool_catalog_selections_total', '0+12x60', 'outcome="selected"')],
      at: '40m',
      notYetAt: '10m',
      value: '80%',
      labels: { job: JOB },
    },
    quiet: {
      story: 'when 10% of selections are empty',
      series: [s('tool_catalog_selections_total', '0+6x60', 'outcome="empty"'), s('tool_catalog_selections_total', '0+54x60', 'outcome="selected"')],
      at: '40m',
    },
  },
  {
    alert: 'ToolCatalogSelectionSlow',
    expr: `histogram_quantile(0.95, sum by (job, le) (rate(tool_catalog_selection_duration_seconds_bucket{${J}}[5m]))) > 0.05`,
    for: '10m',
    severity: 'warning',
    summary: 'Tool Catalog p95 selectTools time is {{ $value | humanizeDuration }}',
    description:
      'The 95th percentile of the time to compute one selectTools answer of job {{ $labels.job }} has been above 50 ms for 10 minutes. Selection runs in memory and normally takes well under a millisecond: the event loop is saturated (see nodejs_eventloop_lag_p99_seconds), or a capability has grown to very many patterns.',
    fires: {
      story: 'when selections take 50-100 ms',
      series: [
        s('tool_catalog_selection_duration_seconds_bucket', '0+0x30', 'le="0.05"'),
        s('tool_catalog_selection_duration_seconds_bucket', '0+60x30', 'le="0.1"'),
        s('tool_catalog_selection_duration_seconds_bucket', '0+60x30', 'le="+Inf"'),
      ],
      at: '20m',
      notYetAt: '5m',
      // p95 = 0.05 + 0.05 * 0.95
      value: '97.5ms',
      labels: { job: JOB },
    },
    quiet: {
      story: 'for sub-millisecond selections',
      series: [s('tool_catalog_selection_duration_seconds_bucket', '0+60x30', 'le="0.001"'), s('tool_catalog_selection_duration_seconds_bucket', '0+60x30', 'le="+Inf"')],
      at: '25m',
    },
  },
  {
    alert: 'ToolCatalogSelectionServingStale',
    comment: 'An answer is stale when the database is unreachable or memory could not be confirmed current: one now and then is a hiccup, answers marked stale for 5 minutes are an outage the pipeline is riding through on memory.',
    expr: `sum by (job, instance) (increase(tool_catalog_selection_stale_total{${J}}[10m])) > 0`,
    for: '5m',
    severity: 'warning',
    summary: 'Tool Catalog {{ $labels.instance }} answers selections from a possibly outdated in-memory catalog',
    description:
      '{{ $labels.instance }} (job {{ $labels.job }}) has kept answering selectTools and profiles with stale: true for 5 minutes: its database is unreachable (or memory cannot be confirmed current), so the answers come from the last catalog it held and miss any change made since.',
    fires: { story: 'when stale answers go on', series: [s('tool_catalog_selection_stale_total', '0x5 0+3x20')], at: '15m', notYetAt: '7m', labels: instanceLabels },
    quiet: { story: 'when no answer is stale', series: [s('tool_catalog_selection_stale_total', '0x20')], at: '15m' },
  },
  {
    alert: 'ToolCatalogMemoryCatalogBehind',
    expr: `tool_catalog_catalog_revision{${J}} - tool_catalog_memory_catalog_revision{${J}} > 0`,
    for: '10m',
    severity: 'warning',
    summary: 'The in-memory catalog of {{ $labels.instance }} is {{ $value }} events behind the database',
    description:
      'The in-memory catalog that selectTools and profiles answer from on {{ $labels.instance }} (job {{ $labels.job }}) has been at an older revision than the database for 10 minutes: its rebuilds fail or it no longer hears changes. Its answers miss the latest changes. The service log says why the rebuild fails.',
    fires: {
      story: 'when memory stays 20 events behind',
      series: [s('tool_catalog_catalog_revision', '100x5 120x20'), s('tool_catalog_memory_catalog_revision', '100x25')],
      at: '20m',
      notYetAt: '10m',
      value: '20',
      labels: { ...instanceLabels, service: 'tool-catalog' },
    },
    quiet: { story: 'when memory follows the database', series: [s('tool_catalog_catalog_revision', '100x5 120x20'), s('tool_catalog_memory_catalog_revision', '100x5 120x20')], at: '20m' },
  },
  // ------------------------------------------------------------------ telemetry
  {
    alert: 'ToolCatalogTelemetryRollupLagging',
    comment: 'Roll-ups are compacted every few seconds; every instance on one database reports the same lag, hence max by job.',
    expr: `max by (job) (tool_catalog_telemetry_rollup_lag_seconds{${J}}) > 900`,
    for: '10m',
    severity: 'warning',
    summary: 'Tool Catalog telemetry roll-ups wait {{ $value | humanizeDuration }} for compaction',
    description:
      'The oldest hourly roll-up of reported runs of job {{ $labels.job }} has waited more than 15 minutes for compaction, for 10 minutes: compaction fails or cannot keep up. executionStats and selection estimates still count the waiting rows, but they grow and reads slow down. The service log says why compaction fails.',
    fires: { story: 'when compaction stops', series: [s('tool_catalog_telemetry_rollup_lag_seconds', '0+60x40')], at: '30m', notYetAt: '20m', value: '30m 0s', labels: { job: JOB } },
    quiet: { story: 'when compaction keeps up', series: [s('tool_catalog_telemetry_rollup_lag_seconds', '3x40')], at: '30m' },
  },
  {
    alert: 'ToolCatalogTelemetryRejectedRatioHigh',
    comment: 'Only with at least 0.1 reported runs per second, so that one bad batch from a test client does not open a ticket.',
    expr: `sum by (job) (rate(tool_catalog_executions_reported_total{${J},outcome="rejected"}[15m]))
/
sum by (job) (rate(tool_catalog_executions_reported_total{${J}}[15m])) > 0.1
and on (job)
sum by (job) (rate(tool_catalog_executions_reported_total{${J}}[15m])) > 0.1`,
    for: '15m',
    severity: 'warning',
    summary: 'Tool Catalog rejects {{ $value | humanizePercentage }} of reported runs',
    description:
      'More than 10% of the runs reported to job {{ $labels.job }} (reportExecutions and POST /executions) have been rejected for 15 minutes: a reporter sends runs of unknown tools or patterns, negative durations, or an outdated format. Those runs are lost to executionStats, selection estimates and experiments. The answer of each report names the reason per run.',
    fires: {
      story: 'when a quarter of the runs are rejected',
      series: [s('tool_catalog_executions_reported_total', '0+30x60', 'outcome="rejected",path="graphql"'), s('tool_catalog_executions_reported_total', '0+90x60', 'outcome="accepted",path="graphql"')],
      at: '40m',
      notYetAt: '10m',
      value: '25%',
      labels: { job: JOB },
    },
    quiet: {
      story: 'when a run in 120 is rejected',
      series: [s('tool_catalog_executions_reported_total', '0+1x60', 'outcome="rejected",path="ndjson"'), s('tool_catalog_executions_reported_total', '0+119x60', 'outcome="accepted",path="ndjson"')],
      at: '40m',
    },
  },
  // ------------------------------------------------------------------ experiments
  {
    alert: 'ToolCatalogExperimentSrmAlarm',
    comment: 'Every instance on one database reports the same running experiments, hence max by job.',
    expr: `max by (job) (tool_catalog_experiment_srm_alarms{${J}}) > 0`,
    for: '15m',
    severity: 'warning',
    summary: '{{ $value }} running Tool Catalog experiments show a sample-ratio mismatch',
    description:
      'For 15 minutes, running experiments of job {{ $labels.job }} have had units that do not follow the configured arm weights (chi-square p < 0.001): assignment or reporting is biased, and their results cannot be trusted. The experiments query (`experiments(status: RUNNING) { edges { node { key srm { alarm } } } }`) names which.',
    fires: { story: 'when an experiment keeps its SRM alarm', series: [s('tool_catalog_experiment_srm_alarms', '0x5 1x30')], at: '30m', notYetAt: '15m', value: '1', labels: { job: JOB } },
    quiet: { story: 'without SRM alarm', series: [s('tool_catalog_experiment_srm_alarms', '0x40')], at: '30m' },
  },
];
