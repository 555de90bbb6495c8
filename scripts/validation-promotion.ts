// How much of graphql-js's validation of distinct documents V8's young collections promote to the old
// generation, with and without the event loop turning between documents (README, "Memory"). Each
// mode runs in child processes (scripts/validation-promotion-child.mjs) with `--trace-gc-nvp`; the
// figure is what a child's young collections promoted, less what a child that validates nothing
// promotes (loading the schema). Run `npm run build` first: the child loads the built schema.
//
//   npx tsx scripts/validation-promotion.ts [--count 5000]
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { integer } from './bench/cli.js';

const opts = new Command().option('--count <n>', 'distinct documents', integer('--count'), 5000).parse().opts<{ count: number }>();
const child = fileURLToPath(new URL('./validation-promotion-child.mjs', import.meta.url));
if (!existsSync(fileURLToPath(new URL('../dist/src/schema/index.js', import.meta.url)))) {
  console.error('validation-promotion: run `npm run build` first');
  process.exit(1);
}

/** Bytes promoted by the child's young collections (`gc=s` lines of --trace-gc-nvp). */
function promoted(mode: 'sync' | 'turn', v8Flags: string[], count: number): number {
  const out = execFileSync(process.execPath, ['--trace-gc-nvp', ...v8Flags, child, mode, String(count)], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  let bytes = 0;
  for (const line of out.split('\n')) if (/ gc=s /.test(line)) bytes += Number(/ promoted=(\d+)/.exec(line)?.[1] ?? 0);
  return bytes;
}
const megabytes = (mode: 'sync' | 'turn', v8Flags: string[] = []) =>
  ((promoted(mode, v8Flags, opts.count) - promoted(mode, v8Flags, 0)) / 1024 / 1024).toFixed(1).padStart(7);

console.log(`promoted by young collections while validating ${opts.count} distinct documents:`);
console.log(`  back to back                          ${megabytes('sync')} MB`);
console.log(`  event loop turning between them       ${megabytes('turn')} MB`);
console.log(`  turning, with --no-minor-gc-task      ${megabytes('turn', ['--no-minor-gc-task'])} MB`);
