// Child processes of the HTTP benchmark (scripts/bench.ts): the service, the baseline servers and
// the load generator, each pinned to its own core when `taskset` exists. Every child is registered
// so that it is killed when the benchmark exits, is interrupted, or fails.
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';

const children = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Kills every child still running (SIGKILL); safe to call more than once. */
export function killAllChildren(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  children.clear();
}

function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', killAllChildren);
}

// ---------------------------------------------------------------------------------------------
// Pinning

export interface Pinning {
  /** `taskset` found and at least two CPUs: servers on core 0, the load generator on core 1. */
  enabled: boolean;
  serverCore: number | null;
  loadCore: number | null;
  reason: string;
}

export function detectPinning(disabled: boolean): Pinning {
  const none = (reason: string): Pinning => ({ enabled: false, serverCore: null, loadCore: null, reason });
  if (disabled) return none('disabled by --no-pin');
  if (os.availableParallelism() < 2) return none(`only ${os.availableParallelism()} CPU available`);
  try {
    execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore', timeout: 5_000 });
  } catch {
    return none('taskset not found (or not permitted)');
  }
  return { enabled: true, serverCore: 0, loadCore: 1, reason: 'taskset -c 0 (servers), taskset -c 1 (load generator)' };
}

/**
 * Spawns `node <args>` on `core` (through `taskset -c <core>`, which execs node, so the child's
 * pid is node's own: /proc/<pid>/status is the server's memory).
 */
export function spawnNode(args: string[], core: number | null, options: SpawnOptions): ChildProcess {
  installExitHook();
  const child =
    core === null
      ? spawn(process.execPath, args, options)
      : spawn('taskset', ['-c', String(core), process.execPath, ...args], options);
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

/** Waits for a child to exit; SIGKILL after `graceMs`. Resolves with the exit code (null after a signal). */
export function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    child.kill(signal);
  });
}

/** Keeps the last `limit` characters a child wrote to stdout and stderr, for error messages. */
export function captureTail(child: ChildProcess, limit = 4_000): () => string {
  let tail = '';
  const add = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-limit);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return () => tail.trim();
}

// ---------------------------------------------------------------------------------------------
// Ports, readiness, memory

/** A free TCP port on 127.0.0.1 (asked of the kernel, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

/**
 * Polls `url` every 100 ms until it answers 200; rejects after `timeoutMs` or when the child
 * exits first. Resolves with the milliseconds it took.
 */
export async function waitUntilReady(url: string, child: ChildProcess, timeoutMs: number, describe: () => string): Promise<number> {
  const started = performance.now();
  const deadline = started + timeoutMs;
  let last = 'no answer yet';
  while (performance.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`exited (${child.exitCode ?? child.signalCode}) before ${url} answered 200\n${describe()}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.status === 200) return Math.round(performance.now() - started);
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} not ready within ${timeoutMs / 1000} s (last: ${last})\n${describe()}`);
}

let clockTicks: number | undefined;

/** CPU seconds (user + system) a process has used so far, or null where /proc is not available. */
export function cpuSeconds(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5_000 }).trim()) || 100;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return null;
  }
}

/** Busy CPU seconds of the whole machine so far (all CPUs, idle and iowait excluded), or null without /proc. */
export function machineBusySeconds(): number | null {
  try {
    clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5_000 }).trim()) || 100;
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const values = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already in user.
    const busy = values.slice(0, 8).reduce((sum, v, i) => (i === 3 || i === 4 ? sum : sum + v), 0);
    return busy / clockTicks;
  } catch {
    return null;
  }
}

/** Resident set size of a process in MB (VmRSS), or null where /proc is not available. */
export function rssMb(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Math.round((Number(kb) / 1024) * 10) / 10 : null;
  } catch {
    return null;
  }
}
