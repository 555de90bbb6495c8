import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { needsSnapshot } from '../src/db/readSnapshot.js';

const needs = (query: string) => needsSnapshot(parse(query));

describe('which queries read under one snapshot', () => {
  it('skips one tool with its planned relations: one statement is consistent by itself', () => {
    expect(needs('{ tool(name: "grep", platform: "linux") { name version capabilities { name patterns { name timeEstimateMs } } } }')).toBe(false);
    expect(needs('query One { toolById(id: "x") { __typename id parent { version } } }')).toBe(false);
  });

  it('takes one for anything that may need several statements', () => {
    expect(needs('{ tool(name: "grep") { version latest { version } } }')).toBe(true);
    expect(needs('{ tool(name: "grep") { executionStats { runs } } }')).toBe(true);
    expect(needs('{ a: tool(name: "grep") { version } b: tool(name: "find") { version } }')).toBe(true);
    expect(needs('{ tools(first: 5) { totalCount edges { node { name } } } }')).toBe(true);
    expect(needs('{ catalogStats { tools } }')).toBe(true);
    // Fragments are not looked into: a snapshot, to be safe.
    expect(needs('{ tool(name: "grep") { ...F } } fragment F on Tool { name }')).toBe(true);
    expect(needs('{ tool(name: "grep") { ... on Tool { name } } }')).toBe(true);
  });

  it('leaves mutations and subscriptions to their own transactions', () => {
    expect(needs('mutation { reloadCatalog { reload { id } } }')).toBe(false);
    expect(needs('subscription { catalogEvents { revision } }')).toBe(false);
  });
});
