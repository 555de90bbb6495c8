// Importing a catalog directory into a benchmark's database with the real CLI, as an operator would.
import { baseEnv } from './service.js';
import { projectRoot } from './cli.js';
import { captureTail, spawnNode } from './processes.js';

const IMPORT_TIMEOUT_MS = 15 * 60_000;

/**
 * `tool-catalog import <dir>` into the database `env` names (DATA_DIR or DATABASE_URL); throws with
 * the end of its output when it fails. Returns the time it took and its summary lines.
 */
export async function importCatalogInto(kind: string, env: Record<string, string>, catalogDir: string, extra: string[] = []): Promise<{ ms: number; summary: string }> {
  const started = performance.now();
  const child = spawnNode(['bin/tool-catalog.js', 'import', catalogDir, '--actor', 'bench', ...extra], null, {
    cwd: projectRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...baseEnv(), LOG_LEVEL: 'warn', ...env },
  });
  const tail = captureTail(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), IMPORT_TIMEOUT_MS);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearTimeout(timer);
  const output = tail();
  if (code !== 0) throw new Error(`import into ${kind} failed (exit ${code}):\n${output.split('\n').slice(-15).join('\n')}`);
  const summary = output.split('\n').filter((l) => /file\(s\):|catalog revision|Nothing/.test(l)).join(' ');
  return { ms: Math.round(performance.now() - started), summary };
}
