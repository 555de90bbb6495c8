// Writes a synthetic tool catalog in the legacy "standard" file shape (see catalog/linux/grep.yaml):
// `<outDir>/<platform>/<name>.yaml`, one tool per file. Deterministic: the same --count and --seed
// give byte-identical files (a seeded PRNG, no Math.random, no clock). Used by bench:import.
//
//   tsx scripts/generate-catalog.ts <outDir> [--count 5000] [--seed 42] [--force]
import { Command, InvalidArgumentError } from 'commander';
import { existsSync, mkdirSync, readdirSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Document } from 'yaml';

export const GENERATED_PLATFORMS = [
  'linux',
  'windows',
  'network',
  'cloud',
  'container',
  'database',
  'monitoring',
  'kubernetes',
] as const;
type Platform = (typeof GENERATED_PLATFORMS)[number];

export interface GenerateOptions {
  outDir: string;
  count?: number;
  seed?: number;
  /** Write into a directory that already has files in it (same-named files are overwritten). */
  force?: boolean;
}

export interface GenerateSummary {
  outDir: string;
  count: number;
  seed: number;
  files: number;
  capabilities: number;
  patterns: number;
  /** Distinct capability names used (drawn from the shared pool). */
  distinctCapabilities: number;
  bytes: number;
  perPlatform: Record<string, number>;
}

export class GenerateError extends Error {
  override name = 'GenerateError';
}

// ---------------------------------------------------------------------------------------------
// Seeded randomness

/** mulberry32: small, fast, good enough for test data, and the same on every machine. */
function prng(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  /** `n` distinct items, in pool order shuffled. */
  const sample = <T>(items: readonly T[], n: number): T[] => {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    }
    return copy.slice(0, Math.min(n, copy.length));
  };
  const chance = (p: number) => next() < p;
  /** A score in [min, max] rounded to two decimals. */
  const score = (min: number, max: number) => Math.round((min + next() * (max - min)) * 100) / 100;
  return { next, int, pick, sample, chance, score };
}
type Rng = ReturnType<typeof prng>;

// ---------------------------------------------------------------------------------------------
// Vocabulary

