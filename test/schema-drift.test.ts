import { readFileSync } from 'node:fs';
import { printSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { sortedSchema } from '../src/schema/index.js';

describe('schema.graphql', () => {
  it('is the printed Pothos schema (run `npm run schema:print` after changing the schema)', () => {
    const committed = readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8');
    expect(committed).toBe(`${printSchema(sortedSchema)}\n`);
  });

  it('describes every public type and every field of the query root', () => {
    const query = sortedSchema.getQueryType()!;
    for (const field of Object.values(query.getFields())) {
      expect(field.description, `Query.${field.name}`).toBeTruthy();
    }
    for (const name of ['Tool', 'Capability', 'Pattern', 'CatalogStats', 'ToolConnection']) {
      const type = sortedSchema.getType(name)!;
      expect(type.description, name).toBeTruthy();
    }
  });
});
