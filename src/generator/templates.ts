// The five starting points of `tool-catalog new --template <name>`. Each pre-fills every step of
// the wizard with values typical of its kind of tool; the operator names the tool and adjusts.
import { blankPattern, type Answers } from './answers.js';

export const TEMPLATE_NAMES = ['simple-command', 'api-tool', 'database-tool', 'monitoring-tool', 'automation-tool'] as const;
export type TemplateName = (typeof TEMPLATE_NAMES)[number];

const input = (name: string, type: string, description: string, fallback?: unknown) => ({ name, type, description, ...(fallback === undefined ? {} : { default: fallback }) });

export const TEMPLATES: Record<TemplateName, { summary: string; answers: Answers }> = {
  'simple-command': {
    summary: 'a command run on a host (like grep, df, ps)',
    answers: {
      name: '',
      platform: 'linux',
      category: 'system',
      description: 'Runs a command on a host and returns its output.',
      version: '1.0',
      execution_location: 'remote-agent',
      defaults: { accuracy_level: 'real-time', freshness: 'live', data_source: 'local_command' },
      dependencies: [],
      capabilities: [
        {
          name: 'command_output',
          description: 'Run the command and return what it prints.',
          patterns: [
            {
              ...blankPattern('run_once'),
              description: 'Run the command once with the given arguments.',
              typical_use_cases: ['check the state of a host during an incident'],
              time_estimate_ms: '100 + N / 10',
              cost_estimate: '1',
              complexity_score: 0.1,
              preference_match: { speed: 0.9, accuracy: 0.9, cost: 0.95, complexity: 0.9, completeness: 0.7 },
              required_inputs: [input('host', 'string', 'Host to run the command on')],
              optional_inputs: [input('arguments', 'string', 'Arguments for the command', '')],
              expected_outputs: [input('output', 'string', 'What the command printed')],
            },
          ],
        },
      ],
      metadata: { author: '', tags: ['command'] },
    },
  },
  'api-tool': {
    summary: 'a call to an HTTP API (cloud or SaaS)',
    answers: {
      name: '',
      platform: 'cloud',
      category: 'cloud',
      description: 'Calls an HTTP API and returns the resources it lists.',
      version: '1.0',
      execution_location: 'control-plane',
      defaults: { accuracy_level: 'near-real-time', freshness: 'live', data_source: 'provider_api' },
      dependencies: ['network access to the API endpoint', 'API credentials'],
      capabilities: [
        {
          name: 'resource_listing',
          description: 'List resources through the API, page by page.',
          patterns: [
            {
              ...blankPattern('paged_list'),
              description: 'Fetch every page of the listing.',
              typical_use_cases: ['inventory the resources of an account'],
              time_estimate_ms: '300 + 250 * pages',
              cost_estimate: '0.1 * pages',
              complexity_score: 0.3,
              scope: 'batch',
              policy: { requires_approval: false, production_safe: true, max_cost: 5 },
              preference_match: { speed: 0.6, accuracy: 0.9, cost: 0.7, complexity: 0.7, completeness: 0.9 },
              required_inputs: [input('endpoint', 'string', 'Base URL of the API')],
              optional_inputs: [input('pages', 'integer', 'Pages to fetch', 1)],
              expected_outputs: [input('resources', 'array', 'The resources listed')],
            },
          ],
        },
      ],
      metadata: { author: '', tags: ['api'] },
    },
  },
  'database-tool': {
    summary: 'a query against a database',
    answers: {
      name: '',
      platform: 'database',
      category: 'database',
      description: 'Runs a read-only query against a database.',
      version: '1.0',
      execution_location: 'remote-agent',
      defaults: { accuracy_level: 'real-time', freshness: 'live', data_source: 'database' },
      dependencies: ['database client', 'read-only credentials'],
      capabilities: [
        {
          name: 'query_execution',
          description: 'Run a query and return its rows.',
          patterns: [
            {
              ...blankPattern('read_query'),
              description: 'Run one read-only query.',
              typical_use_cases: ['check row counts after a migration'],
              time_estimate_ms: '50 + rows / 1000',
              cost_estimate: '1 + rows / 100000',
              complexity_score: 0.4,
              scope: 'batch',
              policy: { requires_approval: false, production_safe: true, max_cost: 10, max_execution_time: 60 },
              preference_match: { speed: 0.7, accuracy: 0.95, cost: 0.8, complexity: 0.6, completeness: 0.9 },
              required_inputs: [input('connection', 'string', 'Connection string or service name'), input('query', 'string', 'The query')],
              optional_inputs: [input('rows', 'integer', 'Rows the query is expected to return', 1000)],
              expected_outputs: [input('rows', 'array', 'The rows returned')],
            },
          ],
        },
      ],
      metadata: { author: '', tags: ['database'] },
    },
  },
  'monitoring-tool': {
    summary: 'a read of metrics or alerts',
    answers: {
      name: '',
      platform: 'monitoring',
      category: 'monitoring',
      description: 'Reads metrics from a monitoring system.',
      version: '1.0',
      execution_location: 'control-plane',
      defaults: { accuracy_level: 'near-real-time', freshness: 'scrape-interval', data_source: 'metrics_store' },
      dependencies: ['access to the monitoring API'],
      capabilities: [
        {
          name: 'metric_query',
          description: 'Query a metric over a time range.',
          patterns: [
            {
              ...blankPattern('range_query'),
              description: 'Evaluate a query over a range of time.',
              typical_use_cases: ['see how latency evolved during an incident'],
              time_estimate_ms: '200 + series * 2',
              cost_estimate: '0.5',
              complexity_score: 0.35,
              scope: 'batch',
              completeness: 'summary',
              preference_match: { speed: 0.8, accuracy: 0.8, cost: 0.9, complexity: 0.7, completeness: 0.6 },
              required_inputs: [input('query', 'string', 'The metric query')],
              optional_inputs: [input('series', 'integer', 'Series the query returns', 10)],
              expected_outputs: [input('samples', 'array', 'Samples per series')],
            },
          ],
        },
      ],
      metadata: { author: '', tags: ['monitoring'] },
    },
  },
  'automation-tool': {
    summary: 'an action that changes systems (needs approval)',
    answers: {
      name: '',
      platform: 'linux',
      category: 'automation',
      description: 'Changes the state of systems, for example restarts a service.',
      version: '1.0',
      execution_location: 'remote-agent',
      defaults: { accuracy_level: 'real-time', freshness: 'live', data_source: 'target_system' },
      dependencies: ['privileged credentials on the target'],
      capabilities: [
        {
          name: 'remediation',
          description: 'Apply a change to fix a problem.',
          patterns: [
            {
              ...blankPattern('apply_change'),
              description: 'Apply one change to each target, one after the other.',
              typical_use_cases: ['restart a stuck service'],
              // Per target changed, not per N (100 items): at the defaults selection works these out
              // to 3500 ms and 3, inside the policy below, so the pattern is a candidate as written.
              time_estimate_ms: '2000 + 1500 * targets',
              cost_estimate: '2 + targets',
              complexity_score: 0.6,
              scope: 'batch',
              // Production is where remediation is needed: a person approves each run instead.
              policy: { requires_approval: true, production_safe: true, max_cost: 50, max_execution_time: 600 },
              preference_match: { speed: 0.4, accuracy: 0.8, cost: 0.5, complexity: 0.4, completeness: 0.8 },
              required_inputs: [input('target', 'string', 'What to change')],
              optional_inputs: [input('targets', 'integer', 'How many targets are changed, one after the other', 1), input('dry_run', 'boolean', 'Only show what would change', true)],
              expected_outputs: [input('changed', 'boolean', 'Whether anything changed'), input('log', 'string', 'What was done')],
            },
          ],
        },
      ],
      metadata: { author: '', tags: ['automation'] },
    },
  },
};

/** A deep copy of a template's answers, so a run never changes the template. */
export function templateAnswers(name: TemplateName): Answers {
  return structuredClone(TEMPLATES[name].answers);
}