/** The shared capability pool: tools on every platform draw from it, so names repeat across tools. */
const CAPABILITIES: ReadonlyArray<readonly [name: string, description: string]> = [
  ['text_search', 'Locate lines or records of interest in text sources'],
  ['log_collection', 'Gather log entries from the target for later review'],
  ['log_analysis', 'Summarise and classify log entries to surface problems'],
  ['process_listing', 'List running processes with their resource usage'],
  ['process_control', 'Start, stop or signal processes on the target'],
  ['service_status', 'Report whether services are running and healthy'],
  ['service_control', 'Start, stop or restart managed services'],
  ['disk_usage', 'Measure space used and free on volumes and directories'],
  ['file_transfer', 'Copy files between the operator and the target'],
  ['file_integrity', 'Verify files against known checksums'],
  ['package_inventory', 'List installed packages and their versions'],
  ['user_audit', 'Enumerate accounts, groups and last logins'],
  ['permission_audit', 'Check ownership and access rights against policy'],
  ['network_scan', 'Discover live hosts on a network segment'],
  ['port_probe', 'Check which ports answer on a host'],
  ['dns_lookup', 'Resolve names and inspect DNS records'],
  ['route_trace', 'Trace the network path to a destination'],
  ['latency_measure', 'Measure round-trip time and loss to a destination'],
  ['bandwidth_test', 'Measure achievable throughput between two points'],
  ['packet_capture', 'Capture packets matching a filter for analysis'],
  ['firewall_audit', 'Read firewall rules and flag risky ones'],
  ['certificate_check', 'Inspect TLS certificates and their expiry'],
  ['config_backup', 'Save the running configuration of a device or service'],
  ['config_diff', 'Compare a configuration against a baseline'],
  ['config_apply', 'Push a configuration change to the target'],
  ['inventory_discovery', 'Build an inventory of assets and their attributes'],
  ['asset_tagging', 'Read or set tags on managed assets'],
  ['resource_listing', 'List resources of a given type with key attributes'],
  ['cost_report', 'Report spend broken down by resource and tag'],
  ['snapshot_management', 'Create, list and prune snapshots'],
  ['backup_restore', 'Restore data from a backup set'],
  ['instance_control', 'Start, stop and resize compute instances'],
  ['scaling_control', 'Adjust replica counts or autoscaling bounds'],
  ['container_listing', 'List containers with image, state and uptime'],
  ['container_logs', 'Read the output streams of containers'],
  ['image_scan', 'Scan container images for known vulnerabilities'],
  ['image_build', 'Build an image from a build context'],
  ['registry_query', 'Query an image registry for repositories and tags'],
  ['pod_inspection', 'Describe pods, their events and container states'],
  ['deployment_rollout', 'Roll out, pause or undo a deployment'],
  ['namespace_audit', 'Review quotas, roles and objects in a namespace'],
  ['secret_rotation', 'Rotate credentials and update their consumers'],
  ['metric_query', 'Query time series for a metric over a time range'],
  ['alert_inspection', 'List firing and silenced alerts with their labels'],
  ['dashboard_export', 'Export dashboards as portable definitions'],
  ['trace_lookup', 'Find distributed traces by id or attribute'],
  ['uptime_check', 'Probe endpoints from outside and record availability'],
  ['health_probe', 'Run the health endpoint or command of a service'],
  ['query_execution', 'Run a read-only query and return the rows'],
  ['schema_inspection', 'Describe tables, columns and constraints'],
  ['replication_status', 'Report replication lag and replica health'],
  ['index_analysis', 'Find missing, unused or bloated indexes'],
  ['slow_query_report', 'List the slowest statements over a period'],
  ['session_listing', 'List open sessions and what they are running'],
  ['lock_inspection', 'Show blocking and waiting locks'],
  ['vulnerability_scan', 'Check installed software against advisories'],
  ['compliance_check', 'Evaluate settings against a compliance benchmark'],
  ['patch_status', 'Report missing and pending patches'],
  ['event_log_review', 'Read system event logs filtered by level and source'],
  ['performance_sampling', 'Sample CPU, memory and I/O counters over time'],
  ['capacity_forecast', 'Project resource usage forward from history'],
];

type Scope = 'single_item' | 'batch' | 'exhaustive';

/** Pattern templates; a capability takes 1–3 distinct ones. */
const PATTERNS: ReadonlyArray<{ name: string; scope: Scope; description: string; partial?: boolean }> = [
  { name: 'quick_lookup', scope: 'single_item', description: 'Answer for one target with default options' },
  { name: 'single_target_query', scope: 'single_item', description: 'Query one named target with explicit options' },
  { name: 'deep_inspection', scope: 'single_item', description: 'Collect every detail available for one target' },
  { name: 'targeted_fix', scope: 'single_item', description: 'Apply a narrowly scoped change to one target' },
  { name: 'filtered_listing', scope: 'batch', description: 'List the items that match a filter' },
  { name: 'bulk_scan', scope: 'batch', description: 'Run the check over a batch of targets in parallel' },
  { name: 'incremental_poll', scope: 'batch', description: 'Fetch only what changed since the last run' },
  { name: 'batch_export', scope: 'batch', description: 'Export results for a batch of targets to a file' },
  { name: 'sampled_probe', scope: 'batch', description: 'Probe a random sample of targets', partial: true },
  { name: 'comparative_diff', scope: 'batch', description: 'Compare results between two targets or two points in time' },
  { name: 'full_sweep', scope: 'exhaustive', description: 'Walk every target in scope without filtering' },
  { name: 'scheduled_snapshot', scope: 'exhaustive', description: 'Record the complete state for later comparison' },
  { name: 'summary_report', scope: 'exhaustive', description: 'Aggregate everything in scope into a short report', partial: true },
  { name: 'streaming_follow', scope: 'exhaustive', description: 'Follow new events as they arrive until stopped', partial: true },
];

