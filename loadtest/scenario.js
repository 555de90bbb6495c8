// k6 runner of the shared load scenarios (loadtest/scenarios/): the same mixes, checks and
// thresholds that `npm run loadtest` runs with autocannon, for people who have k6.
//   k6 run -e SCENARIO=legacy loadtest/scenario.js
//   k6 run -e SCENARIO=writes -e API_KEY=<editor key> -e RATE=50 -e DURATION=2m loadtest/scenario.js
//   k6 run -e SCENARIO=pipeline -e API_KEY=<reporter key> loadtest/scenario.js
import http from 'k6/http';
import ws from 'k6/ws';
import { check } from 'k6';
import { Counter } from 'k6/metrics';
import { BASE_URL, assertLoopback, envInt } from './lib/common.js';
import { SCENARIOS, SCENARIO_NAMES, authorisationProblem, chooseOperation, stepProblem, unavailableReason } from './scenarios/index.js';

const SCENARIO_NAME = __ENV.SCENARIO || 'legacy';
const SCENARIO = SCENARIOS[SCENARIO_NAME];
if (!SCENARIO) throw new Error(`unknown SCENARIO ${JSON.stringify(SCENARIO_NAME)}; known: ${SCENARIO_NAMES.join(', ')}`);
const RATE = envInt('RATE', 20);
const DURATION = __ENV.DURATION || '1m';
const API_KEY = __ENV.API_KEY || '';
const subscriptionEvents = new Counter('subscription_events');

/** @param {string} text e.g. 30s, 2m, 1h */
function durationMs(text) {
  const match = /^(\d+)(ms|s|m|h)$/.exec(text);
  if (!match) throw new Error(`DURATION ${JSON.stringify(text)}: expected a number and ms, s, m or h`);
  return Number(match[1]) * { ms: 1, s: 1000, m: 60000, h: 3600000 }[/** @type {'ms'|'s'|'m'|'h'} */ (match[2])];
}

/**
 * Sends one scenario request and hands the answer back in the scenario's terms.
 * @param {import('./scenarios/lib.js').LoadRequest & { auth?: string }} req
 * @param {string} op
 * @param {number[]} [statuses]
 * @returns {import('./scenarios/lib.js').LoadResponse}
 */
function send(req, op, statuses = [200]) {
  const headers = { ...req.headers };
  if (req.auth) headers.authorization = `Bearer ${API_KEY}`;
  const res = http.request(req.method, `${BASE_URL}${req.path}`, req.body ?? null, {
    headers,
    tags: { op },
    responseCallback: http.expectedStatuses(...statuses),
  });
  /** @type {Record<string, string>} */
  const lower = {};
  for (const [name, value] of Object.entries(res.headers)) lower[name.toLowerCase()] = value;
  return { status: res.status, headers: lower, body: typeof res.body === 'string' ? res.body : '' };
}

/**
 * Runs steps in order, each function step seeing the previous response.
 * @param {import('./scenarios/lib.js').SetupStep[]} steps
 * @param {string} op
 * @returns {Array<{ req: import('./scenarios/lib.js').SetupRequest, res: import('./scenarios/lib.js').LoadResponse }>}
 */
function runSteps(steps, op) {
  /** @type {Array<{ req: import('./scenarios/lib.js').SetupRequest, res: import('./scenarios/lib.js').LoadResponse }>} */
  const answered = [];
  /** @type {import('./scenarios/lib.js').LoadResponse | null} */
  let previous = null;
  for (const step of steps) {
    const req = typeof step === 'function' ? step(previous) : step;
    previous = send(req, op);
    answered.push({ req, res: previous });
  }
  return answered;
}

/** @type {Record<string, string[]>} */
const thresholds = {
  http_req_failed: [`rate<${SCENARIO.thresholds.errorRate}`],
  checks: [`rate>${1 - SCENARIO.thresholds.checkFailureRate}`],
};
for (const [op, budget] of Object.entries(SCENARIO.thresholds.latency)) {
  thresholds[`http_req_duration{op:${op}}`] = [`p(95)<${budget.p95}`, `p(99)<${budget.p99}`];
}
const subscriberCount = SCENARIO.subscribers.reduce((sum, s) => sum + s.count, 0);
const eventsNeeded = SCENARIO.subscribers.reduce((sum, s) => sum + s.count * s.minEvents, 0);
if (eventsNeeded > 0) thresholds.subscription_events = [`count>=${eventsNeeded}`];

