// The legacy load test's mix, mapped to GraphQL. The legacy service ran six weighted scenarios; each
// is one operation here with the same share of the traffic.
import { PLATFORMS, SAMPLE_TOOLS, SEARCH_TERMS, graphqlChecks, graphqlRequest, pick, randomInt } from './lib.js';

export const LIST_TOOLS = /* GraphQL */ `
  query ListTools($first: Int!, $orderBy: ToolOrder) {
    tools(first: $first, orderBy: $orderBy) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { name platform version category description } }
    }
  }
`;

export const SEARCH_TOOLS = /* GraphQL */ `
  query SearchTools($search: String!, $first: Int!) {
    tools(first: $first, search: $search) {
      totalCount
      edges { node { name platform description } }
    }
  }
`;

export const TOOL_BY_NAME = /* GraphQL */ `
  query ToolByName($name: String!, $platform: String) {
    tool(name: $name, platform: $platform) {
      name
      platform
      version
      capabilities { name patterns { name timeEstimateMs costEstimate complexityScore } }
    }
  }
`;

export const ENABLED_TOOLS = /* GraphQL */ `
  query EnabledTools($platform: String) {
    tools(first: 50, filter: { enabled: true, platform: $platform }, orderBy: { field: NAME }) {
      totalCount
      edges { node { name platform version enabled } }
    }
  }
`;

export const LATEST_VERSIONS = /* GraphQL */ `
  query LatestVersions($name: String!, $platform: String!) {
    toolVersions(name: $name, platform: $platform) { version status createdAt }
  }
`;

export const CATALOG_STATS = /* GraphQL */ `
  query CatalogStats {
    catalogStats {
      tools
      versions
      capabilities
      patterns
      byPlatform { key count }
      byCategory { key count }
    }
  }
`;

const ORDERS = [null, { field: 'NAME' }, { field: 'PLATFORM' }, { field: 'CATEGORY' }, { field: 'NAME', direction: 'DESC' }];

/** @type {import('./lib.js').Scenario} */
export const legacy = {
  name: 'legacy',
  description: "The legacy load test's six weighted reads: list 35 %, search 20 %, tool by name 15 %, enabled tools 15 %, latest versions 10 %, stats 5 %.",
  mix: [
    {
      name: 'ListTools',
      weight: 35,
      request: () => graphqlRequest('ListTools', LIST_TOOLS, { first: pick([10, 20, 50]), orderBy: pick(ORDERS) }),
      check: (res) => {
        const { checks, value } = graphqlChecks(res, 'tools');
        return { ...checks, 'page is not empty': Boolean(value && value.edges.length > 0) };
      },
    },
    {
      name: 'SearchTools',
      weight: 20,
      request: () => graphqlRequest('SearchTools', SEARCH_TOOLS, { search: pick(SEARCH_TERMS), first: randomInt(5, 20) }),
      check: (res) => {
        const { checks, value } = graphqlChecks(res, 'tools');
        return { ...checks, 'search returns a connection': Boolean(value && Array.isArray(value.edges)) };
      },
    },
    {
      name: 'ToolByName',
      weight: 15,
      request: () => graphqlRequest('ToolByName', TOOL_BY_NAME, pick(SAMPLE_TOOLS)),
      check: (res, _ctx, req) => {
        const { checks, value } = graphqlChecks(res, 'tool');
        const asked = JSON.parse(req.body || '{}').variables;
        return { ...checks, 'tool is the one asked for': Boolean(value && asked && value.name === asked.name && value.platform === asked.platform) };
      },
    },
    {
      name: 'EnabledTools',
      weight: 15,
      request: () => graphqlRequest('EnabledTools', ENABLED_TOOLS, { platform: pick([...PLATFORMS, null]) }),
      check: (res) => {
        const { checks, value } = graphqlChecks(res, 'tools');
        return { ...checks, 'every tool is enabled': Boolean(value && value.edges.every((/** @type {any} */ e) => e.node.enabled === true)) };
      },
    },
    {
      name: 'LatestVersions',
      weight: 10,
      request: () => graphqlRequest('LatestVersions', LATEST_VERSIONS, pick(SAMPLE_TOOLS)),
      check: (res) => {
        const { checks, value } = graphqlChecks(res, 'toolVersions');
        return { ...checks, 'at least one version': Boolean(Array.isArray(value) && value.length > 0) };
      },
    },
    {
      name: 'CatalogStats',
      weight: 5,
      request: () => graphqlRequest('CatalogStats', CATALOG_STATS),
      check: (res) => {
        const { checks, value } = graphqlChecks(res, 'catalogStats');
        return { ...checks, 'catalog is not empty': Boolean(value && value.tools > 0) };
      },
    },
  ],
  subscribers: [],
  thresholds: {
    errorRate: 0.01,
    checkFailureRate: 0.01,
    // The goal: p95 < 50 ms at 1,000 req/s over 10 connections on PostgreSQL.
    latency: {
      ListTools: { p95: 50, p99: 200 },
      SearchTools: { p95: 50, p99: 200 },
      ToolByName: { p95: 50, p99: 200 },
      EnabledTools: { p95: 50, p99: 200 },
      LatestVersions: { p95: 50, p99: 200 },
      CatalogStats: { p95: 50, p99: 200 },
    },
  },
};
