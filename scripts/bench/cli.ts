// Command-line plumbing shared by the benchmarks: commander argument parsers, progress lines on
// stderr (stdout carries the results), and the machine and commit the figures were measured on.
import { InvalidArgumentError } from 'commander';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

export const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

export function integer(name: string, min = 1) {
  return (value: string) => {
    if (!/^-?\d+$/.test(value) || Number(value) < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}.`);
    return Number(value);
  };
}

export function integerList(name: string) {
  return (value: string) => {
    const list = value.split(',').map((v) => v.trim());
    if (!list.length || list.some((v) => !/^\d+$/.test(v) || Number(v) < 1)) throw new InvalidArgumentError(`${name} must be a comma-separated list of positive integers.`);
    return [...new Set(list.map(Number))];
  };
}

export function choiceList<T extends string>(name: string, allowed: readonly T[]) {
  return (value: string) => {
    const list = value.split(',').map((v) => v.trim()) as T[];
    const unknown = list.filter((v) => !allowed.includes(v));
    if (unknown.length) throw new InvalidArgumentError(`${name}: unknown ${unknown.join(', ')} (known: ${allowed.join(', ')})`);
    return [...new Set(list)];
  };
}

export function progress(line: string) {
  process.stderr.write(`  ${line}\n`);
}

/**
 * The commit measured: its short hash, with `+dirty` when tracked files differ from it (figures of
 * uncommitted code must not pass for the commit's). Untracked files (results just written) do not count.
 */
export function gitCommit(cwd = projectRoot): string | null {
  const git = (args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  let commit: string;
  try {
    commit = git(['rev-parse', '--short', 'HEAD']).trim();
  } catch {
    return null;
  }
  try {
    return git(['status', '--porcelain', '--untracked-files=no']).trim() ? `${commit}+dirty` : commit;
  } catch {
    return commit;
  }
}

/** Where, when and on what a run was measured: the head of every result file. */
export interface RunEnvironment {
  startedAt: string;
  finishedAt: string;
  commit: string | null;
  node: string;
  platform: string;
  cpu: { model: string | null; count: number };
  memoryGb: number;
}

/** Call when the run ends: `finishedAt` is now. */
export function runEnvironment(started: Date): RunEnvironment {
  const cpus = os.cpus();
  return {
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    commit: gitCommit(),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpu: { model: cpus[0]?.model ?? null, count: cpus.length },
    memoryGb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
  };
}

/** One line for a markdown report: time, commit, node, CPU, memory, platform. */
export function environmentLine(env: RunEnvironment): string {
  return `${env.startedAt} · commit ${env.commit ?? '?'} · node ${env.node} · ${env.cpu.model ?? '?'} ×${env.cpu.count} · ${env.memoryGb} GB · ${env.platform}`;
}

/** The first line a benchmark prints. */
export function startLine(name: string, started: Date): string {
  const cpus = os.cpus();
  return `${name}  ${started.toISOString()}  node ${process.version}  ${cpus[0]?.model ?? '?'} x${cpus.length}`;
}
