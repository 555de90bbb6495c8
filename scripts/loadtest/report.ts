// Turns measurements into the load test's results: a summary per operation, the thresholds it
// crossed, the comparison with the previous run of the same scenario, and the JSON, Markdown and
// SVG files under bench/results/.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Scenario } from '../../loadtest/scenarios/index.js';
import { environmentLine, type RunEnvironment } from '../bench/cli.js';
import { markdownTable, textTable, type Column } from '../bench/tables.js';
import { latencyChart } from './chart.js';
import type { Measurements } from './measure.js';

export interface OperationSummary {
  name: string;
  weight: number;
  responses: number;
  reqPerSec: number;
  /** Milliseconds; null without responses. */
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
  errors: number;
  checks: number;
  checkFailures: number;
  failedChecks: Record<string, number>;
  statuses: Record<string, number>;
}

export interface Comparison {
  file: string;
  startedAt: string;
  /**
   * Per operation: change of req/s and of p95, in percent of the previous run (null when not
   * comparable). Null when no earlier run was made the same way: then `differences` says how the
   * latest earlier run of the scenario was made otherwise, and nothing is compared.
   */
  operations: Array<{ name: string; reqPerSec: number | null; p95: number | null }> | null;
  /** How the run in `file` was made otherwise (rate, connections, database kind); empty when it was made the same way. */
  differences: string[];
}

export interface LoadtestResult {
  scenario: string;
  description: string;
  environment: RunEnvironment;
  database: string;
  target: string;
  selfStarted: boolean;
  options: { rate: number; connections: number; durationS: number; warmupS: number };
  mix: Array<{ name: string; weight: number; share: number }>;
  thresholds: Scenario['thresholds'];
  totals: {
    responses: number;
    reqPerSec: number;
    errors: number;
    errorRate: number;
    checks: number;
    checkFailures: number;
    checkFailureRate: number;
    transportErrors: number;
    timeouts: number;
  };
  operations: OperationSummary[];
  subscribers: Measurements['subscribers'];
  teardownProblems: string[];
  /** p95 per operation per second (ms), for the chart. */
  timeline: Array<{ operation: string; points: Array<[number, number]> }>;
  /** Thresholds crossed that fail the run. */
  breaches: string[];
  /** Latency budgets crossed in a run told not to enforce them (--no-latency-gate): reported only. */
  unenforced: string[];
  previous: Comparison | null;
}

const ms = (micros: number) => Math.round(micros) / 1000;
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

