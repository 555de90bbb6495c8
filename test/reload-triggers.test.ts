import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scheduleReloads, watchCatalogDir } from '../src/catalog/reloadTriggers.js';
import { SAMPLE_CATALOG_DIR, silentLog, startTestService, type TestService } from './support/service.js';

const catalogDir = mkdtempSync(path.join(os.tmpdir(), 'tc-watch-'));
cpSync(SAMPLE_CATALOG_DIR, catalogDir, { recursive: true });
const outside = mkdtempSync(path.join(os.tmpdir(), 'tc-outside-'));
const grepFile = path.join(catalogDir, 'linux', 'grep.yaml');
const original = readFileSync(grepFile, 'utf8');

let service: TestService;
let watcher: ReturnType<typeof watchCatalogDir>;
beforeAll(async () => {
  service = await startTestService({ catalogDir });
  watcher = watchCatalogDir(service.app.reloader, catalogDir, { debounceMs: 500, log: silentLog });
  await watcher.ready;
});
afterAll(async () => {
  await watcher.close();
  await service.close();
  rmSync(catalogDir, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

/** Swap, backup, lock and hidden files editors leave next to the real one (some end in .yaml). */
const LEFTOVERS = ['.grep.yaml.swp', 'grep.yaml~', '#grep.yaml#', '.#grep.yaml', '.grep.yaml', 'notes.txt', 'grep.yaml.tmp'];
const reloadsBy = (trigger: string) => service.db.prisma.catalogReload.findMany({ where: { trigger }, orderBy: { startedAt: 'asc' } });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const started = Date.now();
  while (Date.now() - started < ms) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('the catalog directory watcher', () => {
  it('reloads once for a burst of saves, and readers see the last one', async () => {
    for (let i = 1; i <= 3; i++) {
      writeFileSync(grepFile, original.replace(/^version: .*$/m, `version: "2.0.${i}"`));
      await sleep(150); // further apart than the file system's own coalescing, closer than the debounce
    }
    const [reload] = await until('a watch reload', async () => {
      const rows = await reloadsBy('watch');
      return rows.length && rows.every((r) => r.finishedAt) ? rows : undefined;
    });
    await sleep(800); // a second, wrongly split reload would have started by now
    expect(await reloadsBy('watch')).toHaveLength(1);
    expect(reload).toMatchObject({ actor: 'watcher', newVersions: 1, error: null });
    const { data } = await service.graphql('{ tool(name: "grep", platform: "linux") { version } }');
    expect(data.tool.version).toBe('2.0.3');
  });

  it('ignores editor leftovers, other files, and links that lead outside the directory', async () => {
    const before = (await reloadsBy('watch')).length;
    for (const name of LEFTOVERS) {
      writeFileSync(path.join(catalogDir, 'linux', name), 'not: a tool\n');
    }
    writeFileSync(path.join(outside, 'evil.yaml'), 'tool_name: evil\nversion: "1"\nplatform: linux\ncategory: system\n');
    symlinkSync(path.join(outside, 'evil.yaml'), path.join(catalogDir, 'linux', 'evil.yaml'));
    await sleep(1_200);
    expect(await reloadsBy('watch')).toHaveLength(before);
    rmSync(path.join(catalogDir, 'linux', 'evil.yaml'));
    for (const name of LEFTOVERS) rmSync(path.join(catalogDir, 'linux', name));
  });
});

describe('scheduled reloads', () => {
  it('reload the directory on the interval', async () => {
    const schedule = scheduleReloads(service.app.reloader, 1_000, silentLog);
    try {
      const rows = await until('a scheduled reload', async () => {
        const found = await reloadsBy('schedule');
        return found.some((r) => r.finishedAt) ? found : undefined;
      }, 5_000);
      expect(rows[0]).toMatchObject({ actor: 'scheduler', error: null, created: 0, newVersions: 0 });
    } finally {
      schedule.stop();
    }
  });
});
