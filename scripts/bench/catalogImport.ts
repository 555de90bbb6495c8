// Preparing a benchmark's database with the project's own commands, as an operator would: the CLI's
// import, or another set-up script, each as a child process with a deadline.
import { baseEnv } from './service.js';
import { projectRoot } from './cli.js';
import { captureTail, spawnNode } from './processes.js';

const SETUP_TIMEOUT_MS = 15 * 60_000;

/**
 * Runs `node <args>` in the project against the database `env` names (DATA_DIR or DATABASE_URL)
 * and returns its output; throws with the end of it when it fails or outlives the deadline.
 */
export async function runSetupCommand(what: string, args: string[], env: Record<string, string>): Promise<{ ms: number; output: string }> {
  const started = performance.now();
  const child = spawnNode(args, null, { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...baseEnv(), LOG_LEVEL: 'warn', ...env } });
  const tail = captureTail(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), SETUP_TIMEOUT_MS);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearTimeout(timer);
  const output = tail();
  if (code !== 0) throw new Error(`${what} failed (exit ${code}):\n${output.split('\n').slice(-15).join('\n')}`);
  return { ms: Math.round(performance.now() - started), output };
}

/** `tool-catalog import <dir>` into the database `env` names. Returns the time it took and its summary lines. */
export async function importCatalogInto(kind: string, env: Record<string, string>, catalogDir: string, extra: string[] = []): Promise<{ ms: number; summary: string }> {
  const { ms, output } = await runSetupCommand(`import into ${kind}`, ['bin/tool-catalog.js', 'import', catalogDir, '--actor', 'bench', ...extra], env);
  return { ms, summary: output.split('\n').filter((l) => /file\(s\):|catalog revision|Nothing/.test(l)).join(' ') };
}
