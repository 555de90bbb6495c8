// Command-line plumbing shared by the benchmarks: commander argument parsers, progress lines on
// stderr (stdout carries the results), and the commit the figures were measured on.
import { InvalidArgumentError } from 'commander';
import { execFileSync } from 'node:child_process';
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

export function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: projectRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}
