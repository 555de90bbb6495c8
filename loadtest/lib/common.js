// Shared helpers for the k6 scripts in loadtest/ (plain JavaScript, ES modules, type-checked
// against @types/k6 by `npx tsc -p loadtest`). Not a test script itself: no default export.
import http from 'k6/http';
import { check } from 'k6';

/** Where the service listens; only loopback addresses are accepted (see assertLoopback). */
export const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:4000').replace(/\/+$/, '');
export const GRAPHQL_URL = `${BASE_URL}/graphql`;

const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '::1'];

/**
 * Host name of an http(s) URL, without brackets for IPv6; null when the URL has another
 * scheme, user info (`http://127.0.0.1@example.com`) or cannot be parsed.
 * (k6 has no global URL class, hence the pattern.)
 * @param {string} url
 * @returns {string | null}
 */
export function hostOf(url) {
  const match = /^https?:\/\/(\[[0-9a-fA-F:.]+\]|[^/?#:@[\]]+)(?::\d{1,5})?(?:[/?#]|$)/i.exec(url);
  if (!match) return null;
  return match[1].replace(/^\[(.*)\]$/, '$1').toLowerCase();
}

/**
 * Load tests run only against this machine. Called from every script's setup(), which
 * runs before any virtual user sends a request, so a bad BASE_URL aborts the test.
 * @param {string} url
 */
export function assertLoopback(url) {
  const host = hostOf(url);
  if (host === null || !LOOPBACK_HOSTS.includes(host)) {
    throw new Error(
      `refusing to run: BASE_URL ${JSON.stringify(url)} is not a loopback address ` +
        `(allowed hosts: ${LOOPBACK_HOSTS.join(', ')}). Load tests run only against a local service.`,
    );
  }
}

/**
 * POSTs one GraphQL operation. The operation name is also the `op` tag, so thresholds and
 * results can be split per operation, and it matches the `operationName` label of the
 * service's own metrics (graphql_envelop_request, graphql_yoga_http_duration).
 * @param {string} operationName
 * @param {string} query
 * @param {Record<string, unknown>} [variables]
 */
export function graphql(operationName, query, variables = {}) {
  return http.post(GRAPHQL_URL, JSON.stringify({ operationName, query, variables }), {
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    tags: { op: operationName },
  });
}

/**
 * Parses a GraphQL response body; null when it is not a JSON object.
 * @param {import('k6/http').RefinedResponse<any>} res
 * @returns {{ data?: any, errors?: unknown } | null}
 */
export function bodyOf(res) {
  try {
    const body = res.json();
    return body !== null && typeof body === 'object' && !Array.isArray(body) ? /** @type {any} */ (body) : null;
  } catch {
    return null;
  }
}

/**
 * Checks that a GraphQL response is 200, has no `errors` and has `data`; `field`, when given,
 * must be present and non-null inside `data`.
 * @param {import('k6/http').RefinedResponse<any>} res
 * @param {string} [field]
 */
export function checkGraphQL(res, field) {
  const body = bodyOf(res);
  return check(res, {
    'status is 200': (r) => r.status === 200,
    'no errors': () => body !== null && body.errors === undefined,
    'has data': () =>
      body !== null &&
      body.data !== null &&
      typeof body.data === 'object' &&
      (field === undefined || (body.data[field] !== null && body.data[field] !== undefined)),
  });
}

/**
 * One element of a list, chosen at random.
 * @template T
 * @param {readonly T[]} items
 * @returns {T}
 */
export function pick(items) {
  return items[Math.floor(Math.random() * items.length)];
}

// Tools, queries and mixes shared with `npm run loadtest` live in ../scenarios/.
export { SAMPLE_TOOLS } from '../scenarios/lib.js';
export { TOOL_BY_NAME } from '../scenarios/legacy.js';

export const TOOLS_NESTED = /* GraphQL */ `
  query ToolsNested($first: Int!, $after: String) {
    tools(first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          name
          platform
          version
          capabilities {
            name
            description
            patterns {
              name
              scope
              timeEstimateMs
              costEstimate
            }
          }
        }
      }
    }
  }
`;

/**
 * Positive integer from an environment variable, else the default.
 * @param {string} name
 * @param {number} fallback
 */
export function envInt(name, fallback) {
  const value = Number.parseInt(__ENV[name] || '', 10);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

/**
 * A ramp-up / steady / ramp-down scenario: VUS virtual users (env, default 5) for DURATION
 * (env, default 30s).
 * @returns {import('k6/options').Scenario}
 */
export function rampingScenario() {
  const vus = envInt('VUS', 5);
  return {
    executor: 'ramping-vus',
    startVUs: 1,
    stages: [
      { duration: '5s', target: vus },
      { duration: __ENV.DURATION || '30s', target: vus },
      { duration: '5s', target: 0 },
    ],
    gracefulRampDown: '5s',
  };
}
