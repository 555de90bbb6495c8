import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareDatabase } from '../src/bootstrap.js';
import { INTERRUPTED } from '../src/catalog/reload.js';
import { startServerProcess } from './support/process.js';
import { subscribeSse } from './support/subscriptions.js';
import { openTestDatabase, processDatabase, SAMPLE_CATALOG_DIR, silentLog } from './support/service.js';

describe('reload rows left open by a crash', () => {
  it('are closed as INTERRUPTED on start; finished ones are left as they were', async () => {
    const { db, drop } = await openTestDatabase();
    try {
      await prepareDatabase(db, { catalogDir: SAMPLE_CATALOG_DIR, seedOnEmpty: false }, silentLog);
      const open = await db.prisma.catalogReload.create({ data: { trigger: 'graphql', source: 'catalog', actor: 'ops' } });
      const done = await db.prisma.catalogReload.create({ data: { trigger: 'cli', source: 'catalog', finishedAt: new Date(), durationMs: 5 } });
      await prepareDatabase(db, { catalogDir: SAMPLE_CATALOG_DIR, seedOnEmpty: false }, silentLog);
      const closed = await db.prisma.catalogReload.findUniqueOrThrow({ where: { id: open.id } });
      expect(closed.finishedAt).not.toBeNull();
      expect(closed.error).toBe(INTERRUPTED);
      expect(await db.prisma.catalogReload.findUniqueOrThrow({ where: { id: done.id } })).toEqual(done);
    } finally {
      await drop();
    }
  });
});

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

/** True while a process with this pid exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('SIGTERM to `npm start` (the shipped command)', () => {
  let workDir: string;
  let database: Awaited<ReturnType<typeof processDatabase>>;
  beforeAll(async () => {
    workDir = mkdtempSync(path.join(tmpdir(), 'tc-npm-start-'));
    database = await processDatabase(workDir);
    // Compiled once here, so the start itself is quick (prestart only checks freshness).
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: path.resolve(import.meta.dirname, '..'), stdio: 'ignore', timeout: 300_000 });
  }, 320_000);
  afterAll(async () => {
    await database?.drop();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('drains: the in-flight request and the reload finish, subscriptions complete, node exits, npm exits 0, no orphan', async () => {
    const adminKey = 'npm-start-admin-key-Vq8ZrT3mK9xW2pL7sN4bY6cH1dF5gJ0';
    const server = await startServerProcess(
      { ...database.env, CATALOG_DIR: SAMPLE_CATALOG_DIR, ADMIN_API_KEY: adminKey, CATALOG_WATCH: 'false', SHUTDOWN_TIMEOUT_MS: '20000' },
      240_000,
      'npm-start',
    );
    try {
    const nodePid = Number(server.logs().find((line) => line.msg === 'tool catalog listening')?.pid);
    expect(nodePid).toBeGreaterThan(0);
    expect(nodePid).not.toBe(server.child.pid);

    // Ten open subscriptions (server-sent events).
    const streams = await Promise.all(Array.from({ length: 10 }, () => withTimeout(subscribeSse(`${server.url}/graphql`, 'subscription { catalogEvents { revision type } }'), 20_000)));

    // A reload and a half-sent request are in flight when the signal lands.
    const reload = fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` },
      body: JSON.stringify({ query: 'mutation { reloadCatalog(source: DIRECTORY) { reload { id finishedAt error } } }' }),
    }).then((response) => response.json());
    const body = JSON.stringify({ query: '{ tools(first: 3) { totalCount } }' });
    const url = new URL(`${server.url}/graphql`);
    const inFlight = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, path: '/graphql', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.write(body.slice(0, 10));
      setTimeout(() => req.end(body.slice(10)), 500);
    });
    await new Promise((resolve) => setTimeout(resolve, 150));
    const exited = server.stop('SIGTERM');

    const answered = await withTimeout(inFlight, 30_000);
    expect(answered.status).toBe(200);
    expect(JSON.parse(answered.text).data.tools.totalCount).toBeGreaterThan(0);
    const reloaded = await withTimeout(reload, 30_000);
    expect(reloaded.errors).toBeUndefined();
    expect(reloaded.data.reloadCatalog.reload.finishedAt).not.toBeNull();
    // Each stream was ended by the server (`complete`), not cut.
    expect(await withTimeout(Promise.all(streams.map((stream) => stream.ended)), 20_000)).toEqual(Array(10).fill(undefined));
    expect(await withTimeout(exited, 30_000)).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(alive(nodePid)).toBe(false);
    expect(server.logs().some((line) => line.msg === 'stopped')).toBe(true);

    // The history holds no reload left open.
    if (database.env.DATABASE_URL) {
      const client = new pg.Client({ connectionString: database.env.DATABASE_URL });
      await client.connect();
      const open = await client.query('SELECT count(*)::int AS n FROM "CatalogReload" WHERE "finishedAt" IS NULL');
      await client.end();
      expect(open.rows[0].n).toBe(0);
    }
    } finally {
      // Never leave a server behind, whatever failed above.
      for (const line of server.logs()) if (line.msg === 'tool catalog listening' && typeof line.pid === 'number' && alive(line.pid)) process.kill(line.pid, 'SIGKILL');
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
    }
  }, 200_000);
});
