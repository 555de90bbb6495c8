import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from './support/process.js';
import { privatePostgresAvailable, startPrivatePostgres, type PrivatePostgres } from './support/privatePostgres.js';
import { SAMPLE_CATALOG_DIR } from './support/service.js';

/**
 * PROFILES_SNAPSHOT_PATH: the service writes the profiles there after every change, and a service
 * that starts while the database is unreachable serves that file (stale) until the database answers.
 */

let postgres: PrivatePostgres;
let workDir: string;
let server: ServerProcess | undefined;

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const SELECT = `{ selectTools(request: { capability: "text_search" }) { revision stale candidates { tool { name } pattern } } }`;
async function select(url: string) {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: SELECT }),
    signal: AbortSignal.timeout(10_000),
  });
  return ((await response.json()) as any).data?.selectTools;
}

beforeAll(async () => {
  if (!privatePostgresAvailable) return;
  postgres = await startPrivatePostgres();
  workDir = mkdtempSync(path.join(tmpdir(), 'tool-catalog-snapshot-'));
}, 120_000);

afterAll(async () => {
  if (!privatePostgresAvailable) return;
  await server?.stop('SIGKILL');
  postgres.destroy();
  rmSync(workDir, { recursive: true, force: true });
}, 60_000);

describe.skipIf(!privatePostgresAvailable)('PROFILES_SNAPSHOT_PATH', () => {
  it('is written after changes and served, stale, by a service started while the database is down', async () => {
    const file = path.join(workDir, 'profiles.json');
    const env = {
      DATABASE_URL: postgres.url,
      PROFILES_SNAPSHOT_PATH: file,
      CATALOG_DIR: SAMPLE_CATALOG_DIR,
      CATALOG_WATCH: 'false',
      DB_CONNECT_TIMEOUT_MS: '1000',
      LOG_LEVEL: 'info',
    };
    server = await startServerProcess(env);
    await waitFor('the snapshot file', () => existsSync(file));
    const fresh = await select(server.url);
    expect(fresh.stale).toBe(false);
    const written = JSON.parse(readFileSync(file, 'utf8'));
    expect(written.revision).toBe(fresh.revision);
    expect(written.tools.grep.capabilities.text_search).toBeDefined();
    await server.stop();
    server = undefined;

    postgres.stop('fast');
    server = await startServerProcess(env);
    const url = server.url;
    expect(server.logs().some((line) => line.msg === 'database unreachable at start-up: serving the profiles snapshot (stale) until it answers')).toBe(true);
    const stale = await select(url);
    expect(stale).toMatchObject({ stale: true, revision: fresh.revision });
    expect(stale.candidates).toEqual(fresh.candidates);
    const profiles = await fetch(`${url}/profiles`);
    expect(profiles.status).toBe(200);
    expect(profiles.headers.get('x-catalog-stale')).toBe('true');
    expect(((await profiles.json()) as any).tools).toEqual(written.tools);
    expect((await fetch(`${url}/ready`)).status).toBe(503);

    postgres.start();
    // Generous: migrations and start-up after a PostgreSQL restart on a loaded 2-core machine take a while.
    await waitFor('the database to be served', async () => (await select(url))?.stale === false, 150_000);
    await waitFor('ready', async () => (await fetch(`${url}/ready`)).status === 200, 60_000);
  }, 360_000);
});
