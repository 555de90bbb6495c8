import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { prepareDatabase } from '../src/bootstrap.js';
import { openDatabase } from '../src/db/database.js';
import { migrationsUpToDate } from '../src/db/migrations.js';
import { createPostgresDatabase, SAMPLE_CATALOG_DIR, silentLog } from './support/service.js';

const root = new URL('../', import.meta.url).pathname;
const file = (relative: string) => readFileSync(path.join(root, relative), 'utf8');
const have = (binary: string) => spawnSync('sh', ['-c', `command -v ${binary}`]).status === 0;
/** In CI every tool is installed by .ci/run: a missing one fails instead of skipping. */
const tool = (binary: string) => {
  const present = have(binary);
  if (!present && process.env.CI) throw new Error(`${binary} is required in CI (see .ci/run)`);
  return present;
};
const run = (command: string, args: string[], env: Record<string, string> = {}) =>
  spawnSync(command, args, { cwd: root, encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });

describe('docker-compose.yml', () => {
  it.skipIf(!tool('docker-compose'))('is valid and runs PostgreSQL, the service, Prometheus with its rules, Alertmanager and Grafana with provisioning', () => {
    const result = run('docker-compose', ['-f', 'docker-compose.yml', 'config']);
    expect(result.status, result.stderr).toBe(0);
    const config = parse(result.stdout) as { services: Record<string, { volumes?: Array<string | { source: string; target: string }>; command?: string[] }> };
    expect(Object.keys(config.services).sort()).toEqual(['alertmanager', 'grafana', 'postgres', 'prometheus', 'tool-catalog']);
    const mounts = (service: string) =>
      (config.services[service]!.volumes ?? []).map((v) => (typeof v === 'string' ? { source: v.split(':')[0]!, target: v.split(':')[1]! } : v));
    // Every file or directory mounted from the repository exists.
    for (const service of Object.keys(config.services)) {
      for (const mount of mounts(service)) if (mount.source.startsWith('/')) expect(existsSync(mount.source), `${service}: ${mount.source}`).toBe(true);
    }
    expect(mounts('prometheus').map((m) => m.target)).toEqual(expect.arrayContaining(['/etc/prometheus/prometheus.yml', '/etc/prometheus/rules']));
    expect(mounts('alertmanager').map((m) => m.target)).toContain('/etc/alertmanager/alertmanager.yml');
    expect(mounts('grafana').map((m) => m.target)).toEqual(expect.arrayContaining(['/etc/grafana/provisioning', '/var/lib/grafana/dashboards/tool-catalog.json']));
    // Prometheus in compose loads the rules and talks to the compose Alertmanager.
    const prometheus = parse(file('monitoring/prometheus.compose.yml'));
    expect(prometheus.rule_files).toEqual(['rules/tool-catalog.yml']);
    expect(prometheus.alerting.alertmanagers[0].static_configs[0].targets).toEqual(['alertmanager:9093']);
    const datasource = parse(file('monitoring/grafana/provisioning/datasources/prometheus.yml'));
    expect(datasource.datasources[0]).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090', isDefault: true });
  });
});

describe('the production image', () => {
  it('is multi-stage, compiled, production dependencies only, non-root, with an init as PID 1', () => {
    const dockerfile = file('Dockerfile');
    const stages = dockerfile.split(/^FROM /m).slice(1);
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages[0]).toMatch(/npm run build/);
    const final = stages.at(-1)!;
    expect(final).not.toMatch(/npm run build|tsx/);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(final).toMatch(/COPY --from=build \/app\/dist \.\/dist/);
    expect(final).toMatch(/^USER node$/m);
    expect(final).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--"\]$/m);
    expect(final).toMatch(/^CMD \["node", "dist\/src\/server\.js"\]$/m);
    const pkg = JSON.parse(file('package.json'));
    expect(pkg.scripts.build).toMatch(/tsc -p tsconfig\.build\.json/);
    expect(JSON.parse(file('tsconfig.build.json')).compilerOptions.outDir).toBe('dist');
  });
});

