// Runs one shared load scenario (loadtest/scenarios) against a service with autocannon and measures
// it per operation: responses, errors, check failures, and latency as HDR histograms (overall and
// per second, for the chart). autocannon drives the sockets and the rate; each request is built by
// the scenario's operation and judged by its checks.
import { build as buildHistogram, type Histogram } from 'hdr-histogram-js';
import { createRequire } from 'node:module';
import {
  authorisationProblem,
  chooseOperation,
  unavailableReason,
  type LoadRequest,
  type LoadResponse,
  type Operation,
  type Scenario,
  type SetupRequest,
  type SetupStep,
  stepProblem,
  type Subscriber,
} from '../../loadtest/scenarios/index.js';

/** Latencies are recorded in microseconds, 1 µs to 2 minutes, 3 significant digits. */
const HISTOGRAM = { lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 as const };
const newHistogram = (): Histogram => buildHistogram(HISTOGRAM);

export class UnavailableOperationError extends Error {
  override name = 'UnavailableOperationError';
}
export class SetupError extends Error {
  override name = 'SetupError';
}

export interface RunOptions {
  scenario: Scenario;
  /** http://127.0.0.1:port, no trailing slash. */
  baseUrl: string;
  /** Requests per second over all connections; 0 = as fast as the connections go. */
  rate: number;
  connections: number;
  durationS: number;
  /** Seconds of the same load before the measured run, recorded nowhere (JIT, caches, pools). */
  warmupS: number;
  /** Key for operations that need a role (editor, reporter). */
  apiKey?: string;
  runId: string;
  timeoutS: number;
}

export interface OperationMeasurement {
  name: string;
  responses: number;
  /** Unexpected HTTP status or a GraphQL `errors` array. */
  errors: number;
  checks: number;
  checkFailures: number;
  /** How often each named check failed. */
  failedChecks: Record<string, number>;
  statuses: Record<string, number>;
  histogram: Histogram;
  /** One histogram per second of the run (index = second). */
  perSecond: Histogram[];
}

export interface SubscriberMeasurement {
  name: string;
  index: number;
  events: number;
  /** True when the stream was still open when the run ended. */
  openAtEnd: boolean;
  error?: string;
  minEvents: number;
}

export interface Measurements {
  startedAt: Date;
  durationS: number;
  operations: OperationMeasurement[];
  /** Socket errors and timeouts (not tied to one operation: autocannon reports them per connection). */
  transportErrors: number;
  timeouts: number;
  subscribers: SubscriberMeasurement[];
  teardownProblems: string[];
}

function authorised(req: LoadRequest, auth: string | undefined, apiKey: string | undefined): LoadRequest {
  if (!auth) return req;
  return { ...req, headers: { ...req.headers, authorization: `Bearer ${apiKey ?? ''}` } };
}

/** One request outside the load (setup, probe, teardown), with fetch. */
async function sendOnce(baseUrl: string, req: LoadRequest, timeoutS: number): Promise<LoadResponse> {
  let response: Response;
  try {
    response = await fetch(`${baseUrl}${req.path}`, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      signal: AbortSignal.timeout(timeoutS * 1000),
    });
  } catch (error) {
    const cause = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
    throw new SetupError(`cannot reach ${baseUrl}${req.path}: ${cause}`);
  }
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => (headers[name] = value));
  return { status: response.status, headers, body: await response.text() };
}

/** Runs steps in order, each function step seeing the previous response; returns each request with its response. */
async function runSteps(options: RunOptions, steps: SetupStep[]): Promise<Array<{ req: SetupRequest; res: LoadResponse }>> {
  const answered: Array<{ req: SetupRequest; res: LoadResponse }> = [];
  let previous: LoadResponse | null = null;
  for (const step of steps) {
    const req = typeof step === 'function' ? step(previous) : step;
    previous = await sendOnce(options.baseUrl, authorised(req, req.auth, options.apiKey), options.timeoutS);
    answered.push({ req, res: previous });
  }
  return answered;
}

/**
 * Opens a subscription as Server-Sent Events and counts its events until `signal` aborts it.
 * Resolves when the stream ends either way.
 */