interface InputSpec {
  name: string;
  type: 'string' | 'integer' | 'boolean';
  description: string;
  validation?: string;
  example: string | number | boolean;
  default?: string | number | boolean;
}

/** Identifying inputs per platform (strings). */
const TARGET_INPUTS: Record<Platform, InputSpec[]> = {
  linux: [
    { name: 'host', type: 'string', description: 'Hostname or address of the target machine', validation: '^[A-Za-z0-9.:-]+$', example: 'app-01.internal' },
    { name: 'file_path', type: 'string', description: 'Absolute path of the file to read', validation: '^/.+$', example: '/var/log/syslog' },
    { name: 'directory', type: 'string', description: 'Root directory to work from', validation: '^/.*$', example: '/etc' },
    { name: 'service_name', type: 'string', description: 'Name of the systemd unit', validation: '^[A-Za-z0-9@._-]+$', example: 'nginx.service' },
    { name: 'expression', type: 'string', description: 'Regular expression to match', validation: '^.+$', example: 'ERROR|FATAL' },
  ],
  windows: [
    { name: 'computer_name', type: 'string', description: 'NetBIOS or DNS name of the Windows host', validation: '^[A-Za-z0-9.-]+$', example: 'WS-FIN-042' },
    { name: 'service_name', type: 'string', description: 'Windows service short name', validation: '^[A-Za-z0-9_.-]+$', example: 'Spooler' },
    { name: 'log_name', type: 'string', description: 'Event log to read', validation: '^(Application|System|Security|Setup)$', example: 'System' },
    { name: 'path', type: 'string', description: 'Path on the host', validation: '^[A-Za-z]:\\\\.*$', example: 'C:\\ProgramData' },
    { name: 'username', type: 'string', description: 'Account name, optionally DOMAIN\\user', validation: '^.+$', example: 'CORP\\svc-backup' },
  ],
  network: [
    { name: 'target', type: 'string', description: 'Address, CIDR range or hostname to probe', validation: '^[A-Za-z0-9./:-]+$', example: '10.20.0.0/24' },
    { name: 'device', type: 'string', description: 'Management address of the network device', validation: '^[A-Za-z0-9.:-]+$', example: 'core-sw-01' },
    { name: 'interface', type: 'string', description: 'Interface name on the device', validation: '^.+$', example: 'GigabitEthernet0/1' },
    { name: 'port_range', type: 'string', description: 'Ports to check, e.g. 22,80,443 or 1-1024', validation: '^[0-9,-]+$', example: '22,80,443' },
    { name: 'domain', type: 'string', description: 'DNS name to resolve', validation: '^[A-Za-z0-9.-]+$', example: 'example.com' },
  ],
  cloud: [
    { name: 'region', type: 'string', description: 'Cloud region', validation: '^[a-z0-9-]+$', example: 'eu-west-1' },
    { name: 'account_id', type: 'string', description: 'Account, subscription or project id', validation: '^[A-Za-z0-9-]+$', example: '123456789012' },
    { name: 'resource_id', type: 'string', description: 'Identifier of the resource', validation: '^.+$', example: 'i-0abc123def4567890' },
    { name: 'resource_type', type: 'string', description: 'Kind of resource to act on', validation: '^[a-z_]+$', example: 'instance' },
    { name: 'tag_filter', type: 'string', description: 'Tag filter as key=value', validation: '^[^=]+=.*$', example: 'env=production' },
  ],
  container: [
    { name: 'container_id', type: 'string', description: 'Container id or name', validation: '^[A-Za-z0-9_.-]+$', example: 'web-frontend' },
    { name: 'image', type: 'string', description: 'Image reference with tag or digest', validation: '^.+$', example: 'registry.local/web:1.4.2' },
    { name: 'docker_host', type: 'string', description: 'Engine endpoint', validation: '^(unix|tcp)://.+$', example: 'unix:///var/run/docker.sock' },
    { name: 'label_filter', type: 'string', description: 'Label filter as key=value', validation: '^[^=]+=.*$', example: 'tier=frontend' },
  ],
  database: [
    { name: 'connection_string', type: 'string', description: 'Connection string for the database server', validation: '^[a-z]+://.+$', example: 'postgresql://reports@db-01/sales' },
    { name: 'database_name', type: 'string', description: 'Database to work in', validation: '^[A-Za-z0-9_]+$', example: 'sales' },
    { name: 'table_name', type: 'string', description: 'Table, optionally schema-qualified', validation: '^[A-Za-z0-9_.]+$', example: 'public.orders' },
    { name: 'query', type: 'string', description: 'Read-only SQL statement', validation: '^(SELECT|WITH|EXPLAIN) .+$', example: 'SELECT count(*) FROM orders' },
  ],
  monitoring: [
    { name: 'metric_name', type: 'string', description: 'Metric or series selector', validation: '^.+$', example: 'node_cpu_seconds_total' },
    { name: 'endpoint', type: 'string', description: 'URL of the monitoring API', validation: '^https?://.+$', example: 'https://prometheus.internal:9090' },
    { name: 'alert_name', type: 'string', description: 'Alert rule name', validation: '^.+$', example: 'HighErrorRate' },
    { name: 'service_name', type: 'string', description: 'Service the signal belongs to', validation: '^.+$', example: 'checkout' },
  ],
  kubernetes: [
    { name: 'namespace', type: 'string', description: 'Kubernetes namespace', validation: '^[a-z0-9-]+$', example: 'payments' },
    { name: 'context', type: 'string', description: 'kubeconfig context of the cluster', validation: '^.+$', example: 'prod-eu' },
    { name: 'resource_name', type: 'string', description: 'Name of the object', validation: '^[a-z0-9.-]+$', example: 'api-gateway' },
    { name: 'label_selector', type: 'string', description: 'Label selector', validation: '^.+$', example: 'app=api,tier=backend' },
  ],
};

