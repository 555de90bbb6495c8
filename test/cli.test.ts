import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerProcess } from './support/process.js';
import { processDatabase, SAMPLE_CATALOG_DIR } from './support/service.js';
import { runCommand, TOOL_CATALOG, type CommandResult } from './support/commands.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const LEGACY_DIR = path.join(root, '..', 'shared', 'legacy-catalog');

let workDir: string;
let env: Record<string, string>;
let dropDatabase = async () => {};

function cli(...args: string[]): Promise<CommandResult> {
  return runCommand([...TOOL_CATALOG, ...args], env);
}

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'tool-catalog-cli-'));
  ({ env, drop: dropDatabase } = await processDatabase(workDir));
});
afterAll(async () => {
  await dropDatabase();
  rmSync(workDir, { recursive: true, force: true });
});

describe('npx tool-catalog import', () => {
  it('prints the plan on a dry run and writes nothing', async () => {
    const { code, stdout } = await cli('import', '--dry-run', LEGACY_DIR);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^create +grep \(linux\) 1\.0 +.*linux\/grep\.yaml$/m);
    expect(stdout).toMatch(/^skipped .*templates\/tool_template\.yaml \(template, not a tool\)$/m);
    expect(stdout).toContain('222 file(s): 222 created, 0 new version(s), 0 unchanged, 0 rejected, 1 skipped');
    expect(stdout).toContain('Dry run: nothing was written.');
  });

  it('writes everything in one transaction, then finds nothing to change', async () => {
    const first = await cli('import', LEGACY_DIR);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/Written in one transaction; catalog revision \d+\./);
    const second = await cli('import', LEGACY_DIR);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('0 created, 0 new version(s), 222 unchanged');
    expect(second.stdout).toContain('Nothing to change: the catalog already matches.');
  });

  it('exits 1 naming file, line and field when a file is rejected, and writes nothing without --partial', async () => {
    const dir = path.join(workDir, 'mixed');
    cpSync(path.join(SAMPLE_CATALOG_DIR, 'network'), path.join(dir, 'network'), { recursive: true });
    const dig = path.join(dir, 'network', 'dig.yaml');
    writeFileSync(dig, readFileSync(dig, 'utf8').replace(/complexity_score: [\d.]+/, 'complexity_score: 3'));
    const strict = await cli('import', dir);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toMatch(/network\/dig\.yaml:\d+:\d+: error: capabilities\.\w+\.patterns\.\w+\.complexity_score: expected a number from 0 to 1, found 3/);
    expect(strict.stdout).toContain('Nothing was written: 1 file(s) rejected (use --partial to write the valid ones).');
    const listed = await cli('export', path.join(workDir, 'after-strict'));
    expect(listed.code).toBe(0);
    expect(readdirSync(path.join(workDir, 'after-strict', 'network'))).not.toContain('dig.yaml');

    const partial = await cli('import', '--partial', dir);
    expect(partial.code).toBe(1);
    expect(partial.stdout).toMatch(/Written in one transaction/);
    await cli('export', path.join(workDir, 'after-partial'));
    const network = readdirSync(path.join(workDir, 'after-partial', 'network'));
    expect(network).toContain('ping.yaml');
    expect(network).not.toContain('dig.yaml');
  });

  it('prints the report as JSON with --json', async () => {
    const { code, stdout } = await cli('import', '--dry-run', '--json', path.join(SAMPLE_CATALOG_DIR, 'linux'));
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.counts.files).toBe(readdirSync(path.join(SAMPLE_CATALOG_DIR, 'linux')).length);
    expect(report.tools[0]).toHaveProperty('action');
  });
});

describe('npx tool-catalog export', () => {
  it('writes one canonical file per tool and refuses a non-empty directory without --force', async () => {
    const out = path.join(workDir, 'export');
    const first = await cli('export', out);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^exported \d+ tool\(s\) to /m);
    expect(readFileSync(path.join(out, 'linux', 'grep.yaml'), 'utf8')).toContain('schema: tool-catalog/v1');
    const refused = await cli('export', out);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('is not empty; pass --force');
    expect((await cli('export', '--force', out)).code).toBe(0);
  });
});

describe('npx tool-catalog keys', () => {
  it('creates a key, prints it once, and lists keys without them', async () => {
    const created = await cli('keys', 'create', '--name', 'ci-bot', '--role', 'editor');
    expect(created.code).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^tc_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toContain('it is shown once');
    const listed = await cli('keys', 'list');
    expect(listed.stdout).toMatch(/^ci-bot +editor +active/m);
    expect(listed.stdout).not.toContain(key);
    const duplicate = await cli('keys', 'create', '--name', 'ci-bot', '--role', 'reader');
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toContain('a key named "ci-bot" already exists');
  });
});

describe.skipIf(!!process.env.DATABASE_URL)('the embedded database lock', () => {
  it('keeps the CLI out of a data directory a running service holds', async () => {
    const server = await startServerProcess({ ...env, CATALOG_DIR: SAMPLE_CATALOG_DIR });
    try {
      const { code, stderr } = await cli('import', '--dry-run', SAMPLE_CATALOG_DIR);
      expect(code).toBe(2);
      expect(stderr).toMatch(/is in use by process \d+ \(a running service\?\)/);
    } finally {
      await server.stop();
    }
    expect((await cli('import', '--dry-run', SAMPLE_CATALOG_DIR)).code).toBe(0);
  });
});

describe('npx tool-catalog reload', () => {
  // Seven CLI runs, each a process that loads the schema: well over a minute on a busy machine.
  it('reloads CATALOG_DIR, all or nothing, and exits 1 naming the rejected file, and prunes with CATALOG_PRUNE=true', { timeout: 300_000 }, async () => {
    const catalogDir = path.join(workDir, 'reload-catalog');
    cpSync(SAMPLE_CATALOG_DIR, catalogDir, { recursive: true });
    const withDir = (extra: string[]) => {
      const saved = env;
      env = { ...env, CATALOG_DIR: catalogDir };
      return cli('reload', ...extra).finally(() => (env = saved));
    };
    const dry = await withDir(['--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(new RegExp(`^dry run of reload from ${catalogDir}: \\d+ created, \\d+ new version\\(s\\), \\d+ unchanged, 0 rejected`, 'm'));
    writeFileSync(path.join(catalogDir, 'linux', 'zz-broken.yaml'), 'tool_name: zz-broken\nversion: "1"\nplatform: linux\n');
    const broken = await withDir(['--reason', 'nightly']);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/1 file\(s\) rejected, nothing changed; first: .*zz-broken\.yaml/);
    rmSync(path.join(catalogDir, 'linux', 'zz-broken.yaml'));
    const applied = await withDir([]);
    expect(applied.code).toBe(0);
    const again = await withDir([]);
    expect(again.stdout).toMatch(/: 0 created, 0 new version\(s\), \d+ unchanged, 0 rejected/);

    // CATALOG_PRUNE=true: a tool whose file left the directory is soft-deleted by the next reload.
    const [gone] = readdirSync(path.join(catalogDir, 'linux')).sort();
    rmSync(path.join(catalogDir, 'linux', gone!));
    const kept = await withDir([]);
    expect(kept.stdout).toMatch(/, 0 removed in /);
    const saved = env;
    env = { ...env, CATALOG_PRUNE: 'true' };
    const pruned = await withDir(['--reason', 'file removed']).finally(() => (env = saved));
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stdout).toMatch(/, 1 removed in /);
    expect(pruned.stdout).toMatch(/^removed \S+ \(linux\) .*: its file is gone$/m);
  });
});
