// Where the service's memory goes, stage by stage, in one process: idle, with the in-memory catalog
// loaded, after --queries distinct cached answers (each tool by name, as `npm run bench` fills its
// cache), and after the caches are dropped. Prints RSS (/proc/self/status) and V8's heap figures after
// a full GC at each stage. Figures, no assertions.
//
//   node --expose-gc --import tsx scripts/memory-footprint.ts [--catalog <dir>] [--count 5000] [--server [--idle 60]]
//
// With --server it then runs the service as production does (`node dist/src/server.js`; run
// `npm run build` first) on the same database, fills its cache the same way over HTTP, and reads the
// server process's RSS from /proc/<pid>/status: idle, catalog loaded, after the fill.
//
// DATABASE_URL: a fresh database on that server (dropped at the end); without it, PGlite in memory.
// The catalog is generated into --catalog (kept, so a second run skips generating) and imported by
// a child process (`tool-catalog import`), so the import's garbage is not in the measured process.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { pino } from 'pino';
import { createApp } from '../src/app.js';
import { prepareDatabase } from '../src/bootstrap.js';
import { DEFAULT_CACHE } from '../src/config.js';
import { openDatabase } from '../src/db/database.js';
import { approximateBytes } from '../src/memoryCatalog/snapshot.js';
import { generateCatalog } from './generate-catalog.js';
import { createBenchDatabase } from './bench/postgres.js';
import { integer } from './bench/cli.js';
import { freePort, rssMb, spawnNode, stopChild, waitUntilReady } from './bench/processes.js';
import { baseEnv } from './bench/service.js';

const projectRoot = fileURLToPath(new URL('..', import.meta.url));
const program = new Command()
  .option('--count <n>', 'tools to generate', integer('--count'), 5000)
  .option('--queries <n>', 'distinct cached answers to fill (at most one per tool)', integer('--queries'), 5000)
  .option('--catalog <dir>', 'where the generated catalog is kept', path.join(os.tmpdir(), 'tc-memory-footprint-catalog'))
  .option('--server', 'also measure `node dist/src/server.js` as its own process', false)
  .option('--server-flags <flags>', 'node/V8 flags for that process, e.g. "--max-old-space-size=192"', '')
  .option('--idle <s>', 'after the fill, also read the server process RSS every 10 s while it idles this long', integer('--idle', 0), 0)
  .parse();