export function summarise(
  scenario: Scenario,
  measurements: Measurements,
  context: { environment: RunEnvironment; database: string; target: string; selfStarted: boolean; options: LoadtestResult['options']; latencyGate?: boolean },
): Omit<LoadtestResult, 'previous'> {
  const totalWeight = scenario.mix.reduce((sum, op) => sum + op.weight, 0);
  const operations: OperationSummary[] = measurements.operations.map((m) => {
    const op = scenario.mix.find((o) => o.name === m.name)!;
    const has = m.responses > 0;
    return {
      name: m.name,
      weight: op.weight,
      responses: m.responses,
      reqPerSec: round(m.responses / measurements.durationS),
      p50: has ? ms(m.histogram.getValueAtPercentile(50)) : null,
      p95: has ? ms(m.histogram.getValueAtPercentile(95)) : null,
      p99: has ? ms(m.histogram.getValueAtPercentile(99)) : null,
      max: has ? ms(m.histogram.maxValue) : null,
      errors: m.errors,
      checks: m.checks,
      checkFailures: m.checkFailures,
      failedChecks: m.failedChecks,
      statuses: m.statuses,
    };
  });
  const responses = operations.reduce((sum, o) => sum + o.responses, 0);
  const transport = measurements.transportErrors + measurements.timeouts;
  const errors = operations.reduce((sum, o) => sum + o.errors, 0) + transport;
  const checks = operations.reduce((sum, o) => sum + o.checks, 0);
  const checkFailures = operations.reduce((sum, o) => sum + o.checkFailures, 0);
  const attempts = responses + transport;
  const totals = {
    responses,
    reqPerSec: round(responses / measurements.durationS),
    errors,
    errorRate: attempts ? errors / attempts : 0,
    checks,
    checkFailures,
    checkFailureRate: checks ? checkFailures / checks : 0,
    transportErrors: measurements.transportErrors,
    timeouts: measurements.timeouts,
  };

  const breaches: string[] = [];
  const t = scenario.thresholds;
  if (responses === 0) breaches.push('no responses at all');
  if (totals.errorRate > t.errorRate) breaches.push(`error rate ${pct(totals.errorRate)} > ${pct(t.errorRate)} (${errors} of ${attempts})`);
  if (totals.checkFailureRate > t.checkFailureRate) {
    breaches.push(`check failure rate ${pct(totals.checkFailureRate)} > ${pct(t.checkFailureRate)} (${checkFailures} of ${checks})`);
  }
  const latency: string[] = [];
  for (const op of operations) {
    const budget = t.latency[op.name];
    if (!budget || op.p95 === null || op.p99 === null) continue;
    if (op.p95 > budget.p95) latency.push(`${op.name} p95 ${msText(op.p95)} ms > ${budget.p95} ms`);
    if (op.p99 > budget.p99) latency.push(`${op.name} p99 ${msText(op.p99)} ms > ${budget.p99} ms`);
  }
  const latencyGate = context.latencyGate ?? true;
  if (latencyGate) breaches.push(...latency);
  for (const s of measurements.subscribers) {
    if (s.error) breaches.push(`subscriber ${s.name}#${s.index} failed: ${s.error}`);
    else if (!s.openAtEnd) breaches.push(`subscriber ${s.name}#${s.index} was closed before the run ended`);
    if (s.events < s.minEvents) breaches.push(`subscriber ${s.name}#${s.index} received ${s.events} event(s), fewer than ${s.minEvents}`);
  }

  return {
    scenario: scenario.name,
    description: scenario.description,
    environment: context.environment,
    database: context.database,
    target: context.target,
    selfStarted: context.selfStarted,
    options: context.options,
    mix: scenario.mix.map((op) => ({ name: op.name, weight: op.weight, share: round((op.weight / totalWeight) * 100) })),
    thresholds: scenario.thresholds,
    totals,
    operations,
    subscribers: measurements.subscribers,
    teardownProblems: measurements.teardownProblems,
    timeline: measurements.operations.map((m) => ({
      operation: m.name,
      points: m.perSecond.flatMap((h, second): Array<[number, number]> => (h ? [[second, ms(h.getValueAtPercentile(95))]] : [])),
    })),
    breaches,
    unenforced: latencyGate ? [] : latency,
  };
}

const pct = (rate: number) => `${round(rate * 100, 2)} %`;
const change = (now: number | null, before: number | null | undefined) =>
  now === null || before === null || before === undefined || before === 0 ? null : round(((now - before) / before) * 100);

/** PGlite or PostgreSQL, from the report's database line (a started service's, or a target's /ready). */
export function databaseKind(database: string | undefined): string {
  if (!database) return 'unknown';
  if (/pglite/i.test(database)) return 'PGlite';
  if (/postgres/i.test(database)) return 'PostgreSQL';
  return 'unknown';
}

const rateText = (rate: number | undefined) => (rate === undefined ? '?' : rate > 0 ? `${rate} req/s` : 'unlimited rate (--rate 0)');

/** How `previous` was made otherwise than `result`: the load (rate, connections) and the database kind. */
function differencesFrom(result: Pick<LoadtestResult, 'options' | 'database'>, previous: Partial<LoadtestResult>): string[] {
  const differences: string[] = [];
  if (previous.options?.rate !== result.options.rate) differences.push(`${rateText(previous.options?.rate)} there, ${rateText(result.options.rate)} here`);
  if (previous.options?.connections !== result.options.connections) {
    differences.push(`${previous.options?.connections ?? '?'} connection(s) there, ${result.options.connections} here`);
  }
  const [before, now] = [databaseKind(previous.database), databaseKind(result.database)];
  if (before !== now) differences.push(`${before} there, ${now} here`);
  return differences;
}

/**
 * The newest earlier result in `dir` of the same scenario made the same way (rate, connections,
 * database kind), compared with this one. When every earlier run was made otherwise, the latest of
 * them with how it differs and no figures: a 50 req/s run says nothing about one as fast as it goes.
 */