/** Numeric inputs the estimate expressions refer to. */
const NUMERIC_INPUTS: InputSpec[] = [
  { name: 'sample_count', type: 'integer', description: 'Number of samples to take', example: 10, default: 5 },
  { name: 'batch_size', type: 'integer', description: 'Items handled per request', example: 100, default: 50 },
  { name: 'max_results', type: 'integer', description: 'Upper bound on items returned', example: 500, default: 100 },
  { name: 'timeout_seconds', type: 'integer', description: 'Give up after this many seconds', example: 30, default: 60 },
  { name: 'lookback_minutes', type: 'integer', description: 'How far back to look', example: 60, default: 15 },
  { name: 'file_size_kb', type: 'integer', description: 'Expected size of the input in kilobytes', example: 2048 },
  { name: 'depth', type: 'integer', description: 'How many levels to descend', example: 3, default: 2 },
  { name: 'concurrency', type: 'integer', description: 'Parallel workers', example: 8, default: 4 },
];

const FLAG_INPUTS: InputSpec[] = [
  { name: 'recursive', type: 'boolean', description: 'Descend into nested items', example: true, default: false },
  { name: 'verbose', type: 'boolean', description: 'Include detail fields in the output', example: false, default: false },
  { name: 'include_archived', type: 'boolean', description: 'Also consider archived items', example: false, default: false },
  { name: 'ignore_case', type: 'boolean', description: 'Match without regard to letter case', example: true, default: false },
];

const OUTPUTS: ReadonlyArray<readonly [string, string, string]> = [
  ['matched_items', 'array', 'Items that satisfied the request'],
  ['summary', 'object', 'Counts and totals for the run'],
  ['status', 'string', 'Overall result: ok, degraded or failed'],
  ['duration_ms', 'integer', 'How long the run took'],
  ['report_path', 'string', 'Where the full report was written'],
  ['findings', 'array', 'Problems found, with severity'],
  ['raw_output', 'string', 'Unparsed output of the underlying command'],
  ['metrics', 'object', 'Measured values keyed by name'],
];