const opts = program.opts<{ count: number; queries: number; catalog: string; server: boolean; serverFlags: string; idle: number }>();
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const log = pino({ level: 'silent' });

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
function rssBytes(): number {
  const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? 0) * 1024;
}
async function stage(name: string) {
  for (let i = 0; i < 3; i++) {
    gc!();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const usage = process.memoryUsage();
  console.log(`${name.padEnd(40)} RSS ${mb(rssBytes()).padStart(9)}  heap used ${mb(usage.heapUsed).padStart(9)}  external ${mb(usage.external).padStart(8)}  array buffers ${mb(usage.arrayBuffers).padStart(8)}`);
  return { rss: rssBytes(), heapUsed: usage.heapUsed };
}

if (!existsSync(path.join(opts.catalog, 'linux'))) {
  console.log(`generating ${opts.count} tools into ${opts.catalog}…`);
  generateCatalog({ outDir: opts.catalog, count: opts.count, force: true });
}

const serverUrl = process.env.DATABASE_URL;
const bench = serverUrl ? await createBenchDatabase(serverUrl) : undefined;
const pgliteDir = bench ? undefined : path.join(os.tmpdir(), `tc-memory-footprint-${process.pid}`);
try {
  const dbConfig = bench
    ? ({ kind: 'postgres', url: bench.url, poolMax: 10, connectTimeoutMs: 5_000, statementTimeoutMs: 30_000, idleTimeoutMs: 10_000 } as const)
    : ({ kind: 'pglite', dataDir: pgliteDir! } as const);
  {
    const db = await openDatabase(dbConfig);
    await prepareDatabase(db, { catalogDir: opts.catalog, seedOnEmpty: false }, log);
    await db.close();
  }
  console.log('importing (child process)…');
  execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', 'import', opts.catalog], {
    cwd: projectRoot,
    env: bench ? { ...process.env, DATABASE_URL: bench.url } : { ...Object.fromEntries(Object.entries(process.env).filter(([key]) => key !== 'DATABASE_URL')), DATA_DIR: pgliteDir },
    stdio: ['ignore', 'ignore', 'inherit'],
  });

  const baseline = await stage('node + modules');
  const db = await openDatabase(dbConfig);
  const app = createApp({ db, config: { graphiql: false, cache: DEFAULT_CACHE }, log, state: { catalogLoaded: true } });
  const server = http.createServer(app.handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await stage('app created, listening');
  await app.memory.read();
  const loaded = await stage('in-memory catalog loaded');
  const snapshot = app.memory.snapshot!;
  const estimate = snapshot.tools.reduce((sum, tool) => sum + approximateBytes(tool), 0);
  console.log(`  ${snapshot.tools.length} tools; tool_catalog_memory_catalog_bytes estimate ${mb(estimate)}`);

  const tools = snapshot.tools.slice(0, opts.queries).map((tool) => ({ name: tool.row.name, platform: tool.row.platform }));
  await fill(port, tools);
  const filled = await stage(`after ${tools.length} distinct cached answers`);
  const metrics = await app.registry.getSingleMetricAsString('tool_catalog_cache_bytes');
  console.log(metrics.split('\n').filter((line) => line.startsWith('tool_catalog_cache_bytes')).map((line) => `  ${line}`).join('\n'));
  app.clock.advance();
  await app.memory.read();
  const cleared = await stage('response caches dropped');
  console.log(
    `\nin-memory catalog ≈ ${mb(loaded.heapUsed - baseline.heapUsed)} of heap (estimate ${mb(estimate)}); ` +
      `cached answers and what came with them ≈ ${mb(filled.heapUsed - cleared.heapUsed)} of heap; RSS with full cache ${mb(filled.rss)}`,
  );
  const spaces = v8.getHeapSpaceStatistics().map((s) => `${s.space_name} ${mb(s.space_used_size)}`);
  console.log(`heap spaces now: ${spaces.join(', ')}`);
  server.close();
  app.events.stop();
  app.memory.stop();
  await db.close();

  if (opts.server) {
    console.log(`\nthe service as its own process (node ${opts.serverFlags ? `${opts.serverFlags} ` : ''}dist/src/server.js):`);
    const serverPort = await freePort();
    const child = spawnNode([...opts.serverFlags.split(/\s+/).filter(Boolean), 'dist/src/server.js'], null, {
      cwd: projectRoot,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        ...baseEnv(),
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        PORT: String(serverPort),
        LOG_LEVEL: 'warn',
        SEED_ON_EMPTY: 'false',
        ...(bench ? { DATABASE_URL: bench.url } : { DATA_DIR: pgliteDir! }),
      },
    });
    try {
      const base = `http://127.0.0.1:${serverPort}`;
      await waitUntilReady(`${base}/ready`, child, 120_000, () => 'server did not get ready');
      console.log(`  ready                         RSS ${rssMb(child.pid)} MB`);
      await fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ catalogRevision }' }) });
      console.log(`  in-memory catalog loaded      RSS ${rssMb(child.pid)} MB`);
      await fill(serverPort, tools);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      console.log(`  after ${tools.length} distinct cached answers RSS ${rssMb(child.pid)} MB`);
      // V8 keeps the garbage of the fill until its next full collection; idle, its memory reducer
      // eventually collects and gives pages back.
      for (let waited = 10; waited <= opts.idle; waited += 10) {
        await new Promise((resolve) => setTimeout(resolve, 10_000));
        console.log(`    idle ${waited} s                    RSS ${rssMb(child.pid)} MB`);
      }
    } finally {
      await stopChild(child);
    }
  }
} finally {
  await bench?.drop();
}

/** Asks every tool by name once (10 at a time), as `npm run bench` fills its cache. */
async function fill(port: number, tools: Array<{ name: string; platform: string }>) {
  const query = (t: { name: string; platform: string }) =>
    `query ToolByName { tool(name: ${JSON.stringify(t.name)}, platform: ${JSON.stringify(t.platform)}) { name version description capabilities { name patterns { name timeEstimateMs costEstimate complexityScore } } } }`;
  let next = 0;
  const worker = async () => {
    while (next < tools.length) {
      const body = JSON.stringify({ query: query(tools[next++]!) });
      const response = await fetch(`http://127.0.0.1:${port}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      await response.text();
    }
  };
  await Promise.all(Array.from({ length: 10 }, worker));
}
