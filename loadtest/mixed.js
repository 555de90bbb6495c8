// k6 load test: a weighted mix of the read API at a constant arrival rate.
//   k6 run loadtest/mixed.js
//   k6 run -e BASE_URL=http://[::1]:4000 -e RATE=100 -e DURATION=2m loadtest/mixed.js
import { check } from 'k6';
import {
  BASE_URL,
  SAMPLE_TOOLS,
  TOOLS_NESTED,
  TOOL_BY_NAME,
  assertLoopback,
  bodyOf,
  checkGraphQL,
  envInt,
  graphql,
  pick,
} from './lib/common.js';

const RATE = envInt('RATE', 20); // operations per second
const DURATION = __ENV.DURATION || '1m';

const CATALOG_STATS = /* GraphQL */ `
  query CatalogStats {
    catalogStats {
      tools
      versions
      capabilities
      patterns
      byPlatform { key count }
      byCategory { key count }
      byStatus { key count }
    }
  }
`;

const SEARCH_TOOLS = /* GraphQL */ `
  query SearchTools($search: String!, $first: Int!) {
    tools(first: $first, search: $search) {
      totalCount
      edges { node { name platform description } }
    }
  }
`;

const FILTER_TOOLS = /* GraphQL */ `
  query FilterTools($platform: String!) {
    tools(first: 50, filter: { platform: $platform }, orderBy: { field: NAME }) {
      totalCount
      edges { node { name version capabilityCount } }
    }
  }
`;

const CAPABILITIES = /* GraphQL */ `
  query Capabilities {
    capabilities {
      name
      toolCount
      tools { name platform }
    }
  }
`;

const SEARCH_TERMS = ['process', 'dns', 'log', 'disk', 'service', 'pod', 'query'];
const PLATFORMS = ['linux', 'windows', 'network', 'database', 'container', 'cloud', 'monitoring'];

/**
 * Each operation, with its share of the traffic and its p95 budget in milliseconds.
 * @type {{ name: string, weight: number, p95: number, run: () => void }[]}
 */
const MIX = [
  {
    name: 'ToolByName',
    weight: 50,
    p95: 200,
    run: () => checkGraphQL(graphql('ToolByName', TOOL_BY_NAME, pick(SAMPLE_TOOLS)), 'tool'),
  },
  {
    name: 'SearchTools',
    weight: 15,
    p95: 300,
    run: () => {
      const res = graphql('SearchTools', SEARCH_TOOLS, { search: pick(SEARCH_TERMS), first: 10 });
      checkGraphQL(res, 'tools');
      check(bodyOf(res)?.data?.tools, { 'search returns a connection': (t) => t != null && Array.isArray(t.edges) });
    },
  },
  {
    name: 'CatalogStats',
    weight: 10,
    p95: 300,
    run: () => {
      const res = graphql('CatalogStats', CATALOG_STATS);
      checkGraphQL(res, 'catalogStats');
      check(bodyOf(res)?.data?.catalogStats, { 'catalog is not empty': (s) => s != null && s.tools > 0 });
    },
  },
  {
    name: 'ToolsNested',
    weight: 10,
    p95: 500,
    run: () => checkGraphQL(graphql('ToolsNested', TOOLS_NESTED, { first: 20 }), 'tools'),
  },
  {
    name: 'FilterTools',
    weight: 10,
    p95: 300,
    run: () => checkGraphQL(graphql('FilterTools', FILTER_TOOLS, { platform: pick(PLATFORMS) }), 'tools'),
  },
  {
    name: 'Capabilities',
    weight: 5,
    p95: 500,
    run: () => checkGraphQL(graphql('Capabilities', CAPABILITIES), 'capabilities'),
  },
];
const TOTAL_WEIGHT = MIX.reduce((sum, op) => sum + op.weight, 0);

/** @type {Record<string, string[]>} */
const thresholds = {
  http_req_failed: ['rate<0.01'],
  http_req_duration: ['p(95)<400'],
  checks: ['rate>0.99'],
};
for (const op of MIX) thresholds[`http_req_duration{op:${op.name}}`] = [`p(95)<${op.p95}`];

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: {
    mixed: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: Math.max(5, Math.ceil(RATE / 4)),
      maxVUs: Math.max(20, RATE * 2),
    },
  },
  thresholds,
};

export function setup() {
  assertLoopback(BASE_URL);
  const res = graphql('CatalogStats', CATALOG_STATS);
  if (!checkGraphQL(res, 'catalogStats')) {
    throw new Error(`${BASE_URL}/graphql did not answer the CatalogStats query: ${res.status} ${String(res.body).slice(0, 300)}`);
  }
}

export default function () {
  let roll = Math.random() * TOTAL_WEIGHT;
  for (const op of MIX) {
    roll -= op.weight;
    if (roll < 0) {
      op.run();
      return;
    }
  }
  MIX[0].run();
}
