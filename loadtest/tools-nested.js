// k6 load test: the first page of tools (20) with nested capabilities and patterns,
// the heaviest read of the API (exercises the batched loaders).
//   k6 run loadtest/tools-nested.js
//   k6 run -e BASE_URL=http://localhost:4000 -e VUS=10 -e DURATION=1m loadtest/tools-nested.js
import { check } from 'k6';
import { BASE_URL, TOOLS_NESTED, assertLoopback, bodyOf, checkGraphQL, graphql, rampingScenario } from './lib/common.js';

const PAGE_SIZE = 20;

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: {
    tools_nested: rampingScenario(),
  },
  thresholds: {
    http_req_failed: ['rate<0.01'],
    http_req_duration: ['p(95)<500', 'p(99)<1000'],
    checks: ['rate>0.99'],
  },
};

export function setup() {
  assertLoopback(BASE_URL);
  const res = graphql('ToolsNested', TOOLS_NESTED, { first: PAGE_SIZE });
  if (!checkGraphQL(res, 'tools')) {
    throw new Error(`${BASE_URL}/graphql did not answer the ToolsNested query: ${res.status} ${String(res.body).slice(0, 300)}`);
  }
}

export default function () {
  const res = graphql('ToolsNested', TOOLS_NESTED, { first: PAGE_SIZE });
  checkGraphQL(res, 'tools');
  const page = bodyOf(res)?.data?.tools;
  check(page, {
    'page has at most 20 tools': (p) => p != null && Array.isArray(p.edges) && p.edges.length > 0 && p.edges.length <= PAGE_SIZE,
    'totalCount covers the page': (p) => p != null && typeof p.totalCount === 'number' && p.totalCount >= p.edges.length,
    'nodes carry capabilities and patterns': (p) =>
      p != null &&
      p.edges.every(
        (/** @type {any} */ e) =>
          Array.isArray(e.node.capabilities) && e.node.capabilities.every((/** @type {any} */ c) => Array.isArray(c.patterns)),
      ),
  });
}
