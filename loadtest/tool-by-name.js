// k6 load test: the single-tool query, for a handful of tools of the sample catalog.
//   k6 run loadtest/tool-by-name.js
//   k6 run -e BASE_URL=http://127.0.0.1:4000 -e VUS=10 -e DURATION=1m loadtest/tool-by-name.js
import { check } from 'k6';
import { BASE_URL, SAMPLE_TOOLS, TOOL_BY_NAME, assertLoopback, bodyOf, checkGraphQL, graphql, pick, rampingScenario } from './lib/common.js';


/** @type {import('k6/options').Options} */
export const options = {
  scenarios: {
    tool_by_name: rampingScenario(),
  },
  thresholds: {
    http_req_failed: ['rate<0.01'],
    http_req_duration: ['p(95)<200', 'p(99)<500'],
    checks: ['rate>0.99'],
  },
};

export function setup() {
  assertLoopback(BASE_URL);
  // Fail early, with a clear message, when the service is not there or not seeded.
  const res = graphql('ToolByName', TOOL_BY_NAME, SAMPLE_TOOLS[0]);
  if (!checkGraphQL(res, 'tool')) {
    throw new Error(`${BASE_URL}/graphql did not answer the ToolByName query: ${res.status} ${String(res.body).slice(0, 300)}`);
  }
}

export default function () {
  const tool = pick(SAMPLE_TOOLS);
  const res = graphql('ToolByName', TOOL_BY_NAME, tool);
  checkGraphQL(res, 'tool');
  const found = bodyOf(res)?.data?.tool;
  check(found, {
    'tool is the one asked for': (t) => t != null && t.name === tool.name && t.platform === tool.platform,
    'tool has capabilities with patterns': (t) =>
      t != null && Array.isArray(t.capabilities) && t.capabilities.length > 0 && Array.isArray(t.capabilities[0].patterns),
  });
}