const PLATFORM_STYLE: Record<Platform, { stems: string[]; categories: string[]; location: string[]; source: string }> = {
  linux: { stems: ['lx', 'sys', 'proc', 'fs', 'journal', 'pkg', 'sec', 'perf'], categories: ['system', 'filesystem', 'text-processing', 'process-management', 'security', 'logging'], location: ['remote-agent', 'local'], source: 'local_filesystem' },
  windows: { stems: ['win', 'ps', 'wmi', 'evt', 'ad', 'reg', 'svc', 'wsus'], categories: ['system', 'security', 'logging', 'process-management', 'automation'], location: ['remote-agent', 'automation-service'], source: 'wmi' },
  network: { stems: ['net', 'snmp', 'dns', 'trace', 'scan', 'fw', 'bgp', 'lldp'], categories: ['network', 'security', 'monitoring'], location: ['network-service', 'remote-agent'], source: 'direct' },
  cloud: { stems: ['aws', 'az', 'gcp', 'oci', 'cf', 'tf', 'iam', 'bill'], categories: ['cloud', 'storage', 'security', 'automation'], location: ['automation-service'], source: 'cloud_api' },
  container: { stems: ['docker', 'podman', 'oci', 'ctr', 'img', 'reg', 'compose', 'buildah'], categories: ['container', 'security', 'logging'], location: ['remote-agent', 'automation-service'], source: 'container_runtime' },
  database: { stems: ['pg', 'mysql', 'mongo', 'redis', 'mssql', 'ora', 'sqlite', 'etcd'], categories: ['database', 'monitoring', 'storage'], location: ['automation-service', 'remote-agent'], source: 'database' },
  monitoring: { stems: ['prom', 'graf', 'alert', 'otel', 'zbx', 'nagios', 'loki', 'tempo'], categories: ['monitoring', 'logging'], location: ['automation-service'], source: 'monitoring_api' },
  kubernetes: { stems: ['kube', 'k8s', 'helm', 'kust', 'argo', 'flux', 'ingress', 'crd'], categories: ['container', 'automation', 'monitoring', 'security'], location: ['automation-service', 'remote-agent'], source: 'kubernetes_api' },
};

const VERBS = ['audit', 'check', 'collect', 'describe', 'diff', 'export', 'inspect', 'list', 'probe', 'query', 'report', 'scan', 'sync', 'trace', 'watch', 'tune'];

const USE_CASE_OPENERS = ['investigate', 'confirm', 'document', 'prepare', 'triage', 'verify', 'baseline', 'audit'];
const USE_CASE_SUBJECTS = [
  'an incident on a production host',
  'a change before the maintenance window',
  'a customer report of slowness',
  'drift after a deploy',
  'capacity ahead of a launch',
  'a failed nightly job',
  'an alert that fired overnight',
  'compliance evidence for an audit',
  'a suspected misconfiguration',
  'the state of a new environment',
];
const LIMITATIONS = [
  'Requires read access on the target',
  'Results can lag the real state by up to a minute',
  'Large scopes are paginated and can take several requests',
  'Rate limited by the remote API',
  'Does not follow symbolic links',
  'Output format differs between major versions',
  'Needs elevated privileges for some fields',
  'Not available on legacy targets',
  'Counts are approximate under heavy load',
  'Times out on unreachable targets rather than failing fast',
];
const TAGS = ['inventory', 'troubleshooting', 'security', 'performance', 'compliance', 'observability', 'automation', 'read-only', 'change', 'reporting', 'capacity', 'audit'];

// ---------------------------------------------------------------------------------------------
// Building one tool

function inputEntry(spec: InputSpec, optional: boolean) {
  const entry: Record<string, unknown> = { name: spec.name, type: spec.type, description: spec.description };
  if (spec.validation) entry.validation = spec.validation;
  if (optional && spec.default !== undefined) entry.default = spec.default;
  return entry;
}

