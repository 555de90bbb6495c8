// What the AI operations pipeline does to the catalog: pick tools for a step (`selectTools` with
// different variables each time, so the response cache cannot answer), report the runs in batches
// (GraphQL and NDJSON), fetch optimisation profiles with `If-None-Match`, and follow catalog events.
// `selectTools` and `GET /profiles` come from issue 13, `reportExecutions` and `POST /executions`
// from issue 15; a service without them is refused before the load starts, naming the operation.
import { PLATFORMS, graphqlChecks, graphqlRequest, parseBody, pick, randomInt } from './lib.js';

export const SELECT_TOOLS = /* GraphQL */ `
  query SelectTools($request: SelectToolsInput!) {
    selectTools(request: $request) {
      revision
      stale
      ambiguous
      candidates {
        rank
        score
        tool { name platform version }
        estimate { timeMs cost }
        executionHint
        slaClass
        why
      }
      excluded { reason }
    }
  }
`;

export const REPORT_EXECUTIONS = /* GraphQL */ `
  mutation ReportExecutions($executions: [ExecutionInput!]!) {
    reportExecutions(executions: $executions) { __typename }
  }
`;

export const PIPELINE_PATTERNS = /* GraphQL */ `
  query PipelinePatterns {
    tools(first: 100, filter: { enabled: true }) {
      edges { node { name platform version capabilities { name patterns { name } } } }
    }
  }
`;

export const CATALOG_EVENTS = /* GraphQL */ `
  subscription CatalogEvents {
    catalogEvents { revision type toolName }
  }
`;

const PREFERENCES = ['BALANCED', 'FAST', 'ACCURATE', 'THOROUGH', 'CHEAP', 'SIMPLE'];
const ENVIRONMENTS = ['PRODUCTION', 'NON_PRODUCTION'];
export const GRAPHQL_BATCH = 20;
export const NDJSON_BATCH = 100;

/** Numbers a pipeline step passes: different on (almost) every request. */
function randomVariables() {
  return { N: randomInt(1, 100000), file_size_kb: randomInt(1, 1 << 20), lines: randomInt(1, 1e7), packet_count: randomInt(1, 50) };
}

/**
 * Runs of patterns the catalog holds, with ids unique to this run.
 * @param {import('./lib.js').OperationContext} ctx
 * @param {number} count
 */
function executions(ctx, count) {
  const runs = [];
  for (let i = 0; i < count; i++) {
    const target = pick(ctx.state.patterns);
    const success = Math.random() > 0.05;
    runs.push({
      executionId: `loadtest-${ctx.runId}-${++ctx.state.reported}`,
      name: target.name,
      platform: target.platform,
      version: target.version,
      capability: target.capability,
      pattern: target.pattern,
      startedAt: new Date(Date.now() - randomInt(1000, 60000)).toISOString(),
      durationMs: randomInt(5, 20000),
      success,
      cost: randomInt(0, 100) / 10,
      ...(success ? {} : { errorType: 'TIMEOUT', errorMessage: 'load test: simulated failure' }),
      environment: pick(ENVIRONMENTS),
      variables: randomVariables(),
    });
  }
  return runs;
}

