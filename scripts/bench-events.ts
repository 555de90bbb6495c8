// Event benchmark of the service: how fast a catalog change reaches subscribers and readers on
// another instance, and how one instance fans a reload out to many subscribers. Prints figures,
// never asserts on time (the "< 1 s" target is reported as held or not).
//
// 1. cross-instance (PostgreSQL only): two service processes A and B on one fresh database. B has
//    one catalogEvents subscriber over WebSocket (graphql-ws) and one over SSE. --rounds times, A
//    toggles `grep`/linux with setToolEnabled; from the moment A's HTTP response arrives (and, as a
//    second figure, from the moment the mutation was sent) the bench times the event's arrival at
//    B's WebSocket subscriber, at B's SSE subscriber, and the first read on B (a new POST each time,
//    polled back to back) that shows the change (enabled: true at the new revision, or null once
//    disabled: `tool(name, platform)` hides a disabled latest version). --warmup rounds run first,
//    unrecorded.
// 2. fan-out (PostgreSQL and/or PGlite): one instance, --subscribers RELOAD_FINISHED subscribers,
//    half WebSocket (one socket each), half SSE (one connection each). Once the
//    tool_catalog_event_subscriptions gauge counts them all, one reloadCatalog(source: DATABASE);
//    per subscriber, the time from sending it to receiving RELOAD_FINISHED. Then every subscriber
//    is closed and the bench times how long the gauge takes to return to 0.
//
// All times are performance.now() in this process, stamped when a response or event is parsed, so
// they include this process's own delay in reading 1,000 streams at once.
//
// Writes bench/results/events-latest.md and bench/results/events-latest.json.
//
//   npm run bench:events [-- --postgres-url postgresql://... --rounds 50 --subscribers 1000 --databases postgres,pglite]
import { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { choiceList, environmentLine, integer, progress, projectRoot, runEnvironment, startLine, type RunEnvironment } from './bench/cli.js';
import { postGraphQL, subscribeSse, subscribeWs, subscriptionGauge, type EventSubscriber, type ReceivedEvent } from './bench/eventClients.js';
import { createBenchDatabase, redact, serverVersion } from './bench/postgres.js';
import { killAllChildren } from './bench/processes.js';
import { startServiceProcess, type ServiceProcess } from './bench/service.js';
import { distribution, type Distribution } from './bench/stats.js';
import { markdownTable, textTable, type Column } from './bench/tables.js';

const RESULTS_DIR = path.join(projectRoot, 'bench', 'results');
const READY_TIMEOUT_MS = 120_000;
/** Per round: how long an event or the new value on B may take before the round counts it as missed. */
const ROUND_TIMEOUT_MS = 10_000;
/** Upper bound of reads per round on B, whatever the time. */
const MAX_POLLS_PER_ROUND = 20_000;
const SUBSCRIBE_TIMEOUT_MS = 20_000;
/** Subscribers opened at once; the rest wait, so the server is not asked for 1,000 handshakes in one go. */
const OPEN_BATCH = 50;
const GAUGE_TIMEOUT_MS = 60_000;
const RELOAD_TIMEOUT_MS = 60_000;
const FANOUT_EVENT_TIMEOUT_MS = 60_000;
const DRAIN_TIMEOUT_MS = 30_000;
/** After every subscriber got its RELOAD_FINISHED, a short wait so that duplicates would show. */
const DUPLICATE_GRACE_MS = 500;
const TARGET_MS = 1_000;

type DbKind = 'postgres' | 'pglite';
type Part = 'cross' | 'fanout';

const TOGGLE_EVENTS = 'subscription { catalogEvents(types: [TOOL_DISABLED, TOOL_ENABLED]) { revision type toolName } }';
const RELOAD_EVENTS = 'subscription { catalogEvents(types: [RELOAD_FINISHED]) { revision type } }';
const READ_GREP = '{ tool(name: "grep", platform: "linux") { enabled revision } }';
const RELOAD = 'mutation { reloadCatalog(source: DATABASE, reason: "bench") { reload { id } } }';
const setEnabled = (enabled: boolean, revision: number) =>
  `mutation { setToolEnabled(name: "grep", platform: "linux", enabled: ${enabled}, revision: ${revision}) { __typename ... on Tool { revision } ... on ConflictError { currentRevision message } ... on Error { message } } }`;

interface CatalogEventData {
  revision: number;
  type: string;
  toolName?: string | null;
}

interface Options {
  rounds: number;
  warmup: number;
  subscribers: number;
  postgresUrl?: string;
  databases?: DbKind[];
  parts: Part[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round2 = (v: number) => Math.round(v * 100) / 100;

/** The service's environment for the bench: an admin key, quiet logs, no watcher, no GraphiQL. */
function serviceEnv(database: Record<string, string>, adminKey: string): Record<string, string> {
  return { ...database, ADMIN_API_KEY: adminKey, LOG_LEVEL: 'warn', CATALOG_WATCH: 'false', GRAPHIQL: 'false' };
}

/** Polls the subscription gauge until `done` holds; bounded by `timeoutMs`. */
async function waitForGauge(base: string, done: (g: { websocket: number; http: number }) => boolean, timeoutMs: number) {
  const started = performance.now();
  let last: { websocket: number; http: number } | null = null;
  let error: string | null = null;
  while (performance.now() - started < timeoutMs) {
    try {
      last = await subscriptionGauge(base);
      error = null;
      if (done(last)) return { ok: true, ms: Math.round(performance.now() - started), last };
    } catch (e) {
      error = (e as Error).message;
    }
    await sleep(50);
  }
  return { ok: false, ms: Math.round(performance.now() - started), last, error };
}

const gaugeText = (g: { websocket: number; http: number } | null) => (g ? `websocket ${g.websocket}, http ${g.http}` : 'never read');

// ---------------------------------------------------------------------------------------------
// Part 1: a change on A, seen on B

interface Timing {
  fromResponseMs: number;
  fromSendMs: number;
}

interface RoundResult {
  round: number;
  warmup: boolean;
  enabled: boolean;
  /** Catalog revision of the event, as received over WebSocket and SSE. */
  eventRevision: { websocket: number | null; sse: number | null };
  mutationMs: number;
  websocket: Timing | null;
  sse: Timing | null;
  read: (Timing & { polls: number }) | null;
  failures: string[];
}

interface ToolState {
  enabled: boolean;
  revision: number;
}

async function readGrep(base: string): Promise<ToolState> {
  const answer = await postGraphQL<{ tool: ToolState | null }>(base, READ_GREP);
  if (!answer.data?.tool) throw new Error(`grep/linux on ${base} reads as ${JSON.stringify(answer.data?.tool ?? null)} (missing or disabled): HTTP ${answer.status} ${JSON.stringify(answer.errors)}`);
  return answer.data.tool;
}

/**
 * Sends setToolEnabled on A. A conflict (someone else changed the tool; should not happen here) is
 * answered by reading again and retrying, at most 3 times.
 */
async function toggle(base: string, adminKey: string, state: ToolState, enabled: boolean) {
  for (let attempt = 1; attempt <= 3; attempt++) {
    const answer = await postGraphQL<{ setToolEnabled: { __typename: string; revision?: number; currentRevision?: number | null; message?: string } | null }>(base, setEnabled(enabled, state.revision), {
      headers: { authorization: `Bearer ${adminKey}` },
    });
    const result = answer.data?.setToolEnabled;
    if (result?.__typename === 'Tool' && typeof result.revision === 'number') return { answer, revision: result.revision };
    if (result?.__typename !== 'ConflictError') throw new Error(`setToolEnabled on A failed: HTTP ${answer.status} ${JSON.stringify(result ?? answer.errors)}`);
    progress(`setToolEnabled conflict (${result.message}); retrying at revision ${result.currentRevision}`);
    // The conflict names the revision now; a read would not, while the tool is disabled (null).
    state.revision = result.currentRevision ?? (await readGrep(base)).revision;
  }
  throw new Error('setToolEnabled on A: 3 conflicts in a row');
}

/**
 * Reads grep on B back to back, each a new POST, until it shows the change; bounded in time and
 * count. `tool(name, platform)` answers null while the latest version is disabled (as the schema
 * documents), so "disabled" is seen as null, and "enabled" as enabled: true at the new revision.
 */
async function pollUntil(base: string, enabled: boolean, revision: number, deadline: number) {
  const shows = (tool: ToolState | null | undefined) => (enabled ? tool?.enabled === true && tool.revision >= revision : tool === null);
  let last = 'no answer';
  let lastError: string | null = null;
  let polls = 0;
  while (polls < MAX_POLLS_PER_ROUND && performance.now() < deadline) {
    polls++;
    try {
      const answer = await postGraphQL<{ tool: ToolState | null }>(base, READ_GREP, { timeoutMs: Math.max(1, deadline - performance.now()) });
      if (answer.status === 200 && !answer.errors && shows(answer.data?.tool)) return { at: answer.receivedAt, polls };
      last = `HTTP ${answer.status} ${JSON.stringify(answer.data ?? answer.errors)}`;
    } catch (error) {
      // The last read usually runs into the deadline; keep the last answer for the report.
      lastError = (error as Error).message;
    }
  }
  const failed = lastError ? `; last failure: ${lastError}` : '';
  throw new Error(`no read on B showed grep ${enabled ? `enabled at revision ${revision}` : 'disabled (null)'} within ${ROUND_TIMEOUT_MS} ms (${polls} reads; last answer: ${last}${failed})`);
}

async function runRound(
  round: number,
  warmup: boolean,
  a: ServiceProcess,
  b: ServiceProcess,
  adminKey: string,
  state: ToolState,
  subscribers: { websocket: EventSubscriber<CatalogEventData>; sse: EventSubscriber<CatalogEventData> },
): Promise<RoundResult> {
  const enabled = !state.enabled;
  const type = enabled ? 'TOOL_ENABLED' : 'TOOL_DISABLED';
  const { answer, revision } = await toggle(a.base, adminKey, state, enabled);
  const { sentAt, receivedAt } = answer;
  state.enabled = enabled;
  state.revision = revision;
  const deadline = receivedAt + ROUND_TIMEOUT_MS;
  // This round's event: the right type, received after the mutation was sent.
  const wanted = (e: ReceivedEvent<CatalogEventData>) => e.at >= sentAt && e.data.type === type && e.data.toolName === 'grep';
  const waitEvent = (s: EventSubscriber<CatalogEventData>) => s.waitFor(wanted, Math.max(1, deadline - performance.now()), `${type} on B over ${s.transport}`);
  const [ws, sse, read] = await Promise.allSettled([waitEvent(subscribers.websocket), waitEvent(subscribers.sse), pollUntil(b.base, enabled, revision, deadline)]);
  const timing = (at: number): Timing => ({ fromResponseMs: round2(at - receivedAt), fromSendMs: round2(at - sentAt) });
  const failures = [ws, sse, read].filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => (r.reason as Error).message);
  return {
    round,
    warmup,
    enabled,
    eventRevision: { websocket: ws.status === 'fulfilled' ? ws.value.data.revision : null, sse: sse.status === 'fulfilled' ? sse.value.data.revision : null },
    mutationMs: round2(receivedAt - sentAt),
    websocket: ws.status === 'fulfilled' ? timing(ws.value.at) : null,
    sse: sse.status === 'fulfilled' ? timing(sse.value.at) : null,
    read: read.status === 'fulfilled' ? { ...timing(read.value.at), polls: read.value.polls } : null,
    failures,
  };
}

/** Events a subscriber received in all, whether their revisions only went up, and repeats. */
function streamIntegrity(subscriber: EventSubscriber<CatalogEventData>, expected: number) {
  const revisions = subscriber.events.map((e) => e.data.revision);
  const increasing = revisions.every((r, i) => i === 0 || r > revisions[i - 1]!);
  return { transport: subscriber.transport, received: revisions.length, expected, increasing, duplicates: revisions.length - new Set(revisions).size };
}

async function crossInstance(serverUrl: string, opts: Options, notes: string[], cleanups: Array<() => Promise<void>>) {
  const database = await createBenchDatabase(serverUrl);
  cleanups.push(database.drop);
  const adminKey = randomBytes(32).toString('base64url');
  const env = serviceEnv({ DATABASE_URL: database.url }, adminKey);
  progress(`cross-instance: database ${database.name}; starting A`);
  // A first: it migrates and seeds the empty database; B then finds it ready.
  const a = await startServiceProcess({ label: 'instance A', env, readyTimeoutMs: READY_TIMEOUT_MS });
  cleanups.push(a.stop);
  progress(`A ready in ${a.startMs} ms at ${a.base}; starting B`);
  const b = await startServiceProcess({ label: 'instance B', env, readyTimeoutMs: READY_TIMEOUT_MS });
  cleanups.push(b.stop);
  progress(`B ready in ${b.startMs} ms at ${b.base}`);
  const subscribers = {
    websocket: await subscribeWs<CatalogEventData>(b.base, TOGGLE_EVENTS, 'catalogEvents', SUBSCRIBE_TIMEOUT_MS),
    sse: await subscribeSse<CatalogEventData>(b.base, TOGGLE_EVENTS, 'catalogEvents', SUBSCRIBE_TIMEOUT_MS),
  };
  try {
    // The subscriptions must be live on B before the first change, or its event is not theirs to get.
    const live = await waitForGauge(b.base, (g) => g.websocket >= 1 && g.http >= 1, GAUGE_TIMEOUT_MS);
    if (!live.ok) throw new Error(`B's subscription gauge did not reach websocket ≥ 1, http ≥ 1 within ${GAUGE_TIMEOUT_MS / 1000} s (last: ${gaugeText(live.last)})`);
    const state = await readGrep(a.base);
    progress(`grep/linux on A: enabled ${state.enabled}, revision ${state.revision}; ${opts.warmup} warm-up + ${opts.rounds} rounds`);
    const rounds: RoundResult[] = [];
    for (let i = 1; i <= opts.warmup + opts.rounds; i++) {
      const warmup = i <= opts.warmup;
      const result = await runRound(warmup ? i : i - opts.warmup, warmup, a, b, adminKey, state, subscribers);
      rounds.push(result);
      for (const failure of result.failures) notes.push(`cross-instance ${warmup ? 'warm-up ' : ''}round ${result.round}: ${failure}`);
      if (i % 10 === 0) progress(`round ${i} of ${opts.warmup + opts.rounds}`);
    }
    await sleep(DUPLICATE_GRACE_MS);
    const integrity = [streamIntegrity(subscribers.websocket, rounds.length), streamIntegrity(subscribers.sse, rounds.length)];
    for (const s of integrity) {
      if (s.received !== s.expected || !s.increasing || s.duplicates) {
        notes.push(`cross-instance ${s.transport} subscriber on B: ${s.received} events for ${s.expected} changes, revisions ${s.increasing ? 'increasing' : 'NOT increasing'}, ${s.duplicates} repeated`);
      }
    }
    for (const s of Object.values(subscribers)) if (s.closed) notes.push(`cross-instance ${s.transport} subscriber on B ended early: ${await s.ended}`);
    return { database: database.name, startMs: { a: a.startMs, b: b.startMs }, rounds, integrity, summary: summarizeRounds(rounds.filter((r) => !r.warmup)) };
  } finally {
    subscribers.websocket.close();
    subscribers.sse.close();
    await b.stop();
    await a.stop();
  }
}

interface SummaryRow {
  measure: string;
  from: 'response' | 'send';
  /** Rounds it was seen in, of all. */
  seen: number;
  rounds: number;
  stats: Distribution;
  /** Every round seen and under TARGET_MS (null: not a target figure). */
  underTarget: boolean | null;
}

function summarizeRounds(rounds: RoundResult[]): SummaryRow[] {
  const measures: Array<[string, (r: RoundResult) => Timing | null]> = [
    ['event at B, WebSocket', (r) => r.websocket],
    ['event at B, SSE', (r) => r.sse],
    ['read on B shows the change', (r) => r.read],
  ];
  const rows: SummaryRow[] = [];
  for (const [measure, pick] of measures) {
    for (const from of ['response', 'send'] as const) {
      const values = rounds.map((r) => pick(r)).map((t) => (t ? (from === 'response' ? t.fromResponseMs : t.fromSendMs) : null));
      const stats = distribution(values);
      rows.push({ measure, from, seen: stats.count, rounds: rounds.length, stats, underTarget: stats.count === rounds.length && (stats.max ?? Infinity) < TARGET_MS });
    }
  }
  const mutation = distribution(rounds.map((r) => r.mutationMs));
  rows.push({ measure: 'setToolEnabled round trip on A', from: 'send', seen: mutation.count, rounds: rounds.length, stats: mutation, underTarget: null });
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Part 2: one reload, many subscribers

interface FanOutResult {
  database: DbKind;
  startMs: number;
  requested: { websocket: number; sse: number };
  opened: { websocket: number; sse: number };
  openFailures: string[];
  openMs: number;
  gaugeBefore: { ok: boolean; ms: number; last: { websocket: number; http: number } | null };
  reloadMutationMs: number;
  reloadId: string | null;
  received: { websocket: number; sse: number };
  /** Subscribers that got more than one RELOAD_FINISHED, and the distinct revisions seen. */
  duplicates: number;
  revisions: number[];
  latency: { all: Distribution; websocket: Distribution; sse: Distribution };
  endedEarly: string[];
  drain: { ok: boolean; ms: number; last: { websocket: number; http: number } | null };
}

/** Opens `count` subscribers of each transport, interleaved, OPEN_BATCH at a time. */
async function openSubscribers(base: string, count: { websocket: number; sse: number }) {
  const plan: Array<'websocket' | 'sse'> = [];
  for (let i = 0; i < Math.max(count.websocket, count.sse); i++) {
    if (i < count.websocket) plan.push('websocket');
    if (i < count.sse) plan.push('sse');
  }
  const opened: Array<EventSubscriber<CatalogEventData>> = [];
  const failures: string[] = [];
  for (let i = 0; i < plan.length; i += OPEN_BATCH) {
    const batch = plan.slice(i, i + OPEN_BATCH).map((transport) =>
      transport === 'websocket'
        ? subscribeWs<CatalogEventData>(base, RELOAD_EVENTS, 'catalogEvents', SUBSCRIBE_TIMEOUT_MS)
        : subscribeSse<CatalogEventData>(base, RELOAD_EVENTS, 'catalogEvents', SUBSCRIBE_TIMEOUT_MS),
    );
    for (const result of await Promise.allSettled(batch)) {
      if (result.status === 'fulfilled') opened.push(result.value);
      else failures.push((result.reason as Error).message);
    }
  }
  return { opened, failures };
}

async function fanOut(kind: DbKind, databaseEnv: Record<string, string>, opts: Options, notes: string[], cleanups: Array<() => Promise<void>>): Promise<FanOutResult> {
  const adminKey = randomBytes(32).toString('base64url');
  const service = await startServiceProcess({ label: `${kind} instance`, env: serviceEnv(databaseEnv, adminKey), readyTimeoutMs: READY_TIMEOUT_MS });
  cleanups.push(service.stop);
  progress(`fan-out ${kind}: ready in ${service.startMs} ms; opening ${opts.subscribers} subscribers`);
  const requested = { websocket: Math.ceil(opts.subscribers / 2), sse: Math.floor(opts.subscribers / 2) };
  const openStart = performance.now();
  const { opened, failures } = await openSubscribers(service.base, requested);
  const openMs = Math.round(performance.now() - openStart);
  try {
    const count = (t: 'websocket' | 'sse') => opened.filter((s) => s.transport === t).length;
    const openedCount = { websocket: count('websocket'), sse: count('sse') };
    if (failures.length) notes.push(`fan-out ${kind}: ${failures.length} subscriber(s) could not be opened, e.g. ${failures[0]}`);
    const gaugeBefore = await waitForGauge(service.base, (g) => g.websocket + g.http >= opened.length, GAUGE_TIMEOUT_MS);
    progress(`fan-out ${kind}: ${opened.length} opened in ${openMs} ms; gauge ${gaugeText(gaugeBefore.last)} after ${gaugeBefore.ms} ms more`);
    if (!gaugeBefore.ok) notes.push(`fan-out ${kind}: gauge did not reach ${opened.length} within ${GAUGE_TIMEOUT_MS / 1000} s (last: ${gaugeText(gaugeBefore.last)}); reloading anyway`);

    const answer = await postGraphQL<{ reloadCatalog: { reload: { id: string } } | null }>(service.base, RELOAD, {
      headers: { authorization: `Bearer ${adminKey}` },
      timeoutMs: RELOAD_TIMEOUT_MS,
    });
    const reloadId = answer.data?.reloadCatalog?.reload.id ?? null;
    if (!reloadId) notes.push(`fan-out ${kind}: reloadCatalog answered HTTP ${answer.status} ${JSON.stringify(answer.errors)}`);
    const isReloadEvent = (e: ReceivedEvent<CatalogEventData>) => e.at >= answer.sentAt && e.data.type === 'RELOAD_FINISHED';
    const deadline = answer.sentAt + FANOUT_EVENT_TIMEOUT_MS;
    const arrivals = await Promise.allSettled(
      opened.map((s) => s.waitFor(isReloadEvent, Math.max(1, deadline - performance.now()), `RELOAD_FINISHED over ${s.transport}`)),
    );
    await sleep(DUPLICATE_GRACE_MS);
    const latencyOf = (t?: 'websocket' | 'sse') =>
      distribution(arrivals.map((r, i) => (r.status === 'fulfilled' && (!t || opened[i]!.transport === t) ? r.value.at - answer.sentAt : null)));
    const received = (t: 'websocket' | 'sse') => arrivals.filter((r, i) => r.status === 'fulfilled' && opened[i]!.transport === t).length;
    const missed = arrivals.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (missed.length) notes.push(`fan-out ${kind}: ${missed.length} subscriber(s) got no RELOAD_FINISHED, e.g. ${(missed[0]!.reason as Error).message}`);
    const reloadEvents = opened.map((s) => s.events.filter(isReloadEvent));
    const duplicates = reloadEvents.filter((events) => events.length > 1).length;
    const revisions = [...new Set(reloadEvents.flat().map((e) => e.data.revision))].sort((x, y) => x - y);
    const endedEarly = await Promise.all(opened.filter((s) => s.closed).map(async (s) => `${s.transport}: ${await s.ended}`));
    if (endedEarly.length) notes.push(`fan-out ${kind}: ${endedEarly.length} subscriber stream(s) ended before we closed them, e.g. ${endedEarly[0]}`);

    // Close every subscriber, then watch the server notice.
    for (const s of opened) s.close();
    const drain = await waitForGauge(service.base, (g) => g.websocket === 0 && g.http === 0, DRAIN_TIMEOUT_MS);
    if (!drain.ok) notes.push(`fan-out ${kind}: gauge not back to 0 within ${DRAIN_TIMEOUT_MS / 1000} s after closing all subscribers (last: ${gaugeText(drain.last)})`);
    progress(`fan-out ${kind}: ${received('websocket') + received('sse')} of ${opened.length} got RELOAD_FINISHED; gauge ${gaugeText(drain.last)} ${drain.ms} ms after closing`);
    return {
      database: kind, startMs: service.startMs, requested, opened: openedCount, openFailures: failures.slice(0, 20), openMs,
      gaugeBefore: { ok: gaugeBefore.ok, ms: gaugeBefore.ms, last: gaugeBefore.last },
      reloadMutationMs: round2(answer.receivedAt - answer.sentAt), reloadId,
      received: { websocket: received('websocket'), sse: received('sse') }, duplicates, revisions,
      latency: { all: latencyOf(), websocket: latencyOf('websocket'), sse: latencyOf('sse') },
      endedEarly: endedEarly.slice(0, 20),
      drain: { ok: drain.ok, ms: drain.ms, last: drain.last },
    };
  } finally {
    for (const s of opened) s.close();
    await service.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Output

const ms = (v: number | null) => (v === null ? '—' : v.toFixed(1));

const SUMMARY_COLUMNS: Array<Column<SummaryRow>> = [
  { title: 'measure', value: (r) => r.measure },
  { title: 'from', value: (r) => (r.from === 'response' ? 'A answered' : 'sent to A') },
  { title: 'seen', value: (r) => `${r.seen}/${r.rounds}`, right: true },
  { title: 'min ms', value: (r) => ms(r.stats.min), right: true },
  { title: 'median ms', value: (r) => ms(r.stats.median), right: true },
  { title: 'p95 ms', value: (r) => ms(r.stats.p95), right: true },
  { title: 'p99 ms', value: (r) => ms(r.stats.p99), right: true },
  { title: 'max ms', value: (r) => ms(r.stats.max), right: true },
  { title: '< 1 s every round', value: (r) => (r.underTarget === null ? '—' : r.underTarget ? 'yes' : 'NO') },
];

interface FanOutRow {
  result: FanOutResult;
  transport: 'all' | 'websocket' | 'sse';
}

const FANOUT_COLUMNS: Array<Column<FanOutRow>> = [
  { title: 'database', value: (r) => r.result.database },
  { title: 'transport', value: (r) => r.transport },
  {
    title: 'received',
    value: ({ result, transport }) => {
      const got = transport === 'all' ? result.received.websocket + result.received.sse : result.received[transport];
      const of = transport === 'all' ? result.requested.websocket + result.requested.sse : result.requested[transport];
      return `${got}/${of}`;
    },
    right: true,
  },
  { title: 'min ms', value: (r) => ms(r.result.latency[r.transport].min), right: true },
  { title: 'p50 ms', value: (r) => ms(r.result.latency[r.transport].median), right: true },
  { title: 'p95 ms', value: (r) => ms(r.result.latency[r.transport].p95), right: true },
  { title: 'p99 ms', value: (r) => ms(r.result.latency[r.transport].p99), right: true },
  { title: 'max ms', value: (r) => ms(r.result.latency[r.transport].max), right: true },
];

const LIFECYCLE_COLUMNS: Array<Column<FanOutResult>> = [
  { title: 'database', value: (r) => r.database },
  { title: 'opened ws/sse', value: (r) => `${r.opened.websocket}/${r.opened.sse}`, right: true },
  { title: 'open ms', value: (r) => String(r.openMs), right: true },
  { title: 'gauge before', value: (r) => gaugeText(r.gaugeBefore.last) },
  { title: 'reload mutation ms', value: (r) => ms(r.reloadMutationMs), right: true },
  { title: 'duplicates', value: (r) => String(r.duplicates), right: true },
  { title: 'gauge → 0 ms', value: (r) => (r.drain.ok ? String(r.drain.ms) : `not within ${r.drain.ms}`), right: true },
  { title: 'gauge after close', value: (r) => gaugeText(r.drain.last) },
];

function fanOutRows(results: FanOutResult[]): FanOutRow[] {
  return results.flatMap((result) => (['all', 'websocket', 'sse'] as const).map((transport) => ({ result, transport })));
}

function targetLine(rows: SummaryRow[], rounds: number): string {
  const targets = rows.filter((r) => r.underTarget !== null);
  const held = targets.every((r) => r.underTarget);
  return `target "< 1 s" (event at B over WebSocket and SSE, and read on B, from A's answer and from sending): ${held ? 'HELD' : 'NOT HELD'} for all ${rounds} rounds`;
}

// ---------------------------------------------------------------------------------------------
// Main

async function main() {
  const program = new Command()
    .name('bench-events')
    .description('Event latency across two instances on one PostgreSQL database, and reload fan-out to many subscribers')
    .option('--postgres-url <url>', 'PostgreSQL server to create fresh databases on (default: $BENCH_DATABASE_URL, then $DATABASE_URL)')
    .option('--rounds <n>', 'recorded changes on A (cross-instance)', integer('--rounds'), 50)
    .option('--warmup <n>', 'unrecorded changes before them', integer('--warmup', 0), 2)
    .option('--subscribers <n>', 'fan-out subscribers, half WebSocket and half SSE', integer('--subscribers', 2), 1000)
    .option('--databases <list>', 'fan-out databases (postgres, pglite; default: both with a PostgreSQL URL, else pglite)', choiceList('--databases', ['postgres', 'pglite'] as const))
    .option('--parts <list>', 'what to run: cross (cross-instance), fanout', choiceList('--parts', ['cross', 'fanout'] as const), ['cross', 'fanout'] as Part[])
    .parse();
  const opts = program.opts<Options>();
  const serverUrl = opts.postgresUrl || process.env.BENCH_DATABASE_URL || process.env.DATABASE_URL || undefined;
  const kinds: DbKind[] = opts.databases ?? (serverUrl ? ['postgres', 'pglite'] : ['pglite']);
  if (kinds.includes('postgres') && !serverUrl) throw new Error('--databases postgres needs --postgres-url, BENCH_DATABASE_URL or DATABASE_URL');

  const started = new Date();
  const pgVersion = serverUrl ? await serverVersion(serverUrl) : null;
  console.log(startLine('bench:events', started));
  console.log(`PostgreSQL: ${serverUrl ? `${redact(serverUrl)} (server ${pgVersion ?? '?'})` : 'none'}  ·  parts ${opts.parts.join(', ')}  ·  fan-out on ${kinds.join(', ')}`);

  const notes: string[] = [];
  const cleanups: Array<() => Promise<void>> = [];
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    killAllChildren();
    for (const fn of cleanups.reverse()) await fn().catch((error: unknown) => console.error(`cleanup: ${(error as Error).message}`));
  };
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`\nbench:events: ${signal}; stopping children and cleaning up`);
    const force = setTimeout(() => process.exit(130), 20_000);
    force.unref();
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    // ---- part 1
    let cross: Awaited<ReturnType<typeof crossInstance>> | null = null;
    let crossFailure: string | null = null;
    if (opts.parts.includes('cross')) {
      if (!serverUrl) notes.push('cross-instance part skipped: it needs PostgreSQL (--postgres-url, BENCH_DATABASE_URL or DATABASE_URL)');
      else {
        try {
          cross = await crossInstance(serverUrl, opts, notes, cleanups);
        } catch (error) {
          crossFailure = (error as Error).message;
          notes.push(`cross-instance part failed: ${crossFailure}`);
        }
      }
    }

    // ---- part 2
    const fanOuts: FanOutResult[] = [];
    if (opts.parts.includes('fanout')) {
      for (const kind of kinds) {
        try {
          if (kind === 'postgres') {
            const database = await createBenchDatabase(serverUrl!);
            cleanups.push(database.drop);
            fanOuts.push(await fanOut(kind, { DATABASE_URL: database.url }, opts, notes, cleanups));
          } else {
            const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tc-bench-events-'));
            cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
            fanOuts.push(await fanOut(kind, { DATA_DIR: dataDir }, opts, notes, cleanups));
          }
        } catch (error) {
          notes.push(`fan-out on ${kind} failed: ${(error as Error).message}`);
        }
      }
    }

    // ---- output
    const recorded = cross ? cross.rounds.filter((r) => !r.warmup) : [];
    const warmups = cross ? cross.rounds.filter((r) => r.warmup) : [];
    const warmupLine = warmups.length
      ? `warm-up rounds (not in the table), ms after A answered: ${warmups.map((r) => `ws ${ms(r.websocket?.fromResponseMs ?? null)} / sse ${ms(r.sse?.fromResponseMs ?? null)} / read ${ms(r.read?.fromResponseMs ?? null)}`).join('; ')}`
      : null;
    const polls = distribution(recorded.map((r) => r.read?.polls ?? null));
    const pollLine = cross ? `reads on B per round until the new value: median ${polls.median ?? '—'}, max ${polls.max ?? '—'}` : null;
    const subscribersLine = `${opts.subscribers} subscribers (${Math.ceil(opts.subscribers / 2)} WebSocket, ${Math.floor(opts.subscribers / 2)} SSE)`;

    console.log('');
    if (cross) {
      console.log(`1. change on A → seen on B (two instances, one PostgreSQL database; ${opts.rounds} rounds)`);
      console.log('');
      console.log(textTable(SUMMARY_COLUMNS, cross.summary));
      console.log('');
      console.log(targetLine(cross.summary, opts.rounds));
      if (pollLine) console.log(pollLine);
      if (warmupLine) console.log(warmupLine);
      console.log(`stream integrity on B: ${cross.integrity.map((s) => `${s.transport} ${s.received}/${s.expected} events, ${s.increasing ? 'in order' : 'OUT OF ORDER'}, ${s.duplicates} repeated`).join('; ')}`);
      console.log('');
    }
    if (fanOuts.length) {
      console.log(`2. one reload → ${subscribersLine} on one instance: time from sending reloadCatalog to RELOAD_FINISHED`);
      console.log('');
      console.log(textTable(FANOUT_COLUMNS, fanOutRows(fanOuts)));
      console.log('');
      console.log(textTable(LIFECYCLE_COLUMNS, fanOuts));
      console.log('');
    }
    for (const note of notes) console.log(`note: ${note}`);

    const result = {
      ...runEnvironment(started),
      postgres: serverUrl ? { url: redact(serverUrl), version: pgVersion } : null,
      settings: {
        rounds: opts.rounds, warmup: opts.warmup, subscribers: opts.subscribers, databases: kinds, parts: opts.parts,
        roundTimeoutMs: ROUND_TIMEOUT_MS, fanOutEventTimeoutMs: FANOUT_EVENT_TIMEOUT_MS, drainTimeoutMs: DRAIN_TIMEOUT_MS, targetMs: TARGET_MS,
        serviceEnv: { LOG_LEVEL: 'warn', CATALOG_WATCH: 'false', GRAPHIQL: 'false', ADMIN_API_KEY: '(random, 43 characters)' },
        queries: { toggleSubscription: TOGGLE_EVENTS, reloadSubscription: RELOAD_EVENTS, read: READ_GREP, reload: RELOAD, toggle: setEnabled(true, 0) },
      },
      crossInstance: cross ? { ...cross, targetHeld: cross.summary.filter((r) => r.underTarget !== null).every((r) => r.underTarget), readPolls: polls } : crossFailure ? { failure: crossFailure } : null,
      fanOut: fanOuts,
      notes,
    };
    mkdirSync(RESULTS_DIR, { recursive: true });
    const jsonPath = path.join(RESULTS_DIR, 'events-latest.json');
    const mdPath = path.join(RESULTS_DIR, 'events-latest.md');
    writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(mdPath, markdownReport({ started, result, cross, fanOuts, notes, opts, extra: [targetLine(cross?.summary ?? [], opts.rounds), pollLine, warmupLine], subscribersLine }));
    console.log('');
    console.log(`wrote ${path.relative(projectRoot, mdPath)} and ${path.relative(projectRoot, jsonPath)}`);
    if (crossFailure || fanOuts.length < (opts.parts.includes('fanout') ? kinds.length : 0)) process.exitCode = 1;
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function markdownReport(input: {
  started: Date;
  result: RunEnvironment & { postgres: { url: string; version: string | null } | null };
  cross: Awaited<ReturnType<typeof crossInstance>> | null;
  fanOuts: FanOutResult[];
  notes: string[];
  opts: Options;
  extra: Array<string | null>;
  subscribersLine: string;
}): string {
  const { started, result, cross, fanOuts, notes, opts } = input;
  const lines = [
    '# Event benchmark',
    '',
    environmentLine(result),
    `PostgreSQL: ${result.postgres ? `${result.postgres.url} (server ${result.postgres.version ?? '?'})` : 'none'}`,
    '',
    'Every service process runs `node dist/src/server.js` (as `npm start`, built first when stale) with LOG_LEVEL=warn, CATALOG_WATCH=false, GRAPHIQL=false and a random admin key, on 127.0.0.1; ' +
      'the bench, the services and PostgreSQL share the machine. Times are taken in the bench process when a response or event is parsed.',
  ];
  if (cross) {
    lines.push(
      '',
      '## Change on A, seen on B',
      '',
      `Two instances on one fresh PostgreSQL database (${cross.database}). B has one \`catalogEvents(types: [TOOL_DISABLED, TOOL_ENABLED])\` subscriber over WebSocket and one over SSE. ` +
        `${opts.rounds} rounds (after ${opts.warmup} unrecorded): A toggles grep/linux with setToolEnabled; the event's arrival at each subscriber on B, and the first read of grep on B (back-to-back POSTs, started when A answered) that shows the change ` +
        '(enabled: true at the new revision; once disabled, `tool(name, platform)` answers null, as the schema documents for a disabled latest version), ' +
        "are timed from A's answer and from sending the mutation. A negative time from A's answer means B had it before A's response was read.",
      '',
      markdownTable(SUMMARY_COLUMNS, cross.summary),
      '',
      ...input.extra.filter((l): l is string => !!l).map((l) => `- ${l}`),
      `- stream integrity on B: ${cross.integrity.map((s) => `${s.transport} ${s.received}/${s.expected} events, ${s.increasing ? 'in order' : 'OUT OF ORDER'}, ${s.duplicates} repeated`).join('; ')}`,
    );
  }
  if (fanOuts.length) {
    lines.push(
      '',
      '## One reload, many subscribers',
      '',
      `One instance per database, ${input.subscribersLine} on \`catalogEvents(types: [RELOAD_FINISHED])\`, opened ${OPEN_BATCH} at a time, each WebSocket subscriber on its own graphql-ws client and socket, each SSE subscriber on its own connection. ` +
        'Once the `tool_catalog_event_subscriptions` gauge counted them all, one `reloadCatalog(source: DATABASE)`; latency is from sending it to each subscriber receiving RELOAD_FINISHED. ' +
        'All the streams are read by the one bench process, so the spread between first and last arrival includes its own work of parsing them. ' +
        'Then every subscriber is closed and /metrics polled until the gauge is 0 for both transports.',
      '',
      markdownTable(FANOUT_COLUMNS, fanOutRows(fanOuts)),
      '',
      markdownTable(LIFECYCLE_COLUMNS, fanOuts),
    );
  }
  if (notes.length) lines.push('', '## Notes', '', ...notes.map((n) => `- ${n}`));
  lines.push('', 'JSON: `bench/results/events-latest.json`', '');
  return lines.join('\n');
}

main().catch((error) => {
  killAllChildren();
  console.error(`bench:events failed: ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 1;
});