/** Estimate expressions over N and the numeric inputs the pattern declares. */
function estimates(rng: Rng, scope: Scope, numeric: string[]) {
  const v = numeric.length ? rng.pick(numeric) : undefined;
  const base = scope === 'single_item' ? rng.pick([20, 50, 100, 250, 500]) : scope === 'batch' ? rng.pick([200, 500, 1000, 2000]) : rng.pick([1000, 2000, 5000, 10000]);
  const per = rng.pick([0.5, 1, 2, 3, 5, 10, 25]);
  const timeForms: string[] = [
    `${base} + ${per} * N`,
    `${base} + N * ${per}`,
    `ceil(N / ${rng.pick([10, 50, 100])}) * ${rng.pick([100, 250, 500])}`,
    `${base} + ${rng.pick([50, 100, 200])} * log2(N + 1)`,
    `max(${base}, ${per} * N)`,
  ];
  if (v) {
    timeForms.push(`${base} + ${per} * N + ${rng.pick([1, 5, 10, 50])} * ${v}`, `${base} + min(N, ${v}) * ${per}`, `${base} + ${v} * ${rng.pick([2, 10, 20])}`);
  }
  const costForms: string[] = ['1', `1 + N / ${rng.pick([100, 1000, 5000])}`, `ceil(N / ${rng.pick([10, 50, 100])})`, `${rng.pick([1, 2, 5])}`];
  if (v) costForms.push(`1 + ${v} / ${rng.pick([10, 100, 1000])}`, `ceil(max(N, ${v}) / ${rng.pick([50, 500])})`);
  return { time: rng.pick(timeForms), cost: rng.pick(costForms) };
}

function buildPattern(rng: Rng, platform: Platform, template: (typeof PATTERNS)[number], capabilityName: string) {
  const targets = TARGET_INPUTS[platform];
  const required = rng.sample(targets, rng.int(1, Math.min(2, targets.length)));
  const requiredNumeric = rng.chance(0.3) ? rng.sample(NUMERIC_INPUTS, 1) : [];
  const optionalNumeric = rng.sample(
    NUMERIC_INPUTS.filter((n) => !requiredNumeric.includes(n)),
    rng.int(0, 2),
  );
  const optionalFlags = rng.sample(FLAG_INPUTS, rng.int(0, 1));
  const requiredInputs = [...required, ...requiredNumeric];
  const optionalInputs = [...optionalNumeric, ...optionalFlags];
  const { time, cost } = estimates(rng, template.scope, [...requiredNumeric, ...optionalNumeric].map((n) => n.name));
  const complexity = template.scope === 'single_item' ? rng.score(0.05, 0.45) : template.scope === 'batch' ? rng.score(0.25, 0.75) : rng.score(0.4, 1);
  const completeness = template.partial || rng.chance(0.15) ? 'partial' : 'complete';
  const changes = template.name === 'targeted_fix' || /_(control|apply|rotation|rollout|restore)$/.test(capabilityName);
  const exampleInputs = Object.fromEntries(requiredInputs.map((i) => [i.name, i.example]));
  return {
    description: `${template.description} (${capabilityName.replace(/_/g, ' ')}).`,
    typical_use_cases: rng.sample(USE_CASE_SUBJECTS, rng.int(2, 4)).map((subject) => `${rng.pick(USE_CASE_OPENERS)} ${subject}`),
    time_estimate_ms: time,
    cost_estimate: cost,
    complexity_score: complexity,
    scope: template.scope,
    completeness,
    limitations: rng.sample(LIMITATIONS, rng.int(1, 3)),
    policy: {
      max_cost: rng.pick([5, 10, 20, 50, 100]),
      requires_approval: changes,
      production_safe: !changes || rng.chance(0.3),
      max_execution_time: template.scope === 'single_item' ? rng.pick([30, 60, 120]) : rng.pick([300, 600, 1800]),
    },
    preference_match: {
      speed: template.scope === 'single_item' ? rng.score(0.7, 0.98) : rng.score(0.3, 0.8),
      accuracy: rng.score(0.6, 0.98),
      cost: rng.score(0.5, 0.98),
      complexity: Math.round((1 - complexity) * 100) / 100,
      completeness: completeness === 'complete' ? rng.score(0.75, 0.98) : rng.score(0.3, 0.7),
    },
    required_inputs: requiredInputs.map((i) => inputEntry(i, false)),
    ...(optionalInputs.length ? { optional_inputs: optionalInputs.map((i) => inputEntry(i, true)) } : {}),
    expected_outputs: rng.sample(OUTPUTS, rng.int(1, 3)).map(([name, type, description]) => ({ name, type, description })),
    ...(rng.chance(0.4)
      ? { examples: [{ name: `${template.name.replace(/_/g, ' ')} example`, inputs: exampleInputs, expected_time_ms: rng.int(50, 5000) }] }
      : {}),
  };
}