/** @type {import('./lib.js').Scenario} */
export const pipeline = {
  name: 'pipeline',
  description:
    'The pipeline: selectTools with varied variables 60 %, profiles with If-None-Match 20 %, runs reported in batches (GraphQL 20 per call 10 %, NDJSON 100 per call 10 %), one catalogEvents subscriber.',
  setup: {
    requests: () => [graphqlRequest('PipelinePatterns', PIPELINE_PATTERNS)],
    state: (_runId, responses) => {
      const body = parseBody(responses[0]);
      const edges = body && body.data && body.data.tools ? body.data.tools.edges : [];
      /** @type {Array<{ name: string, platform: string, version: string, capability: string, pattern: string }>} */
      const patterns = [];
      for (const { node } of edges) {
        for (const capability of node.capabilities) {
          for (const pattern of capability.patterns) {
            patterns.push({ name: node.name, platform: node.platform, version: node.version, capability: capability.name, pattern: pattern.name });
          }
        }
      }
      if (!patterns.length) throw new Error(`the catalog has no enabled tool with a pattern to select or report: ${responses[0].body.slice(0, 300)}`);
      return { patterns, capabilities: [...new Set(patterns.map((p) => p.capability))], reported: 0, etags: {} };
    },
  },
  mix: [
    {
      name: 'SelectTools',
      weight: 60,
      issue: 'issue 13 (selectTools)',
      request: (ctx) =>
        graphqlRequest('SelectTools', SELECT_TOOLS, {
          request: {
            capability: pick(ctx.state.capabilities),
            variables: randomVariables(),
            preference: pick(PREFERENCES),
            environment: pick(ENVIRONMENTS),
            limit: randomInt(1, 10),
          },
        }),
      check: (res) => {
        const { checks, value } = graphqlChecks(res, 'selectTools');
        const candidates = value && Array.isArray(value.candidates) ? value.candidates : null;
        return {
          ...checks,
          // The rule compares scores rounded to 12 decimal places (then names): two scores equal
          // there may differ in the last bits either way.
          'ranked in order': Boolean(
            candidates &&
              candidates.every((/** @type {any} */ c, /** @type {number} */ i) => c.rank === i + 1 && (i === 0 || Math.round(c.score * 1e12) <= Math.round(candidates[i - 1].score * 1e12))),
          ),
          'fresh answer': Boolean(value && value.stale === false),
        };
      },
    },
    {
      name: 'Profiles',
      weight: 20,
      issue: 'issue 13 (GET /profiles)',
      statuses: [200, 304],
      request: (ctx) => {
        const path = `/profiles?platform=${encodeURIComponent(pick(PLATFORMS))}`;
        const etag = ctx.state.etags[path];
        return { method: 'GET', path, headers: { accept: 'application/json', ...(etag ? { 'if-none-match': etag } : {}) } };
      },
      check: (res, ctx, req) => {
        if (res.headers.etag) ctx.state.etags[req.path] = res.headers.etag;
        const body = res.status === 304 ? null : parseBody(res);
        return {
          'status is 200 or 304': res.status === 200 || res.status === 304,
          'profiles or not modified': res.status === 304 || Boolean(body && body.tools && typeof body.tools === 'object'),
          'has an ETag': res.status === 304 || Boolean(res.headers.etag),
        };
      },
    },
    {
      name: 'ReportExecutions',
      weight: 10,
      auth: 'reporter',
      issue: 'issue 15 (reportExecutions)',
      request: (ctx) => graphqlRequest('ReportExecutions', REPORT_EXECUTIONS, { executions: executions(ctx, GRAPHQL_BATCH) }),
      check: (res) => graphqlChecks(res, 'reportExecutions').checks,
    },
    {
      name: 'PostExecutions',
      weight: 10,
      auth: 'reporter',
      issue: 'issue 15 (POST /executions)',
      statuses: [200, 202],
      request: (ctx) => ({
        method: 'POST',
        path: '/executions',
        headers: { 'content-type': 'application/x-ndjson', accept: 'application/json' },
        body: executions(ctx, NDJSON_BATCH).map((run) => JSON.stringify(run)).join('\n') + '\n',
      }),
      check: (res) => ({ 'status is 2xx': res.status === 200 || res.status === 202, 'answer is JSON': parseBody(res) !== null }),
    },
  ],
  subscribers: [{ name: 'CatalogEvents', count: 1, query: CATALOG_EVENTS, minEvents: 0 }],
  thresholds: {
    errorRate: 0.01,
    checkFailureRate: 0.01,
    // The goals: selectTools p99 < 20 ms at 1,500 req/s (issue 13); the whole mix ≥ 800 req/s.
    latency: {
      SelectTools: { p95: 20, p99: 50 },
      Profiles: { p95: 100, p99: 250 },
      ReportExecutions: { p95: 250, p99: 1000 },
      PostExecutions: { p95: 250, p99: 1000 },
    },
  },
};
