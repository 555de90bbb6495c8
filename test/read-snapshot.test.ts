import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { needsSnapshot } from '../src/db/readSnapshot.js';
import { schema } from '../src/schema/index.js';

const needs = (query: string) => needsSnapshot(parse(query), undefined, schema);

describe('which queries read under one snapshot', () => {
  it('skips current-state reads: they are answered from one in-memory revision, with no SQL', () => {
    expect(needs('{ tool(name: "grep", platform: "linux") { name version capabilities { name patterns { name timeEstimateMs } } } }')).toBe(false);
    expect(needs('{ tool(name: "grep") { version latest { version } successor { name } } }')).toBe(false);
    expect(needs('{ a: tool(name: "grep") { version } b: tool(name: "find") { version } }')).toBe(false);
    expect(needs('{ tools(first: 5) { totalCount pageInfo { hasNextPage } edges { cursor node { name } } } }')).toBe(false);
    expect(needs('{ catalogStats { tools byPlatform { key count } } capabilities { name toolCount tools { name } } }')).toBe(false);
    // Fragments are followed.
    expect(needs('{ tool(name: "grep") { ...F } } fragment F on Tool { name ... on Tool { version } }')).toBe(false);
  });

  it('skips one root answered by one statement: a named version, or a version by id', () => {
    expect(needs('query One { toolById(id: "x") { __typename id parent { version } } }')).toBe(false);
    expect(needs('{ tool(name: "grep", version: "1.0") { version parent { version } } catalogStats { tools } }')).toBe(false);
  });

  it('takes one for anything that may need several statements', () => {
    expect(needs('{ tool(name: "grep") { executionStats { runs } } }')).toBe(true);
    expect(needs('{ tool(name: "grep") { ...F } } fragment F on Tool { executionStats { runs } }')).toBe(true);
    // Relations memory does not hold: each a statement of its own.
    expect(needs('{ tools(first: 5) { edges { node { parent { version } } } } }')).toBe(true);
    expect(needs('{ tool(name: "grep") { capabilities { tool { name } } } }')).toBe(true);
    expect(needs('{ a: tool(name: "grep", version: "1") { version } b: tool(name: "find", version: "2") { version } }')).toBe(true);
    expect(needs('{ toolVersions(name: "grep", platform: "linux") { version } tool(name: "grep", version: "1") { version } }')).toBe(true);
    expect(needs('{ tool(name: "grep") { ...Missing } }')).toBe(true);
  });

  it('leaves mutations and subscriptions to their own transactions', () => {
    expect(needs('mutation { reloadCatalog { reload { id } } }')).toBe(false);
    expect(needs('subscription { catalogEvents { revision } }')).toBe(false);
  });
});