interface BuiltTool {
  platform: Platform;
  name: string;
  doc: Record<string, unknown>;
  capabilityNames: string[];
  patterns: number;
}

function buildTool(rng: Rng, index: number, platform: Platform, name: string): BuiltTool {
  const style = PLATFORM_STYLE[platform];
  const capabilityPicks = rng.sample(CAPABILITIES, rng.int(1, 4));
  const capabilities: Record<string, unknown> = {};
  let patternCount = 0;
  let firstExample: { pattern: string; inputs: Record<string, unknown> } | undefined;
  for (const [capabilityName, capabilityDescription] of capabilityPicks) {
    const patterns: Record<string, unknown> = {};
    for (const template of rng.sample(PATTERNS, rng.int(1, 3))) {
      const pattern = buildPattern(rng, platform, template, capabilityName);
      patterns[template.name] = pattern;
      patternCount++;
      firstExample ??= {
        pattern: template.name,
        inputs: Object.fromEntries(
          (pattern.required_inputs as Array<{ name: string }>).map((i) => [
            i.name,
            [...TARGET_INPUTS[platform], ...NUMERIC_INPUTS].find((s) => s.name === i.name)!.example,
          ]),
        ),
      };
    }
    capabilities[capabilityName] = { description: `${capabilityDescription}.`, patterns };
  }
  const category = rng.pick(style.categories);
  const title = name.replace(/-\d+$/, '').replace(/-/g, ' ');
  const description = `${title[0]!.toUpperCase()}${title.slice(1)}: ${capabilityPicks.map(([n]) => n.replace(/_/g, ' ')).join(', ')} for ${platform} targets.`;
  const doc: Record<string, unknown> = {
    tool_name: name,
    version: `${rng.int(1, 4)}.${rng.int(0, 12)}.${rng.int(0, 20)}`,
    description,
    platform,
    category,
    execution_location: rng.pick(style.location),
    defaults: {
      accuracy_level: rng.pick(['real-time', 'near-real-time', 'cached']),
      freshness: rng.pick(['live', 'recent', 'daily']),
      data_source: style.source,
    },
    capabilities,
    metadata: {
      author: 'Synthetic catalog generator',
      tags: [platform, category, ...rng.sample(TAGS, rng.int(1, 3))].filter((t, i, all) => all.indexOf(t) === i),
      documentation_url: `https://docs.example.com/tools/${platform}/${name}`,
      generated_index: index,
    },
    examples: [
      {
        name: `Run ${name} (${firstExample!.pattern.replace(/_/g, ' ')})`,
        description: `Typical invocation of ${name}`,
        inputs: firstExample!.inputs,
        expected_time_ms: rng.int(50, 10_000),
        expected_cost: rng.int(1, 5),
      },
    ],
  };
  if (rng.chance(0.25)) doc.dependencies = rng.sample(['openssh-client', 'python3', 'jq', 'curl', 'powershell', 'kubectl', 'awscli'], rng.int(1, 2));
  return { platform, name, doc, capabilityNames: capabilityPicks.map(([n]) => n), patterns: patternCount };
}

