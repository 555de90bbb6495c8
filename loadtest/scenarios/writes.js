// Editors updating tools while readers read and a subscriber follows the changes. The editors write
// only tools the scenario creates for itself in setup (`loadtest-<run>-<n>` on platform `custom`,
// capability `loadtest_probe`, so no pipeline selects them) and deletes afterwards.
import { LIST_TOOLS, TOOL_BY_NAME } from './legacy.js';
import { SAMPLE_TOOLS, graphqlChecks, graphqlRequest, parseBody, pick, stepProblem } from './lib.js';

export const WRITE_TARGETS = 5;

/** How often teardown deletes a tool again when an update that was still in flight got there first. */
const DELETE_RETRIES = 3;

/**
 * The revision a deleteTool ConflictError names, or null when the response is anything else.
 * @param {import('./lib.js').LoadResponse} res
 * @returns {number | null}
 */
function conflictRevision(res) {
  const body = parseBody(res);
  const result = body && body.data ? body.data.deleteTool : null;
  return result && result.__typename === 'ConflictError' && typeof result.currentRevision === 'number' ? result.currentRevision : null;
}

export const CREATE_TOOL = /* GraphQL */ `
  mutation LoadtestCreateTool($input: ToolInput!) {
    createTool(input: $input, reason: "load test setup") {
      __typename
      ... on Tool { name platform revision }
      ... on Error { message }
    }
  }
`;

export const UPDATE_TOOL = /* GraphQL */ `
  mutation UpdateTool($name: String!, $platform: String!, $revision: Int!, $description: String!) {
    updateTool(name: $name, platform: $platform, revision: $revision, changes: { description: $description }, reason: "load test write") {
      __typename
      ... on Tool { revision version }
      ... on ConflictError { currentRevision }
      ... on Error { message }
    }
  }
`;

export const TOOL_REVISION = /* GraphQL */ `
  query WrittenTool($name: String!, $platform: String!) {
    tool(name: $name, platform: $platform) { name revision version description }
  }
`;

export const DELETE_TOOL = /* GraphQL */ `
  mutation LoadtestDeleteTool($name: String!, $platform: String!, $revision: Int!) {
    deleteTool(name: $name, platform: $platform, revision: $revision, reason: "load test teardown") {
      __typename
      ... on Error { message }
      ... on ConflictError { currentRevision }
    }
  }
`;

export const CATALOG_EVENTS = /* GraphQL */ `
  subscription CatalogEvents {
    catalogEvents(types: [TOOL_VERSIONED]) { revision type toolName version }
  }
`;

/** @param {string} runId @param {number} index */
function targetName(runId, index) {
  return `loadtest-${runId}-${index}`;
}

/** @param {string} name */
function toolInput(name) {
  return {
    name,
    platform: 'custom',
    version: '1.0',
    category: 'automation',
    description: 'Written by the load test; deleted when it ends.',
    tags: ['loadtest'],
    capabilities: [
      {
        name: 'loadtest_probe',
        description: 'Nothing: a tool for load tests to write.',
        patterns: [{ name: 'noop', timeEstimateMs: '10 + N', costEstimate: '0', complexityScore: 0.1 }],
      },
    ],
  };
}

