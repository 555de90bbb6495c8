import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('configuration', () => {
  it('defaults to the embedded database in ./data on 127.0.0.1:4000', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 4000,
      database: { kind: 'pglite', dataDir: './data' },
      catalogDir: './catalog',
      seedOnEmpty: true,
      logLevel: 'info',
      graphiql: true,
      trustProxy: false,
      cache: { enabled: true, maxEntries: 10_000, maxBytes: 64 * 1024 * 1024, ttlMs: 300_000 },
      rssSoftLimitBytes: 'auto',
    });
    expect(loadConfig({ RSS_SOFT_LIMIT_MB: '0' }).rssSoftLimitBytes).toBe(0);
    expect(loadConfig({ RSS_SOFT_LIMIT_MB: '300' }).rssSoftLimitBytes).toBe(300 * 1024 * 1024);
  });

  it('reads the cache bounds and switch', () => {
    expect(loadConfig({ CACHE_ENABLED: 'false', CACHE_MAX_ENTRIES: '50', CACHE_MAX_BYTES: '4096', CACHE_TTL_MS: '1000' }).cache).toEqual({
      enabled: false,
      maxEntries: 50,
      maxBytes: 4096,
      ttlMs: 1000,
    });
  });

  it('uses a PostgreSQL server with bounded pool, connect and statement timeouts when DATABASE_URL is set', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgresql://u:p@127.0.0.1:5432/catalog',
      DB_POOL_MAX: '7',
      DB_CONNECT_TIMEOUT_MS: '1500',
      DB_STATEMENT_TIMEOUT_MS: '3000',
      DB_QUERY_TIMEOUT_MS: '2500',
    });
    expect(config.database).toEqual({
      kind: 'postgres',
      url: 'postgresql://u:p@127.0.0.1:5432/catalog',
      poolMax: 7,
      connectTimeoutMs: 1500,
      statementTimeoutMs: 3000,
      idleTimeoutMs: 30000,
      queryTimeoutMs: 2500,
    });
    expect(config.dbQueryTimeoutMs).toBe(2500);
    expect(loadConfig({}).dbQueryTimeoutMs).toBe(5000);
  });

  it('reads telemetry retention and the drift rule', () => {
    expect(loadConfig({}).telemetry).toEqual({ retention: { rawMs: 30 * 86_400_000, rollupMs: 400 * 86_400_000 }, drift: { threshold: 0.5, minRuns: 30 } });
    expect(loadConfig({ TELEMETRY_RETENTION_DAYS: '7', TELEMETRY_ROLLUP_RETENTION_DAYS: '90', DRIFT_THRESHOLD: '0.25', DRIFT_MIN_RUNS: '100' }).telemetry).toEqual({
      retention: { rawMs: 7 * 86_400_000, rollupMs: 90 * 86_400_000 },
      drift: { threshold: 0.25, minRuns: 100 },
    });
  });

  it('turns GraphiQL off in production unless asked for', () => {
    expect(loadConfig({ NODE_ENV: 'production' }).graphiql).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', GRAPHIQL: 'true' }).graphiql).toBe(true);
  });

  it.each([
    [{ PORT: 'abc' }, /PORT="abc"/],
    [{ PORT: '70000' }, /PORT="70000"/],
    [{ DB_POOL_MAX: '0' }, /DB_POOL_MAX="0"/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL="loud"/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL=\(hidden\): must start with postgresql:\/\//],
    [{ SEED_ON_EMPTY: 'perhaps' }, /SEED_ON_EMPTY="perhaps"/],
    [{ CACHE_MAX_BYTES: '10' }, /CACHE_MAX_BYTES="10"/],
    [{ CACHE_ENABLED: 'sometimes' }, /CACHE_ENABLED="sometimes"/],
    [{ TRUST_PROXY: 'maybe' }, /TRUST_PROXY="maybe"/],
    [{ RELOAD_INTERVAL_MS: '500' }, /RELOAD_INTERVAL_MS="500": must be 0 \(off\) or between/],
    [{ RSS_SOFT_LIMIT_MB: '32' }, /RSS_SOFT_LIMIT_MB="32": must be auto, 0 \(off\) or a whole number of MiB between 64 and/],
    [{ RSS_SOFT_LIMIT_MB: 'lots' }, /RSS_SOFT_LIMIT_MB="lots": must be auto/],
    [{ DRIFT_THRESHOLD: '0' }, /DRIFT_THRESHOLD="0"/],
    [{ DRIFT_MIN_RUNS: '2.5' }, /DRIFT_MIN_RUNS="2.5"/],
    [{ TELEMETRY_RETENTION_DAYS: '60', TELEMETRY_ROLLUP_RETENTION_DAYS: '40' }, /TELEMETRY_ROLLUP_RETENTION_DAYS="40": must be at least TELEMETRY_RETENTION_DAYS \(60\)/],
  ])('rejects %j with a message naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});
