// The vocabulary of a load scenario, shared by both runners: k6 (loadtest/scenario.js) and the Node
// runner (npm run loadtest, scripts/loadtest.ts). Plain JavaScript with JSDoc types and no platform
// API (no Node modules, no k6 modules), so k6 and Node load the same file; `npx tsc -p loadtest`
// type-checks it. A scenario is data plus pure functions: each operation builds a request from a
// context and judges a response; the runners own the sockets, the clock and the statistics.

/**
 * One HTTP request, as both runners send it.
 * @typedef {{ method: 'GET' | 'POST', path: string, headers: Record<string, string>, body?: string }} LoadRequest
 */

/**
 * One HTTP response, as both runners hand it to an operation (header names lower-case).
 * @typedef {{ status: number, headers: Record<string, string | undefined>, body: string }} LoadResponse
 */

/**
 * What an operation sees: `state` is this runner's mutable state (per virtual user in k6, one per run
 * in the Node runner), started from what the scenario's setup returned; `runId` makes ids unique.
 * @typedef {{ state: any, runId: string }} OperationContext
 */

/**
 * One kind of request in a mix.
 * - `weight`: its share of the mix (weights need not add up to 100).
 * - `auth`: the role whose key it needs (the runner adds `Authorization: Bearer <key>`).
 * - `statuses`: HTTP statuses that are not errors (default [200]).
 * - `check`: named checks on a response to the request `req`; each false one is a check failure.
 *   May update `ctx.state`.
 * - `issue`: where the operation comes from when it is not part of every build (for the error
 *   message of a service that does not offer it yet).
 * @typedef {{
 *   name: string,
 *   weight: number,
 *   auth?: 'editor' | 'reporter',
 *   statuses?: number[],
 *   issue?: string,
 *   request: (ctx: OperationContext) => LoadRequest,
 *   check: (res: LoadResponse, ctx: OperationContext, req: LoadRequest) => Record<string, boolean>,
 * }} Operation
 */

/**
 * A GraphQL subscription held open for the whole run by `count` subscribers (Server-Sent Events in
 * the Node runner, graphql-ws in k6). `minEvents` events must arrive per subscriber (0: none needed).
 * @typedef {{ name: string, count: number, query: string, variables?: Record<string, unknown>, minEvents: number }} Subscriber
 */

/**
 * Latency budget of one operation, in milliseconds.
 * @typedef {{ p95: number, p99: number }} LatencyThreshold
 */

/**
 * The run fails when a threshold is crossed: the share of failed requests (transport errors,
 * unexpected statuses, GraphQL errors) or failed checks above the rate, or an operation's p95/p99
 * above its budget.
 * @typedef {{ errorRate: number, checkFailureRate: number, latency: Record<string, LatencyThreshold> }} Thresholds
 */

/**
 * A request of a setup or teardown, with the role whose key it needs. `problem` judges its response
 * (a description of what went wrong, or null); without it, `stepProblem` does.
 * @typedef {LoadRequest & { auth?: 'editor' | 'reporter', problem?: (res: LoadResponse) => string | null }} SetupRequest
 */

/**
 * A step of a setup or teardown: a request, or a function of the previous step's response.
 * @typedef {SetupRequest | ((previous: LoadResponse | null) => SetupRequest)} SetupStep
 */

/**
 * The default judgement of a setup or teardown response: anything but HTTP 200, a GraphQL error, or
 * an expected error as a schema type (ConflictError, NotFoundError…) is a problem.
 * @param {LoadResponse} res
 * @returns {string | null}
 */
export function stepProblem(res) {
  return res.status !== 200 || /"errors"|"__typename":"\w*Error"/.test(res.body) ? `HTTP ${res.status} ${res.body.slice(0, 200)}` : null;
}

/**
 * Requests run once before the load, in order, and once after it (teardown, best effort).
 * `state` turns the setup responses into the operations' starting state; it throws when they are
 * not what the scenario needs.
 * @typedef {{
 *   requests: (runId: string) => SetupStep[],
 *   state: (runId: string, responses: LoadResponse[]) => any,
 *   teardown?: (state: any) => SetupStep[],
 * }} Setup
 */

/**
 * @typedef {{
 *   name: string,
 *   description: string,
 *   mix: Operation[],
 *   subscribers: Subscriber[],
 *   thresholds: Thresholds,
 *   setup?: Setup,
 * }} Scenario
 */

export const GRAPHQL_PATH = '/graphql';
const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };

