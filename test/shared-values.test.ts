import { describe, expect, it } from 'vitest';
import { compileTool, SharedValues, type MemoryToolRow } from '../src/memoryCatalog/snapshot.js';

const input = (name: string, value: number) => ({ name, type: 'integer', description: 'Give up after this many seconds', default: value });

function row(id: string, inputs: unknown[], policy: Record<string, unknown>): MemoryToolRow {
  const pattern = {
    id: `${id}-p`,
    name: 'scan',
    description: 'Scan',
    typicalUseCases: ['audit', 'verify'],
    limitations: [],
    timeEstimateMs: '100 + N',
    costEstimate: '1',
    complexityScore: 0.4,
    scope: null,
    completeness: null,
    policy,
    preferenceMatch: { accuracy: 0.5 },
    requiredInputs: inputs,
    optionalInputs: [],
    expectedOutputs: [],
    examples: [],
    metadata: {},
  };
  return {
    id,
    name: `tool-${id}`,
    platform: 'linux',
    description: 'A tool',
    defaults: {},
    dependencies: [],
    metadata: {},
    examples: [],
    tags: ['a'],
    revision: 1,
    updatedAt: new Date(0),
    enabled: true,
    status: 'ACTIVE',
    successor: null,
    capabilities: [{ id: `${id}-c`, name: 'scan', description: null, metadata: {}, patterns: [pattern] }],
    _count: { capabilities: 1 },
  } as unknown as MemoryToolRow;
}

describe('values shared between the rows of one build', () => {
  it('holds equal JSON values and strings once, frozen, and leaves every value as it was', () => {
    const shared = new SharedValues();
    const first = row('1', [input('timeout', 60), input('retries', 3)], { max_cost: 10, production_safe: true });
    const second = row('2', [input('timeout', 60), input('retries', 4)], { max_cost: 10, production_safe: true });
    const expected = [structuredClone(first), structuredClone(second)];
    const [a, b] = [compileTool(first, shared), compileTool(second, shared)];
    const patternOf = (tool: typeof a) => tool.row.capabilities[0]!.patterns[0]!;

    // Equal values are one object; a value that differs anywhere inside is its own.
    expect(patternOf(a).policy).toBe(patternOf(b).policy);
    expect((patternOf(a).requiredInputs as unknown[])[0]).toBe((patternOf(b).requiredInputs as unknown[])[0]);
    expect((patternOf(a).requiredInputs as unknown[])[1]).not.toBe((patternOf(b).requiredInputs as unknown[])[1]);
    expect(patternOf(a).requiredInputs).not.toBe(patternOf(b).requiredInputs);
    expect(patternOf(a).typicalUseCases).toBe(patternOf(b).typicalUseCases);
    expect(Object.isFrozen(patternOf(a).policy)).toBe(true);
    // Nothing changed but identity.
    expect(JSON.parse(JSON.stringify([a.row, b.row]))).toEqual(JSON.parse(JSON.stringify(expected)));
  });

  it('keeps the order of keys: values whose keys differ in order are not merged', () => {
    const shared = new SharedValues();
    const left = shared.json({ a: 1, b: 2 });
    const right = shared.json({ b: 2, a: 1 });
    expect(right).not.toBe(left);
    expect(Object.keys(right)).toEqual(['b', 'a']);
    expect(shared.json({ a: 1, b: 2 })).toBe(left);
    // A number and the string of it, null and a missing value, are different values.
    expect(shared.json([1])).not.toBe(shared.json(['1']));
    expect(shared.json({ x: null })).not.toBe(shared.json({ x: 'null' }));
  });

  it('shares nothing between builds', () => {
    const first = compileTool(row('1', [input('timeout', 60)], { max_cost: 10 }), new SharedValues());
    const second = compileTool(row('2', [input('timeout', 60)], { max_cost: 10 }), new SharedValues());
    expect(first.row.capabilities[0]!.patterns[0]!.policy).not.toBe(second.row.capabilities[0]!.patterns[0]!.policy);
    expect(first.row.capabilities[0]!.patterns[0]!.policy).toEqual(second.row.capabilities[0]!.patterns[0]!.policy);
  });
});
