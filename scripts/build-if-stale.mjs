#!/usr/bin/env node
// Runs before `npm start`: compiles src/ to dist/ when dist/ is missing or older than any source,
// so `npm ci && npm start` on a fresh clone works and production still runs plain `node`.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const entry = path.join(root, 'dist', 'src', 'server.js');
const stamp = path.join(root, 'dist', '.tsbuildinfo');

function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) latest = Math.max(latest, newest(full));
    else if (/\.(ts|mts|js|mjs|json)$/.test(entry.name)) latest = Math.max(latest, statSync(full).mtimeMs);
  }
  return latest;
}

const sources = Math.max(newest(path.join(root, 'src')), ...['tsconfig.json', 'tsconfig.build.json', 'package.json'].map((file) => statSync(path.join(root, file)).mtimeMs));
const built = existsSync(entry) && existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
if (built >= sources) process.exit(0);

const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
if (!existsSync(tsc)) {
  console.error('tool-catalog: dist/ is missing or stale and TypeScript is not installed; run `npm ci` (with dev dependencies) and `npm run build`');
  process.exit(1);
}
console.error('tool-catalog: compiling src/ to dist/ …');
const result = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
if (result.status !== 0) process.exit(result.status ?? 1);
// tsc leaves an up-to-date build info untouched when nothing changed: mark the check as done.
const now = new Date();
utimesSync(stamp, now, now);
