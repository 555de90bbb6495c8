// Starting the service (src/server.ts) as a child process of a benchmark: a free loopback port,
// the caller's environment on top of a minimal one, and a wait for /ready.
import type { ChildProcess } from 'node:child_process';
import { progress, projectRoot } from './cli.js';
import { captureTail, freePort, spawnNode, stopChild, waitUntilReady } from './processes.js';

/** The few variables a child needs from ours; everything else is set explicitly. */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  // RSS_SOFT_LIMIT_MB passes through so that a run can compare the service with the soft limit off (0).
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'RSS_SOFT_LIMIT_MB']) if (process.env[key]) env[key] = process.env[key]!;
  return env;
}

export interface ServiceOptions {
  /** For progress lines and error messages. */
  label: string;
  /** On top of baseEnv(); HOST and PORT are set here. */
  env: Record<string, string>;
  /** Extra node/V8 flags before `--import tsx`. */
  nodeFlags?: string[];
  /** CPU to pin to (see detectPinning), or null. */
  core?: number | null;
  readyTimeoutMs: number;
}

export interface ServiceProcess {
  label: string;
  child: ChildProcess;
  port: number;
  /** http://127.0.0.1:<port> */
  base: string;
  /** Milliseconds from spawn until /ready answered 200. */
  startMs: number;
  /** The last lines it wrote. */
  tail(): string;
  /** SIGTERM (SIGKILL after 15 s); reports a non-zero exit code as a progress line. */
  stop(): Promise<void>;
}

let built: Promise<void> | undefined;

/** `npm start`'s own step: compiles src/ to dist/ when dist/ is missing or older than a source (once per run). */
function buildIfStale(): Promise<void> {
  built ??= new Promise<void>((resolve, reject) => {
    const child = spawnNode(['scripts/build-if-stale.mjs'], null, { cwd: projectRoot, stdio: ['ignore', 'inherit', 'inherit'], env: baseEnv() });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`scripts/build-if-stale.mjs exited with code ${code}`))));
  });
  return built;
}

/**
 * Spawns the service as production runs it (`npm start`: `node dist/src/server.js`, built first when
 * stale), so figures include no TypeScript loader, and waits until /ready answers 200.
 */
export async function startServiceProcess(options: ServiceOptions): Promise<ServiceProcess> {
  await buildIfStale();
  const port = await freePort();
  const { label } = options;
  const child = spawnNode([...(options.nodeFlags ?? []), 'dist/src/server.js'], options.core ?? null, {
    cwd: projectRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...baseEnv(), HOST: '127.0.0.1', PORT: String(port), ...options.env },
  });
  const tail = captureTail(child);
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    const code = await stopChild(child);
    if (code !== 0 && code !== null) progress(`${label} exited with code ${code}: ${tail().split('\n').slice(-5).join(' | ')}`);
  };
  try {
    const startMs = await waitUntilReady(`${base}/ready`, child, options.readyTimeoutMs, () => `${label} output:\n${tail()}`);
    return { label, child, port, base, startMs, tail, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
