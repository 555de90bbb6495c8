/**
 * Writes the generated monitoring files (rules, their tests, the dashboard, the metric reference in
 * monitoring/README.md), or with --check says which committed file differs and exits 1.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { generatedFiles } from './files.js';

const check = process.argv.includes('--check');
let stale = 0;
for (const [file, content] of await generatedFiles()) {
  const path = new URL(`../../${file}`, import.meta.url);
  let current: string | undefined;
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === content) continue;
  if (check) {
    console.error(`${file} is out of date: run npm run monitoring:generate`);
    stale += 1;
  } else {
    writeFileSync(path, content);
    console.log(`wrote ${file}`);
  }
}
process.exit(stale ? 1 : 0);
