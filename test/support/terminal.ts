// A program run in a real pseudo-terminal, driven like a person at a keyboard: wait until the
// screen shows something, then type. The terminal comes from util-linux `script` (on every Debian
// and in CI), which runs the command on a new pty and relays our keystrokes to it byte for byte;
// no native module is needed.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { stripVTControlCharacters } from 'node:util';

export const KEY = { enter: '\r', up: '\x1b[A', down: '\x1b[B', ctrlC: '\x03', backspace: '\x7f', escape: '\x1b' } as const;

export interface Terminal {
  /** Waits (bounded) until the text since the last match contains `pattern`; returns that text. */
  expect(pattern: RegExp | string, timeoutMs?: number): Promise<string>;
  type(keys: string): void;
  /** Everything shown so far, without escape sequences. */
  screen(): string;
  /** Resolves with the exit code (bounded; the process is killed after the timeout). */
  exit(timeoutMs?: number): Promise<number | null>;
  /** Ends the program if it still runs (a failed test must not leave it waiting for keys). */
  kill(): Promise<void>;
}

function shellQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function startInTerminal(command: string[], options: { cwd: string; env: Record<string, string | undefined> }): Terminal {
  // A pty made by `script` from a pipe has no size (0 columns), so the program would wrap at every
  // character: give it one first, as a real terminal window would.
  const shell = `stty cols 120 rows 50 && exec ${command.map(shellQuote).join(' ')}`;
  const child: ChildProcessWithoutNullStreams = spawn('script', ['-q', '-f', '-e', '-c', shell, '/dev/null'], {
    cwd: options.cwd,
    env: { TERM: 'xterm-256color', COLUMNS: '120', LINES: '50', ...options.env },
  });
  let raw = '';
  let consumed = 0;
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    raw += chunk.toString('utf8');
    for (const wake of waiters) wake();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let done = false;
  void exited.then(() => {
    done = true;
    for (const wake of waiters) wake();
  });
  const clean = () => stripVTControlCharacters(raw);
  return {
    expect(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const text = clean().slice(consumed);
          const index = typeof pattern === 'string' ? text.indexOf(pattern) : text.search(pattern);
          if (index >= 0) {
            const matchLength = typeof pattern === 'string' ? pattern.length : (text.match(pattern)?.[0].length ?? 0);
            consumed += index + matchLength;
            cleanup();
            resolve(text.slice(0, index + matchLength));
          } else if (done) {
            cleanup();
            reject(new Error(`exited before showing ${String(pattern)}; the screen ends with:\n${text.slice(-1500)}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${String(pattern)} not shown within ${timeoutMs} ms; the screen ends with:\n${clean().slice(consumed).slice(-1500)}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    type(keys) {
      child.stdin.write(keys);
    },
    screen: clean,
    async kill() {
      if (done) return;
      // Ctrl-C as a person would press it; if that does not end it, closing the terminal (killing
      // `script`, which holds the pty) hangs up the program on it.
      child.stdin.write(KEY.ctrlC);
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    },
    async exit(timeoutMs = 20_000) {
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
