import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importCatalog } from '../src/catalog/importer.js';
import { snapshotFromProfiles } from '../src/profiles/profilesFile.js';
import { profilesOf } from '../src/profiles/profiles.js';
import { selectTools } from '../src/selection/selectTools.js';
import { processDatabase, startTestService } from './support/service.js';
import { runCommand, TOOL_CATALOG, type CommandResult } from './support/commands.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const PROFILES_FILE = path.join(root, '..', 'shared', 'legacy-catalog-extra', 'profiles', 'tool_optimization_profiles.yaml');

let workDir: string;
let env: Record<string, string>;
let dropDatabase = async () => {};

function cli(...args: string[]): Promise<CommandResult> {
  return runCommand([...TOOL_CATALOG, ...args], env);
}

/** Every leaf of a YAML value with its path (empty lists and maps are leaves too). */
function leaves(value: unknown, at: string[] = []): Array<[string[], unknown]> {
  if (Array.isArray(value)) return value.length ? value.flatMap((item, i) => leaves(item, [...at, String(i)])) : [[at, value]];
  if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    return entries.length ? entries.flatMap(([key, child]) => leaves(child, [...at, key])) : [[at, value]];
  }
  return [[at, value]];
}

const valueAt = (value: unknown, at: string[]) => at.reduce<any>((node, key) => (node === undefined || node === null ? undefined : node[key]), value);

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'tool-catalog-profiles-'));
  ({ env, drop: dropDatabase } = await processDatabase(workDir));
});
afterAll(async () => {
  await dropDatabase();
  rmSync(workDir, { recursive: true, force: true });
});

describe('optimization profiles', () => {
  it('import the legacy profiles file with --platform, then export every value it held (CLI)', async () => {
    const imported = await cli('import', '--platform', 'assets', PROFILES_FILE);
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    expect(imported.stdout).toMatch(/^create +asset-query \(assets\) 1\.1 /m);
    const out = path.join(workDir, 'profiles.json');
    const exported = await cli('profiles', 'export', '--platform', 'assets', '--out', out);
    expect(exported.code).toBe(0);
    const original = parse(readFileSync(PROFILES_FILE, 'utf8'));
    const profiles = JSON.parse(readFileSync(out, 'utf8'));
    expect(Object.keys(profiles.tools).sort()).toEqual(Object.keys(original.tools).sort());
    const all = leaves(original);
    expect(all.length).toBeGreaterThan(300);
    for (const [at, value] of all) expect(valueAt(profiles, at), at.join('.')).toEqual(value);
    // Each tool's defaults fill what its patterns leave empty.
    expect(profiles.tools['asset-query'].capabilities.asset_query.patterns.count_aggregate.data_source).toBe('database');

    // Without --platform the tools land on `custom`; standard output works too.
    const stdout = await cli('profiles', 'export', '--platform', 'custom');
    expect(JSON.parse(stdout.stdout).tools).toEqual({});
  }, 240_000);

  it('key names found on several platforms as <platform>/<name> when no platform is asked for', async () => {
    const service = await startTestService({ seed: false });
    try {
      for (const platform of ['assets', 'custom']) {
        const report = await importCatalog(service.db.prisma, { paths: [PROFILES_FILE] }, { actor: 'test', platform });
        expect(report.counts.rejected).toBe(0);
      }
      service.app.clock.advance();
      const all = await service.graphql('{ profiles }');
      expect(Object.keys(all.data.profiles.tools)).toContain('assets/asset-query');
      expect(Object.keys(all.data.profiles.tools)).toContain('custom/asset-query');
      expect(all.data.profiles.tools['asset-query']).toBeUndefined();
      const one = await service.graphql('{ profiles(platform: "ASSETS") }');
      expect(Object.keys(one.data.profiles.tools)).toContain('asset-query');

      // A snapshot rebuilt from the profiles JSON (what PROFILES_SNAPSHOT_PATH holds) selects as the database's does.
      const { snapshot } = await service.app.memory.read();
      const fromFile = snapshotFromProfiles(JSON.parse(profilesOf(snapshot).bytes.toString('utf8')));
      expect(profilesOf(fromFile).profiles.tools).toEqual(profilesOf(snapshot).profiles.tools);
      const request = { capability: 'asset_query', variables: { N: 250 }, limit: 50 };
      const strip = (s: ReturnType<typeof selectTools>) => s.candidates.map((c) => [c.tool.name, c.tool.platform, c.pattern, c.score]);
      expect(strip(selectTools(fromFile, request, { stale: true }))).toEqual(strip(selectTools(snapshot, request, { stale: false })));
    } finally {
      await service.close();
    }
  }, 120_000);
});