/** @type {import('./lib.js').Scenario} */
export const writes = {
  name: 'writes',
  description: `${WRITE_TARGETS} editors' tools updated (30 %) while readers list (25 %), read sample tools (20 %) and read the tools being written (25 %); one subscriber follows TOOL_VERSIONED events.`,
  setup: {
    requests: (runId) =>
      Array.from({ length: WRITE_TARGETS }, (_, i) => ({
        ...graphqlRequest('LoadtestCreateTool', CREATE_TOOL, { input: toolInput(targetName(runId, i)) }),
        auth: /** @type {const} */ ('editor'),
      })),
    state: (_runId, responses) => {
      const tools = responses.map((res) => {
        const body = parseBody(res);
        const created = body && body.data ? body.data.createTool : null;
        if (!created || created.__typename !== 'Tool') {
          throw new Error(`could not create a tool to write: HTTP ${res.status} ${res.body.slice(0, 300)}`);
        }
        return { name: created.name, platform: created.platform, revision: created.revision };
      });
      return { tools, written: 0 };
    },
    teardown: (state) =>
      state.tools.flatMap((/** @type {{ name: string, platform: string }} */ tool) => {
        /** @param {number} revision @param {boolean} last */
        const deleteAt = (revision, last) => ({
          ...graphqlRequest('LoadtestDeleteTool', DELETE_TOOL, { name: tool.name, platform: tool.platform, revision }),
          auth: /** @type {const} */ ('editor'),
          // An update still in flight when the load stopped may commit after the revision was read:
          // a conflict then is retried at the revision it names, and is a problem only on the last try.
          problem: (/** @type {import('./lib.js').LoadResponse} */ res) => (!last && conflictRevision(res) !== null ? null : stepProblem(res)),
        });
        /** @type {import('./lib.js').SetupStep[]} */
        const steps = [
          graphqlRequest('WrittenTool', TOOL_REVISION, { name: tool.name, platform: tool.platform }),
          (previous) => {
            const current = previous ? parseBody(previous) : null;
            return deleteAt(current && current.data && current.data.tool ? current.data.tool.revision : 0, false);
          },
        ];
        for (let attempt = 1; attempt <= DELETE_RETRIES; attempt++) {
          steps.push((previous) => {
            const revision = previous ? conflictRevision(previous) : null;
            // Deleted already: read it again, harmlessly, so every tool takes the same steps.
            return revision === null ? graphqlRequest('WrittenTool', TOOL_REVISION, { name: tool.name, platform: tool.platform }) : deleteAt(revision, attempt === DELETE_RETRIES);
          });
        }
        // Whatever happened above, the tool must be gone at the end.
        steps.push({
          ...graphqlRequest('WrittenTool', TOOL_REVISION, { name: tool.name, platform: tool.platform }),
          problem: (res) => stepProblem(res) ?? (/"tool":null/.test(res.body) ? null : `tool ${tool.name} (${tool.platform}) is still there: ${res.body.slice(0, 200)}`),
        });
        return steps;
      }),
  },
  mix: [
    {
      name: 'UpdateTool',
      weight: 30,
      auth: 'editor',
      request: (ctx) => {
        const tool = pick(ctx.state.tools);
        ctx.state.written++;
        return graphqlRequest('UpdateTool', UPDATE_TOOL, {
          name: tool.name,
          platform: tool.platform,
          revision: tool.revision,
          description: `Load test write ${ctx.state.written} at ${new Date().toISOString()}`,
        });
      },
      check: (res, ctx, req) => {
        const { checks, value } = graphqlChecks(res, 'updateTool');
        const asked = JSON.parse(req.body || '{}').variables;
        const tool = ctx.state.tools.find((/** @type {{ name: string }} */ t) => asked && t.name === asked.name);
        // Another editor may have written the same tool since this one read it: a conflict is an
        // expected answer (nothing written, current revision returned), not a failure.
        if (value && tool) {
          if (value.__typename === 'Tool') tool.revision = Math.max(tool.revision, value.revision);
          if (value.__typename === 'ConflictError') tool.revision = Math.max(tool.revision, value.currentRevision);
        }
        return { ...checks, 'published or conflict': Boolean(value && (value.__typename === 'Tool' || value.__typename === 'ConflictError')) };
      },
    },
    {
      name: 'WrittenTool',
      weight: 25,
      request: (ctx) => {
        const tool = pick(ctx.state.tools);
        return graphqlRequest('WrittenTool', TOOL_REVISION, { name: tool.name, platform: tool.platform });
      },
      check: (res) => {
        const { checks, value } = graphqlChecks(res, 'tool');
        return { ...checks, 'has a revision': Boolean(value && value.revision >= 1) };
      },
    },
    {
      name: 'ListTools',
      weight: 25,
      request: () => graphqlRequest('ListTools', LIST_TOOLS, { first: 20, orderBy: { field: 'NAME' } }),
      check: (res) => {
        const { checks, value } = graphqlChecks(res, 'tools');
        return { ...checks, 'page is not empty': Boolean(value && value.edges.length > 0) };
      },
    },
    {
      name: 'ToolByName',
      weight: 20,
      request: () => graphqlRequest('ToolByName', TOOL_BY_NAME, pick(SAMPLE_TOOLS)),
      check: (res) => graphqlChecks(res, 'tool').checks,
    },
  ],
  subscribers: [{ name: 'CatalogEvents', count: 1, query: CATALOG_EVENTS, minEvents: 1 }],
  thresholds: {
    errorRate: 0.01,
    checkFailureRate: 0.01,
    latency: {
      UpdateTool: { p95: 250, p99: 1000 },
      WrittenTool: { p95: 100, p99: 400 },
      ListTools: { p95: 100, p99: 400 },
      ToolByName: { p95: 100, p99: 400 },
    },
  },
};