describe('the systemd unit', () => {
  it.skipIf(!tool('systemd-analyze'))('passes systemd-analyze verify and is hardened', () => {
    const result = run('systemd-analyze', ['verify', 'deploy/tool-catalog.service']);
    expect(result.status, result.stderr).toBe(0);
    const unit = file('deploy/tool-catalog.service');
    for (const line of ['NoNewPrivileges=yes', 'ProtectSystem=strict', 'ReadWritePaths=/var/lib/tool-catalog', 'User=tool-catalog', 'ExecStart=/usr/bin/node dist/src/server.js', 'RestartPreventExitStatus=78']) {
      expect(unit).toContain(`\n${line}\n`);
    }
  });
});

describe('Alertmanager', () => {
  it.skipIf(!tool('amtool'))('config is valid: critical pages, warning goes to tickets, info is silenced', () => {
    const check = run('amtool', ['check-config', 'monitoring/alertmanager.yml']);
    expect(check.status, check.stdout + check.stderr).toBe(0);
    const receiver = (severity: string) => run('amtool', ['config', 'routes', 'test', '--config.file=monitoring/alertmanager.yml', `severity=${severity}`]).stdout.trim();
    expect(receiver('critical')).toBe('pager');
    expect(receiver('warning')).toBe('ticket-queue');
    expect(receiver('info')).toBe('null');
    const config = parse(file('monitoring/alertmanager.yml'));
    expect(config.inhibit_rules).toEqual([{ source_matchers: ['severity="critical"'], target_matchers: ['severity="warning"'], equal: ['job', 'instance'] }]);
  });
});

describe.skipIf(!process.env.DATABASE_URL)('backup and restore as docs/deployment.md says (pg_dump/pg_restore)', () => {
  it('a restored database is served as it was', async () => {
    const guide = file('docs/deployment.md');
    expect(guide).toContain('pg_dump --format=custom --file=');
    expect(guide).toContain('pg_restore --no-owner --role=tool_catalog --exit-on-error --dbname="$DATABASE_URL"');
    const original = await createPostgresDatabase(process.env.DATABASE_URL!);
    const restored = await createPostgresDatabase(process.env.DATABASE_URL!);
    const dir = mkdtempSync(path.join(tmpdir(), 'tc-backup-'));
    const open = (url: string) =>
      openDatabase({ kind: 'postgres', url, poolMax: 2, connectTimeoutMs: 5_000, statementTimeoutMs: 15_000, idleTimeoutMs: 1_000 });
    try {
      const db = await open(original.url);
      await prepareDatabase(db, { catalogDir: SAMPLE_CATALOG_DIR, seedOnEmpty: true }, silentLog);
      await db.prisma.tool.updateMany({ where: { name: 'grep' }, data: { status: 'DEPRECATED' } });
      const before = { tools: await db.prisma.tool.count(), deprecated: await db.prisma.tool.count({ where: { status: 'DEPRECATED' } }) };
      await db.close();
      const dump = path.join(dir, 'tool-catalog.dump');
      const dumped = run('pg_dump', ['--format=custom', `--file=${dump}`, original.url]);
      expect(dumped.status, dumped.stderr).toBe(0);
      const role = new URL(process.env.DATABASE_URL!).username;
      const restoring = run('pg_restore', ['--no-owner', `--role=${role}`, '--exit-on-error', `--dbname=${restored.url}`, dump]);
      expect(restoring.status, restoring.stderr).toBe(0);
      const back = await open(restored.url);
      try {
        expect(await migrationsUpToDate(back.prisma)).toBe(true);
        expect({ tools: await back.prisma.tool.count(), deprecated: await back.prisma.tool.count({ where: { status: 'DEPRECATED' } }) }).toEqual(before);
        expect(before.deprecated).toBeGreaterThan(0);
      } finally {
        await back.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await original.drop();
      await restored.drop();
    }
  }, 90_000);
});
