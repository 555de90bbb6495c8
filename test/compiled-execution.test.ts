import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runsCompiled } from '../src/schema/compiledExecution.js';
import { schema } from '../src/schema/index.js';
import { startTestService, type TestService } from './support/service.js';

// The pipeline's decision queries run on graphql-jit's compiled executor. These tests hold the
// compiled answers to graphql-js's: a root field the compiled executor does not take
// (`catalogRevision`) puts the same selection on graphql-js's executor, in the same request.

let service: TestService;
beforeAll(async () => {
  service = await startTestService();
});
afterAll(() => service.close());

const SELECTION = `selectTools(request: $request) {
  revision stale ambiguous preference weights { time cost complexity accuracy completeness }
  candidates {
    rank score capability pattern executionHint slaClass why
    tool { __typename name platform version category status tags }
    estimate { timeMs cost source expression { timeMs cost } observed { runs } }
    features { time cost complexity accuracy completeness }
    contributions { time cost complexity accuracy completeness }
    experiment { key arm }
  }
  excluded { tool { name platform version } capability pattern reason detail missingVariables limit value }
  experiment { key outcome } decisionId
}`;
const COMPILED = `query Ranked($request: SelectToolsInput!) { answer: ${SELECTION} }`;
const INTERPRETED = `query Listed($request: SelectToolsInput!) { answer: ${SELECTION} catalogRevision }`;

const compiledCount = async () => {
  const text = await (await service.app.yoga.fetch('http://catalog.test/metrics')).text();
  return Number(/^tool_catalog_graphql_compiled_operations_total (\d+)/m.exec(text)?.[1]);
};

describe('compiled execution of decision queries', () => {
  it('runs a decision query compiled, and a document with a planned relation, a mutation or another root field on graphql-js', () => {
    const decides = (source: string, operationName?: string) => runsCompiled(schema, parse(source), operationName);
    expect(decides(COMPILED)).toBe(true);
    expect(decides('query { assignment(experimentKey: "e", unitId: "u") { bucket arm { key tool { name version } } } }')).toBe(true);
    expect(decides(INTERPRETED)).toBe(false);
    // A relation under the tool (directly or through a fragment) is planned by the Prisma plugin.
    expect(decides('query { selectTools(request: { capability: "x" }) { candidates { tool { capabilities { name } } } } }')).toBe(false);
    expect(decides('query { selectTools(request: { capability: "x" }) { candidates { tool { ...T } } } } fragment T on Tool { name successor { name } }')).toBe(false);
    expect(decides('query { selectTools(request: { capability: "x" }) { candidates { tool { ...T } } } } fragment T on Tool { name version }')).toBe(true);
    expect(decides('query { ... on Query { selectTools(request: { capability: "x" }) { revision } } }')).toBe(false);
    // One operation per document: compilations are cached by document, whichever operation is named.
    const two = 'query A { selectTools(request: { capability: "x" }) { revision } } query B { selectTools(request: { capability: "y" }) { stale } }';
    expect(decides(two, 'A')).toBe(false);
    expect(decides(two, 'B')).toBe(false);
    expect(decides('mutation { reloadCatalog { __typename } }')).toBe(false);
  });

  it('answers exactly as graphql-js does, for rankings, exclusions of every kind and limits', async () => {
    const requests = [
      { capability: 'text_search' },
      { capability: 'Text_Search', variables: { N: 5000, file_size_kb: 9000 }, preference: 'FAST', limit: 1 },
      { capability: 'connectivity_check', variables: { N: 1, hosts: 40 }, environment: 'NON_PRODUCTION', limit: 50 },
      { capability: 'connectivity_check', maxTimeMs: 10, maxCost: 0.5, allowApproval: false, includeDeprecated: true },
      { capability: 'text_search', platform: 'windows', weights: { time: 0.3, cost: 0.2, complexity: 0.2, accuracy: 0.2, completeness: 0.1 } },
      { capability: 'process_listing', useObserved: true, unitId: 'job-7' },
      { capability: 'no_such_capability' },
    ];
    const before = await compiledCount();
    for (const request of requests) {
      const compiled = await service.graphql(COMPILED, { request });
      const interpreted = await service.graphql(INTERPRETED, { request });
      expect(compiled.errors, JSON.stringify(request)).toBeUndefined();
      expect(interpreted.errors).toBeUndefined();
      expect(JSON.stringify(compiled.data), JSON.stringify(request)).toBe(JSON.stringify({ answer: (interpreted.data as { answer: unknown }).answer }));
    }
    // Something was ranked, and something excluded, so the comparisons covered both lists.
    const lists = { ranked: 0, excluded: 0 };
    for (const request of requests) {
      const { data } = await service.graphql<{ answer: { candidates: unknown[]; excluded: unknown[] } }>(COMPILED, { request });
      lists.ranked += data!.answer.candidates.length;
      lists.excluded += data!.answer.excluded.length;
    }
    expect(lists.ranked).toBeGreaterThan(0);
    expect(lists.excluded).toBeGreaterThan(0);
    expect(await compiledCount()).toBe(before + 2 * requests.length);
  });

  it('refuses bad input with the same typed errors as graphql-js', async () => {
    const bad = [
      { capability: 'text_search', weights: { time: 0.5, cost: 0.5, complexity: 0.5, accuracy: 0, completeness: 0 } },
      { capability: 'text_search', limit: 0 },
      { capability: 'text_search', variables: { N: 'many' } },
    ];
    for (const request of bad) {
      const compiled = await service.graphql(COMPILED, { request });
      const interpreted = await service.graphql(INTERPRETED, { request });
      expect(compiled.errors?.[0]?.extensions?.code, JSON.stringify(request)).toBe('BAD_USER_INPUT');
      // The documents differ only after the selection (and the operations' names are as long), so
      // the field is at the same place in both.
      expect(compiled.errors).toEqual(interpreted.errors);
      expect((compiled.errors?.[0] as { locations?: unknown } | undefined)?.locations).toEqual([{ line: 1, column: COMPILED.indexOf('answer:') + 1 }]);
      // selectTools is non-null: its error makes the whole answer's data null.
      expect(compiled.data).toBeNull();
      expect(interpreted.data).toBeNull();
    }
    // Variables that do not fit the input type are refused before execution, in graphql-js's words:
    // the operation's own variable and the path into it.
    const wrongType = { request: { capability: 'text_search', limit: 'five' } };
    const compiled = await service.graphql(COMPILED, wrongType);
    expect(compiled.errors?.[0]?.message).toMatch(/^Variable "\$request" got invalid value "five" at "request\.limit"/);
    expect(compiled.errors).toEqual((await service.graphql(INTERPRETED, wrongType)).errors);
    expect(compiled.data).toBeUndefined();
  });
});