/**
 * A GraphQL POST. The operation name travels in the body, so the service's own metrics split by it.
 * @param {string} operationName
 * @param {string} query
 * @param {Record<string, unknown>} [variables]
 * @returns {LoadRequest}
 */
export function graphqlRequest(operationName, query, variables = {}) {
  return { method: 'POST', path: GRAPHQL_PATH, headers: { ...JSON_HEADERS }, body: JSON.stringify({ operationName, query, variables }) };
}

/**
 * The JSON of a response body, or null when it is not JSON.
 * @param {LoadResponse} res
 * @returns {any}
 */
export function parseBody(res) {
  try {
    return JSON.parse(res.body);
  } catch {
    return null;
  }
}

/**
 * The checks every GraphQL answer must pass: HTTP 200, no `errors`, and `data[field]` present.
 * @param {LoadResponse} res
 * @param {string} field
 * @returns {{ checks: Record<string, boolean>, value: any }}
 */
export function graphqlChecks(res, field) {
  const body = parseBody(res);
  const value = body && body.data ? body.data[field] : undefined;
  return {
    value,
    checks: {
      'status is 200': res.status === 200,
      'no errors': body !== null && body.errors === undefined,
      [`has ${field}`]: value !== undefined && value !== null,
    },
  };
}

/**
 * Why a response says that the service does not offer an operation at all (a field or type its
 * schema lacks, a path it does not serve), or null. Runners try every operation once before the
 * load and stop with this reason instead of measuring a stream of errors.
 * @param {LoadResponse} res
 * @returns {string | null}
 */
export function unavailableReason(res) {
  if (res.status === 404 || res.status === 405) return `HTTP ${res.status} (the service does not serve this path)`;
  const body = parseBody(res);
  const errors = body && Array.isArray(body.errors) ? body.errors : [];
  for (const error of errors) {
    const message = String(error && error.message);
    if (/^Cannot query field|^Unknown type|^Unknown argument|^Field "[^"]+" is not defined by type/.test(message)) return message;
  }
  return null;
}

/**
 * Why a response says the key does not allow an operation (HTTP 401/403, or a GraphQL error coded
 * UNAUTHENTICATED or FORBIDDEN), or null. Runners stop on it before the load.
 * @param {LoadResponse} res
 * @returns {string | null}
 */
export function authorisationProblem(res) {
  if (res.status === 401 || res.status === 403) return `HTTP ${res.status}`;
  const body = parseBody(res);
  const errors = body && Array.isArray(body.errors) ? body.errors : [];
  for (const error of errors) {
    const code = error && error.extensions ? error.extensions.code : undefined;
    if (code === 'UNAUTHENTICATED' || code === 'FORBIDDEN') return `${code}: ${error.message}`;
  }
  return null;
}

/**
 * One element of a list, at random.
 * @template T
 * @param {readonly T[]} items
 * @returns {T}
 */
export function pick(items) {
  return items[Math.floor(Math.random() * items.length)];
}

/**
 * An integer in [min, max], at random.
 * @param {number} min
 * @param {number} max
 */
export function randomInt(min, max) {
  return min + Math.floor(Math.random() * (max - min + 1));
}

/**
 * The operation a weighted draw lands on.
 * @param {readonly Operation[]} mix
 * @param {number} roll a number in [0, 1)
 * @returns {Operation}
 */
export function chooseOperation(mix, roll) {
  const total = mix.reduce((sum, op) => sum + op.weight, 0);
  let left = roll * total;
  for (const op of mix) {
    left -= op.weight;
    if (left < 0) return op;
  }
  return mix[mix.length - 1];
}

/** Tools of the sample catalog (catalog/) that every build serves, by name and platform. */
export const SAMPLE_TOOLS = [
  { name: 'grep', platform: 'linux' },
  { name: 'ps', platform: 'linux' },
  { name: 'Get-Process', platform: 'windows' },
  { name: 'dig', platform: 'network' },
  { name: 'ping', platform: 'network' },
  { name: 'psql', platform: 'database' },
  { name: 'kubectl-get-pods', platform: 'container' },
  { name: 'aws-s3-ls', platform: 'cloud' },
];

/** Words that occur in sample tool names and descriptions. */
export const SEARCH_TERMS = ['process', 'dns', 'log', 'disk', 'service', 'pod', 'query', 'net', 'grep', 'instance'];

export const PLATFORMS = ['linux', 'windows', 'network', 'database', 'container', 'cloud', 'monitoring'];