export function compareWithPrevious(dir: string, result: Omit<LoadtestResult, 'previous'>, ownFile: string): Comparison | null {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.startsWith(`loadtest-${result.scenario}-`) && f.endsWith('.json') && f !== ownFile);
  } catch {
    return null;
  }
  // Names carry the start time (ISO, sortable): newest first.
  let latest: { file: string; run: LoadtestResult; differences: string[] } | undefined;
  for (const file of files.sort().reverse()) {
    let run: LoadtestResult;
    try {
      run = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as LoadtestResult;
    } catch {
      continue;
    }
    const differences = differencesFrom(result, run);
    latest ??= { file, run, differences };
    if (differences.length) continue;
    return {
      file,
      startedAt: run.environment?.startedAt ?? '?',
      differences: [],
      operations: result.operations.map((op) => {
        const before = run.operations?.find((o) => o.name === op.name);
        return { name: op.name, reqPerSec: change(op.reqPerSec, before?.reqPerSec), p95: change(op.p95, before?.p95) };
      }),
    };
  }
  if (!latest) return null;
  return { file: latest.file, startedAt: latest.run.environment?.startedAt ?? '?', differences: latest.differences, operations: null };
}

/** One sentence on what Δ compares with, or why nothing is compared. */
export function comparisonLine(previous: Comparison | null, code: (file: string) => string = (f) => f): string {
  if (!previous) return 'No previous run of this scenario to compare with.';
  if (previous.operations) return `Δ compares with the previous run of this scenario made the same way, ${code(previous.file)} (${previous.startedAt}).`;
  return (
    `No previous run of this scenario was made the same way (rate, connections, database), so nothing is compared; ` +
    `the latest, ${code(previous.file)} (${previous.startedAt}), differs: ${previous.differences.join('; ')}.`
  );
}

const signed = (value: number | null) => (value === null ? '–' : `${value > 0 ? '+' : ''}${value} %`);
const msText = (value: number | null) => (value === null ? '–' : value.toFixed(value < 10 ? 2 : 1));

function operationColumns(result: LoadtestResult): Array<Column<OperationSummary>> {
  const compared = (op: OperationSummary) => result.previous?.operations?.find((o) => o.name === op.name);
  const columns: Array<Column<OperationSummary>> = [
    { title: 'operation', value: (o) => o.name },
    { title: 'responses', value: (o) => String(o.responses), right: true },
    { title: 'req/s', value: (o) => String(o.reqPerSec), right: true },
    { title: 'p50 ms', value: (o) => msText(o.p50), right: true },
    { title: 'p95 ms', value: (o) => msText(o.p95), right: true },
    { title: 'p99 ms', value: (o) => msText(o.p99), right: true },
    { title: 'errors', value: (o) => String(o.errors), right: true },
    { title: 'failed checks', value: (o) => `${o.checkFailures}/${o.checks}`, right: true },
  ];
  if (result.previous?.operations) {
    columns.push({ title: 'Δ req/s', value: (o) => signed(compared(o)?.reqPerSec ?? null), right: true });
    columns.push({ title: 'Δ p95', value: (o) => signed(compared(o)?.p95 ?? null), right: true });
  }
  return columns;
}

export function textReport(result: LoadtestResult): string {
  const lines = [
    textTable(operationColumns(result), result.operations),
    '',
    `total ${result.totals.responses} responses, ${result.totals.reqPerSec} req/s, ${result.totals.errors} errors (${pct(result.totals.errorRate)}), ` +
      `${result.totals.checkFailures}/${result.totals.checks} checks failed, ${result.totals.transportErrors} socket errors, ${result.totals.timeouts} timeouts`,
  ];
  for (const s of result.subscribers) lines.push(`subscriber ${s.name}#${s.index}: ${s.events} event(s), ${s.error ? `failed: ${s.error}` : s.openAtEnd ? 'open until the end' : 'closed early'}`);
  for (const op of result.operations) for (const [name, count] of Object.entries(op.failedChecks)) lines.push(`  check failed ${count}×: ${op.name}: ${name}`);
  if (result.previous) lines.push(comparisonLine(result.previous));
  if (result.unenforced.length) lines.push(`latency budgets crossed, reported only (--no-latency-gate):\n${result.unenforced.map((b) => `  - ${b}`).join('\n')}`);
  lines.push(result.breaches.length ? `THRESHOLDS CROSSED:\n${result.breaches.map((b) => `  - ${b}`).join('\n')}` : 'all thresholds met');
  return lines.join('\n');
}