/** The tools of a catalog, in order, without touching the disk. */
export function* generateTools(count: number, seed: number): Generator<BuiltTool> {
  const rng = prng(seed);
  const used = new Map<string, number>();
  for (let index = 0; index < count; index++) {
    const platform = rng.pick(GENERATED_PLATFORMS);
    const base = `${rng.pick(PLATFORM_STYLE[platform].stems)}-${rng.pick(VERBS)}`;
    // Unique per platform directory (name + platform is a tool's identity); suffix repeats.
    const key = `${platform}/${base}`;
    const seen = (used.get(key) ?? 0) + 1;
    used.set(key, seen);
    const name = seen === 1 ? base : `${base}-${seen}`;
    yield buildTool(rng, index, platform, name);
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

function toYaml(tool: BuiltTool): string {
  const document = new Document(tool.doc);
  document.commentBefore = ` ${tool.name} - ${String(tool.doc.description)}`;
  return document.toString({ lineWidth: 0 });
}

function isNonEmptyDirectory(dir: string): boolean {
  return existsSync(dir) && readdirSync(dir).length > 0;
}

/** Writes the catalog; throws GenerateError for a non-empty directory without `force`. */
export function generateCatalog(options: GenerateOptions): GenerateSummary {
  const count = options.count ?? 5000;
  const seed = options.seed ?? 42;
  if (!Number.isInteger(count) || count < 1) throw new GenerateError(`--count must be a positive integer, got ${count}`);
  if (!Number.isInteger(seed)) throw new GenerateError(`--seed must be an integer, got ${seed}`);
  const outDir = path.resolve(options.outDir);
  if (isNonEmptyDirectory(outDir) && !options.force) {
    throw new GenerateError(`${outDir} is not empty; refusing to write into it (use --force to write anyway)`);
  }
  mkdirSync(outDir, { recursive: true });
  const summary: GenerateSummary = { outDir, count, seed, files: 0, capabilities: 0, patterns: 0, distinctCapabilities: 0, bytes: 0, perPlatform: {} };
  const capabilityNames = new Set<string>();
  const madeDirs = new Set<string>();
  for (const tool of generateTools(count, seed)) {
    const dir = path.join(outDir, tool.platform);
    if (!madeDirs.has(dir)) {
      mkdirSync(dir, { recursive: true });
      madeDirs.add(dir);
    }
    const text = toYaml(tool);
    writeFileSync(path.join(dir, `${tool.name}.yaml`), text);
    summary.files++;
    summary.capabilities += tool.capabilityNames.length;
    summary.patterns += tool.patterns;
    summary.bytes += Buffer.byteLength(text);
    summary.perPlatform[tool.platform] = (summary.perPlatform[tool.platform] ?? 0) + 1;
    for (const name of tool.capabilityNames) capabilityNames.add(name);
  }
  summary.distinctCapabilities = capabilityNames.size;
  return summary;
}

export function formatSummary(summary: GenerateSummary): string {
  const platforms = Object.entries(summary.perPlatform)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([p, n]) => `${p} ${n}`)
    .join(', ');
  return [
    `wrote ${summary.files} files to ${summary.outDir} (seed ${summary.seed})`,
    `  capabilities: ${summary.capabilities} (${summary.distinctCapabilities} distinct names)`,
    `  patterns:     ${summary.patterns}`,
    `  bytes:        ${summary.bytes} (${(summary.bytes / 1024 / 1024).toFixed(2)} MiB)`,
    `  platforms:    ${platforms}`,
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Command line (only when run directly, not when imported by bench-import.ts)

function integer(name: string) {
  return (value: string) => {
    if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be an integer.`);
    return Number(value);
  };
}

function isMain(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  const program = new Command()
    .name('generate-catalog')
    .description('Write a deterministic synthetic tool catalog in the legacy standard YAML shape')
    .argument('<outDir>', 'directory to write <platform>/<name>.yaml files into')
    .option('--count <n>', 'number of tools', integer('--count'), 5000)
    .option('--seed <n>', 'PRNG seed', integer('--seed'), 42)
    .option('--force', 'write into a non-empty directory (same-named files are overwritten, others kept)', false)
    .action((outDir: string, opts: { count: number; seed: number; force: boolean }) => {
      try {
        const summary = generateCatalog({ outDir, count: opts.count, seed: opts.seed, force: opts.force });
        console.log(formatSummary(summary));
      } catch (error) {
        console.error(`generate-catalog: ${(error as Error).message}`);
        process.exitCode = 1;
      }
    });
  program.parse();
}
