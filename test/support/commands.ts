import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = fileURLToPath(new URL('../../', import.meta.url));
/** The CLI as a user runs it: `bin/tool-catalog.js` under this Node. */
export const TOOL_CATALOG = [process.execPath, path.join(projectRoot, 'bin', 'tool-catalog.js')] as const;

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command from the project's root with only PATH (and `env`) in its environment, collecting
 * its output; a command still running after `timeoutMs` is killed, so every wait is bounded.
 */
export function runCommand(command: readonly string[], env: Record<string, string | undefined> = {}, timeoutMs = 120_000): Promise<CommandResult> {
  const child = spawn(command[0]!, command.slice(1), { cwd: projectRoot, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}