export function markdownReport(result: LoadtestResult, chartFile: string): string {
  const t = result.thresholds;
  const thresholdRows = Object.entries(t.latency).map(([name, budget]) => {
    const op = result.operations.find((o) => o.name === name);
    const met = op && op.p95 !== null && op.p99 !== null ? op.p95 <= budget.p95 && op.p99 <= budget.p99 : null;
    return { name, budget, op, met };
  });
  const env = result.environment;
  return [
    `# Load test: ${result.scenario}`,
    '',
    result.description,
    '',
    `- **Machine:** ${env.cpu.model ?? '?'} ×${env.cpu.count}, ${env.memoryGb} GB, ${env.platform}, node ${env.node}`,
    `- **Commit:** ${env.commit ?? 'unknown'}`,
    `- **When:** ${env.startedAt} – ${env.finishedAt}`,
    `- **Database:** ${result.database}`,
    `- **Target:** ${result.target}${result.selfStarted ? ' (started by the runner)' : ''}`,
    `- **Load:** ${result.options.rate > 0 ? `${result.options.rate} req/s` : 'as fast as the connections go'} over ${result.options.connections} connection(s) for ${result.options.durationS} s after ${result.options.warmupS} s of unrecorded warm-up (autocannon)`,
    `- **Result:** ${result.breaches.length ? `**${result.breaches.length} threshold(s) crossed**` : 'all thresholds met'}` +
      (result.unenforced.length ? `; ${result.unenforced.length} latency budget(s) crossed, not enforced in this run` : ''),
    '',
    '## Mix',
    '',
    markdownTable(
      [
        { title: 'operation', value: (m: LoadtestResult['mix'][number]) => m.name },
        { title: 'weight', value: (m) => String(m.weight), right: true },
        { title: 'share', value: (m) => `${m.share} %`, right: true },
      ],
      result.mix,
    ),
    ...(result.subscribers.length ? ['', `Subscribers held open for the whole run: ${result.subscribers.map((s) => `${s.name}#${s.index}`).join(', ')}.`] : []),
    '',
    '## Thresholds',
    '',
    `Errors (unexpected status, GraphQL \`errors\`, socket errors, timeouts) ≤ ${pct(t.errorRate)} of requests: ${pct(result.totals.errorRate)}. ` +
      `Failed checks ≤ ${pct(t.checkFailureRate)}: ${pct(result.totals.checkFailureRate)}.`,
    '',
    markdownTable(
      [
        { title: 'operation', value: (r: (typeof thresholdRows)[number]) => r.name },
        { title: 'p95 budget', value: (r) => `${r.budget.p95} ms`, right: true },
        { title: 'p95', value: (r) => msText(r.op?.p95 ?? null), right: true },
        { title: 'p99 budget', value: (r) => `${r.budget.p99} ms`, right: true },
        { title: 'p99', value: (r) => msText(r.op?.p99 ?? null), right: true },
        { title: 'met', value: (r) => (r.met === null ? '–' : r.met ? 'yes' : '**no**') },
      ],
      thresholdRows,
    ),
    '',
    '## Results',
    '',
    comparisonLine(result.previous, (file) => `\`${file}\``),
    '',
    markdownTable(operationColumns(result), result.operations),
    '',
    `Total: ${result.totals.responses} responses, ${result.totals.reqPerSec} req/s, ${result.totals.errors} errors, ${result.totals.checkFailures} of ${result.totals.checks} checks failed, ` +
      `${result.totals.transportErrors} socket errors, ${result.totals.timeouts} timeouts.`,
    ...result.subscribers.map((s) => `- Subscriber ${s.name}#${s.index}: ${s.events} event(s); ${s.error ? `failed: ${s.error}` : s.openAtEnd ? 'open until the end' : 'closed early'}.`),
    ...result.operations.flatMap((op) => Object.entries(op.failedChecks).map(([name, count]) => `- Check failed ${count}×: ${op.name}: ${name}`)),
    ...(result.breaches.length ? ['', '### Thresholds crossed', '', ...result.breaches.map((b) => `- ${b}`)] : []),
    ...(result.unenforced.length
      ? ['', '### Latency budgets crossed, not enforced in this run (--no-latency-gate)', '', ...result.unenforced.map((b) => `- ${b}`)]
      : []),
    ...(result.teardownProblems.length ? ['', '### Teardown problems', '', ...result.teardownProblems.map((p) => `- ${p}`)] : []),
    '',
    '## Latency over time',
    '',
    `![p95 latency per operation per second](${chartFile})`,
    '',
    `<sub>${environmentLine(env)}</sub>`,
    '',
  ].join('\n');
}

export function chartOf(result: LoadtestResult): string {
  return latencyChart(
    `${result.scenario}: p95 latency per second`,
    result.timeline.map((s) => ({ name: s.operation, points: s.points })),
    result.options.durationS,
  );
}