async function subscribe(options: RunOptions, subscriber: Subscriber, index: number, signal: AbortSignal, opened: () => void): Promise<SubscriberMeasurement> {
  const result: SubscriberMeasurement = { name: subscriber.name, index, events: 0, openAtEnd: false, minEvents: subscriber.minEvents };
  try {
    const response = await fetch(`${options.baseUrl}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
      },
      body: JSON.stringify({ query: subscriber.query, variables: subscriber.variables ?? {} }),
      signal,
    });
    if (response.status !== 200 || !response.body) throw new Error(`HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`);
    opened();
    const decoder = new TextDecoder();
    let buffer = '';
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const message = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (\S+)/m.exec(message)?.[1];
        const data = /^data: (.*)$/m.exec(message)?.[1];
        if (event === 'next' && data) {
          const payload = JSON.parse(data) as { errors?: unknown };
          if (payload.errors) throw new Error(`event with errors: ${data.slice(0, 200)}`);
          result.events++;
        } else if (event === 'complete') {
          return result;
        }
      }
    }
    return result;
  } catch (error) {
    if (signal.aborted) {
      result.openAtEnd = true;
      return result;
    }
    opened();
    result.error = (error as Error).message;
    return result;
  }
}

/**
 * The second of a `durationS`-second run an answer `elapsedMs` after its start is charted in.
 * autocannon stops sending at `durationS`, but what it sent last is answered a little later: that
 * trailing partial second is folded into the last full one (index durationS - 1), so the per-second
 * series never runs past the run's length (nor past the chart's axis).
 */
export function secondOf(elapsedMs: number, durationS: number): number {
  const last = Math.max(0, Math.ceil(durationS) - 1);
  return Math.min(last, Math.max(0, Math.floor(elapsedMs / 1000)));
}

// autocannon 8 ships no types; only the parts used here.
interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (request: AutocannonRequest, context: Record<string, unknown>) => AutocannonRequest;
  onResponse?: (status: number, body: string, context: Record<string, unknown>, headers: Record<string, string>) => void;
}
interface AutocannonInstance {
  on(event: 'response', listener: (client: unknown, statusCode: number, resBytes: number, responseTime: number) => void): void;
  on(event: 'reqError', listener: (error: Error) => void): void;
  on(event: 'timeout', listener: () => void): void;
}
type Autocannon = (options: Record<string, unknown>, callback: (error: Error | null, result: { duration: number }) => void) => AutocannonInstance;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

/**
 * Setup, a probe of every operation, the load (with the subscribers open), teardown.
 * Throws SetupError or UnavailableOperationError before any load is sent.
 */
export async function runScenario(options: RunOptions): Promise<Measurements> {
  const { scenario } = options;
  let state: unknown = {};
  if (scenario.setup) {
    let responses: LoadResponse[];
    try {
      responses = (await runSteps(options, scenario.setup.requests(options.runId))).map(({ res }) => res);
      state = scenario.setup.state(options.runId, responses);
    } catch (error) {
      throw new SetupError(`setup of scenario ${scenario.name} failed: ${(error as Error).message}`);
    }
  }
  const ctx = { state, runId: options.runId };

  // Each operation once: a service that lacks one is named here rather than measured as errors.
  for (const op of scenario.mix) {
    const req = authorised(op.request(ctx), op.auth, options.apiKey);
    const res = await sendOnce(options.baseUrl, req, options.timeoutS);
    const reason = unavailableReason(res);
    if (reason) {
      throw new UnavailableOperationError(
        `operation ${op.name} is not available on ${options.baseUrl}${op.issue ? ` (it comes from ${op.issue})` : ''}: ${reason}`,
      );
    }
    const refused = authorisationProblem(res);
    if (refused) {
      throw new SetupError(`operation ${op.name} was refused${op.auth ? `: it needs a key with the ${op.auth} role (--api-key or LOADTEST_API_KEY)` : ''}: ${refused}`);
    }
  }

  const operations = new Map<string, OperationMeasurement>(
    scenario.mix.map((op) => [
      op.name,
      { name: op.name, responses: 0, errors: 0, checks: 0, checkFailures: 0, failedChecks: {}, statuses: {}, histogram: newHistogram(), perSecond: [] },
    ]),
  );

  const stopSubscribers = new AbortController();
  const subscriberRuns: Array<Promise<SubscriberMeasurement>> = [];
  const openings: Array<Promise<void>> = [];
  scenario.subscribers.forEach((subscriber) => {
    for (let i = 0; i < subscriber.count; i++) {
      let opened!: () => void;
      openings.push(new Promise<void>((resolve) => (opened = resolve)));
      subscriberRuns.push(subscribe(options, subscriber, i, stopSubscribers.signal, opened));
    }
  });
  // Bounded: a subscriber that neither opens nor fails within the timeout is reported, not waited for.
  await Promise.race([Promise.all(openings), new Promise((resolve) => setTimeout(resolve, options.timeoutS * 1000))]);

  let startedAt = new Date();
  let start = performance.now();
  /** False during the warm-up: responses are judged by nobody and counted nowhere. */
  let recording = true;
  let transportErrors = 0;
  let timeouts = 0;
  // onResponse (the body, with its request's context) and 'response' (the timing) fire one right
  // after the other, synchronously, for the same connection: the first leaves the operation here.
  let answered: { op: OperationMeasurement; failed: boolean } | undefined;

  const request: AutocannonRequest = {
    setupRequest: (base, context) => {
      const op: Operation = chooseOperation(scenario.mix, Math.random());
      const req = authorised(op.request(ctx), op.auth, options.apiKey);
      context.op = op;
      context.req = req;
      return { ...base, method: req.method, path: req.path, headers: req.headers, body: req.body };
    },
    onResponse: (status, body, context, headers) => {
      const op = context.op as Operation;
      if (!recording) {
        // Still let the operation see the answer: it may carry state (revisions, ETags) forward.
        try {
          op.check({ status, headers, body }, ctx, context.req as LoadRequest);
        } catch {
          // judged only when recording
        }
        return;
      }
      const measurement = operations.get(op.name)!;
      const res: LoadResponse = { status, headers, body };
      const expected = op.statuses ?? [200];
      let failed = !expected.includes(status);
      if (!failed && body.startsWith('{')) {
        try {
          failed = Array.isArray((JSON.parse(body) as { errors?: unknown }).errors);
        } catch {
          // not JSON: the operation's checks judge it
        }
      }
      measurement.statuses[status] = (measurement.statuses[status] ?? 0) + 1;
      let results: Record<string, boolean>;
      try {
        results = op.check(res, ctx, context.req as LoadRequest);
      } catch (error) {
        results = { [`check ran: ${(error as Error).message}`]: false };
      }
      for (const [name, passed] of Object.entries(results)) {
        measurement.checks++;
        if (!passed) {
          measurement.checkFailures++;
          measurement.failedChecks[name] = (measurement.failedChecks[name] ?? 0) + 1;
        }
      }
      answered = { op: measurement, failed };
    },
  };

  const load = (durationS: number, record: boolean) =>
    new Promise<void>((resolve, reject) => {
      const instance = autocannon(
        {
          url: options.baseUrl,
          connections: options.connections,
          duration: durationS,
          ...(options.rate > 0 ? { overallRate: options.rate } : {}),
          timeout: options.timeoutS,
          requests: [request],
        },
        (error) => (error ? reject(error) : resolve()),
      );
      if (!record) return;
      instance.on('response', (_client, _status, _bytes, responseTime) => {
        if (!answered) return;
        const { op, failed } = answered;
        answered = undefined;
        op.responses++;
        if (failed) op.errors++;
        const micros = Math.max(1, Math.round(responseTime * 1000));
        op.histogram.recordValue(micros);
        (op.perSecond[secondOf(performance.now() - start, durationS)] ??= newHistogram()).recordValue(micros);
      });
      instance.on('reqError', () => transportErrors++);
      instance.on('timeout', () => timeouts++);
    });
  if (options.warmupS > 0) {
    recording = false;
    await load(options.warmupS, false);
    recording = true;
  }
  start = performance.now();
  startedAt = new Date();
  await load(options.durationS, true);
  const durationS = (performance.now() - start) / 1000;

  stopSubscribers.abort();
  const subscribers = await Promise.all(subscriberRuns);

  const teardownProblems: string[] = [];
  if (scenario.setup?.teardown) {
    try {
      for (const { req, res } of await runSteps(options, scenario.setup.teardown(state))) {
        const problem = (req.problem ?? stepProblem)(res);
        if (problem) teardownProblems.push(problem);
      }
    } catch (error) {
      teardownProblems.push((error as Error).message);
    }
  }
  return { startedAt, durationS, operations: [...operations.values()], transportErrors, timeouts, subscribers, teardownProblems };
}
