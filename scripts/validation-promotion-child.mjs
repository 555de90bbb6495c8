// The child of scripts/validation-promotion.ts: parses and validates `count` distinct documents
// against the service's schema (the build in dist/, as production runs it), back to back or with the
// event loop turning between them. Run with --trace-gc-nvp; the parent reads the young collections.
//   node --trace-gc-nvp scripts/validation-promotion-child.mjs <sync|turn> <count>
import { parse, validate } from 'graphql';
import { schema } from '../dist/src/schema/index.js';

const [mode, countText] = process.argv.slice(2);
const count = Number(countText);
const document = (i) =>
  `query ToolByName { tool(name: "tool-${i}", platform: "linux") { name version description capabilities { name patterns { name timeEstimateMs costEstimate complexityScore } } } }`;
for (let i = 0; i < count; i++) {
  validate(schema, parse(document(i)));
  if (mode === 'turn') await new Promise((resolve) => setImmediate(resolve));
}
