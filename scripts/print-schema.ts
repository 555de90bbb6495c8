// Prints the Pothos schema to schema.graphql (committed; a test fails when it drifts).
import { writeFile } from 'node:fs/promises';
import { printSchema } from 'graphql';
import { sortedSchema } from '../src/schema/index.js';

const target = new URL('../schema.graphql', import.meta.url);
await writeFile(target, `${printSchema(sortedSchema)}\n`);
console.log(`wrote ${target.pathname}`);
