// selectTools requests for the benchmarks: the same query and the same variable sets wherever a
// benchmark drives selection, so their figures are comparable.

export const SELECT_QUERY =
  'query Select($request: SelectToolsInput!) { selectTools(request: $request) { revision stale ambiguous ' +
  'candidates { rank score pattern capability tool { name platform version } estimate { timeMs cost } executionHint } ' +
  'excluded { pattern reason detail tool { name platform } } } }';
/** Capabilities that the generated catalog and the legacy corpus share, so every selection has candidates. */
export const SELECT_CAPABILITIES = ['text_search', 'process_listing', 'service_status', 'disk_usage', 'dns_lookup', 'port_probe', 'network_scan'];
export const PREFERENCES = ['BALANCED', 'FAST', 'ACCURATE', 'THOROUGH', 'CHEAP', 'SIMPLE'];

/** The variables of the i-th request: every i gives numbers no other i gives (nothing to cache). */
export const selectVariables = (i: number) => ({ N: 1 + i, pages: 1 + (i % 7), lines: 1000 + i * 3, hosts: 1 + (i % 50) });

/** `count` distinct selection bodies, the i-th for request number `first + i`. */
export function selectBodies(count: number, first = 0): string[] {
  return Array.from({ length: count }, (_, index) => {
    const i = first + index;
    return JSON.stringify({
      query: SELECT_QUERY,
      variables: {
        request: {
          capability: SELECT_CAPABILITIES[i % SELECT_CAPABILITIES.length],
          preference: PREFERENCES[i % PREFERENCES.length],
          variables: selectVariables(i),
          limit: 5,
        },
      },
    });
  });
}
