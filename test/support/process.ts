import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
/**
 * node itself runs src/server.ts with tsx as a loader: the child's pid is the server's own, so a
 * signal (SIGKILL included) reaches the server. Through the `tsx` CLI a SIGKILL would kill only the
 * wrapper and leave the server running as an orphan.
 */
const TSX_SERVER = ['--import', 'tsx', 'src/server.ts'];

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  logs: () => Array<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts the server as a real process on a free loopback port; resolves once it listens. `tsx` runs
 * src/server.ts; `npm-start` runs the shipped command, `npm start` (compiled JavaScript under node).
 */
export function startServerProcess(env: Record<string, string | undefined>, timeoutMs = 60_000, launcher: 'tsx' | 'npm-start' = 'tsx'): Promise<ServerProcess> {
  const [command, args] = launcher === 'tsx' ? [process.execPath, TSX_SERVER] : ['npm', ['start', '--silent']];
  const child = spawn(command, args, {
    cwd: root,
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start within ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    let buffer = '';
    child.stdout!.on('data', (chunk) => {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        try {
          const entry = JSON.parse(line);
          lines.push(entry);
          if (entry.msg === 'tool catalog listening') {
            clearTimeout(timer);
            resolve({
              child,
              url: String(entry.url).replace(/\/graphql$/, ''),
              logs: () => lines,
              stop: (signal = 'SIGTERM') => {
                child.kill(signal);
                return exited;
              },
            });
          }
        } catch {
          // not a log line
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening: ${stderr}`));
    });
  });
}

/** Runs the server expecting it to exit at once; returns exit code and stderr. */
export function runServerExpectingExit(
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const child = spawn(process.execPath, TSX_SERVER, { cwd: root, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    }),
  );
}