/** @type {Record<string, import('k6/options').Scenario>} */
const scenarios = {
  load: {
    executor: 'constant-arrival-rate',
    rate: RATE,
    timeUnit: '1s',
    duration: DURATION,
    preAllocatedVUs: Math.max(5, Math.ceil(RATE / 4)),
    maxVUs: Math.max(20, RATE * 2),
    exec: 'load',
  },
};
if (subscriberCount > 0) {
  scenarios.subscribers = { executor: 'per-vu-iterations', vus: subscriberCount, iterations: 1, maxDuration: `${durationMs(DURATION) + 30000}ms`, exec: 'subscribe' };
}

/** @type {import('k6/options').Options} */
export const options = { scenarios, thresholds };

export function setup() {
  assertLoopback(BASE_URL);
  const runId = `k6${Date.now().toString(36)}`;
  const state = SCENARIO.setup ? SCENARIO.setup.state(runId, runSteps(SCENARIO.setup.requests(runId), 'setup').map((step) => step.res)) : {};
  // Every operation once, so a service that lacks one stops the run with its name, not a flood of errors.
  for (const op of SCENARIO.mix) {
    const req = op.request({ state, runId });
    const res = send({ ...req, auth: op.auth }, 'probe', op.statuses);
    const reason = unavailableReason(res);
    if (reason) throw new Error(`operation ${op.name} is not available on ${BASE_URL}${op.issue ? ` (from ${op.issue})` : ''}: ${reason}`);
    const refused = authorisationProblem(res);
    if (refused) throw new Error(`operation ${op.name} was refused${op.auth ? ` (it needs a key with the ${op.auth} role in API_KEY)` : ''}: ${refused}`);
  }
  return { state, runId };
}

/** This virtual user's own copy of the scenario state. */
/** @type {any} */
let vuState = null;

/** @param {{ state: any, runId: string }} data */
export function load(data) {
  if (vuState === null) vuState = JSON.parse(JSON.stringify(data.state));
  const ctx = { state: vuState, runId: data.runId };
  const op = chooseOperation(SCENARIO.mix, Math.random());
  const req = op.request(ctx);
  const res = send({ ...req, auth: op.auth }, op.name, op.statuses);
  const results = op.check(res, ctx, req);
  /** @type {Record<string, (r: unknown) => boolean>} */
  const named = {};
  for (const [name, passed] of Object.entries(results)) named[`${op.name}: ${name}`] = () => passed;
  check(res, named, { op: op.name });
}

/** Holds one subscription open over graphql-ws for the whole run, counting its events. */
export function subscribe() {
  const subscriber = SCENARIO.subscribers[(__VU - 1) % SCENARIO.subscribers.length];
  const url = `${BASE_URL.replace(/^http/, 'ws')}/graphql`;
  const res = ws.connect(url, { headers: { 'Sec-WebSocket-Protocol': 'graphql-transport-ws' } }, (socket) => {
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: API_KEY ? { authorization: `Bearer ${API_KEY}` } : {} })));
    socket.on('message', (text) => {
      const message = JSON.parse(text);
      if (message.type === 'connection_ack') {
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: subscriber.query, variables: subscriber.variables ?? {} } }));
      } else if (message.type === 'next') {
        check(message, { [`${subscriber.name}: event without errors`]: (m) => m.payload.errors === undefined });
        subscriptionEvents.add(1);
      } else if (message.type === 'error') {
        check(message, { [`${subscriber.name}: subscription accepted`]: () => false });
        socket.close();
      }
    });
    socket.setTimeout(() => socket.close(), durationMs(DURATION));
  });
  check(res, { [`${subscriber.name}: connected`]: (r) => r !== null && r.status === 101 });
}

/** @param {{ state: any, runId: string }} data */
export function teardown(data) {
  if (!SCENARIO.setup || !SCENARIO.setup.teardown) return;
  for (const { req, res } of runSteps(SCENARIO.setup.teardown(data.state), 'teardown')) {
    const problem = (req.problem || stepProblem)(res);
    // The check's name carries the problem, so k6's summary says what was left behind.
    check(res, { [`teardown${problem ? `: ${problem.slice(0, 120)}` : ''}`]: () => problem === null });
  }
}
