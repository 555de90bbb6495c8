import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../src/db/database.js';
import { createPostgresDatabase } from './support/service.js';

const serverUrl = process.env.DATABASE_URL;

describe.skipIf(!serverUrl)(`PostgreSQL pool limits${serverUrl ? '' : ' (skipped: DATABASE_URL not set)'}`, () => {
  let db: Database;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const fresh = await createPostgresDatabase(serverUrl!);
    drop = fresh.drop;
    db = await openDatabase({
      kind: 'postgres',
      url: fresh.url,
      poolMax: 1,
      connectTimeoutMs: 300,
      statementTimeoutMs: 500,
      // The client's own deadline above the server's, so that the server's timeout is what is tested.
      queryTimeoutMs: 2_000,
      idleTimeoutMs: 1_000,
    });
  });
  afterAll(async () => {
    await db.close();
    await drop();
  });

  it('cancels a statement that runs past the statement timeout', async () => {
    const started = Date.now();
    await expect(db.prisma.$queryRaw`SELECT 1 AS slept FROM pg_sleep(3)`).rejects.toThrow(/statement timeout|canceling statement/i);
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  it('fails a request waiting for a full pool after the connection timeout instead of waiting forever', async () => {
    // The only connection is busy for ~450 ms (inside the statement timeout).
    // Prisma promises are lazy: wrapping starts the query now.
    const busy = Promise.resolve(db.prisma.$queryRaw`SELECT 1 AS slept FROM pg_sleep(0.45)`);
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await expect(db.prisma.$queryRaw`SELECT 1`).rejects.toThrow(/timeout/i);
    expect(Date.now() - started).toBeLessThan(2_000);
    await busy;
    // Once the pool has a free connection again, requests go through.
    await expect(db.prisma.$queryRaw`SELECT 1 AS ok`).resolves.toEqual([{ ok: 1 }]);
  });
});
