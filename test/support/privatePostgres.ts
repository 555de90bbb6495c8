import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * A PostgreSQL server of the test's own, for fault tests that stop, freeze or kill the database:
 * never the shared server named by DATABASE_URL. Debian's binaries; the server refuses to run as
 * root, so as root it runs as the `postgres` user (created by Debian's package).
 */
export interface PrivatePostgres {
  /** `postgresql://catalog@127.0.0.1:<port>/postgres` */
  url: string;
  port: number;
  /** SIGSTOP to every server process: connections stay open and nothing answers. */
  freeze(): void;
  /** SIGCONT after `freeze`. */
  thaw(): void;
  /** `pg_ctl stop -m immediate` (or `fast`): connections are cut, new ones refused. */
  stop(mode?: 'immediate' | 'fast'): void;
  /** Starts the server again on the same port and data. */
  start(): void;
  /** Stops the server for good and removes its files. */
  destroy(): void;
}

function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'pg_ctl')));
  versions.sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], 'bin') : undefined;
}

/** True when this machine can run a private cluster (binaries present). */
export const privatePostgresAvailable = postgresBin() !== undefined;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = postgresBin();
  if (!bin) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql (Debian package postgresql)');
  const asRoot = process.getuid?.() === 0;
  const root = mkdtempSync(path.join(tmpdir(), 'tc-private-pg-'));
  chmodSync(root, 0o755);
  const data = path.join(root, 'data');
  const socket = path.join(root, 'socket');
  const run = (command: string, args: string[]) => {
    const full = asRoot ? ['runuser', ['-u', 'postgres', '--', path.join(bin, command), ...args]] as const : [path.join(bin, command), args] as const;
    const result = spawnSync(full[0], full[1] as string[], { encoding: 'utf8', timeout: 60_000 });
    if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr || result.stdout || result.error}`);
    return result.stdout;
  };
  if (asRoot) execFileSync('chown', ['postgres', root]);
  run('initdb', ['-D', data, '-U', 'catalog', '--auth=trust', '-E', 'UTF8']);
  execFileSync(asRoot ? 'runuser' : 'mkdir', asRoot ? ['-u', 'postgres', '--', 'mkdir', socket] : [socket]);
  const port = await freePort();
  const options = `-c listen_addresses=127.0.0.1 -p ${port} -k ${socket} -c fsync=off -c max_connections=100`;
  const start = () => void run('pg_ctl', ['-D', data, '-l', path.join(root, 'server.log'), '-w', '-t', '60', '-o', options, 'start']);
  start();
  const pids = (): number[] => {
    // The postmaster and every backend: their parent is the postmaster.
    const head = Number(readPidFile(data));
    const children = spawnSync('pgrep', ['-P', String(head)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
    return [head, ...children];
  };
  const signal = (sig: NodeJS.Signals) => {
    for (const pid of pids()) {
      try {
        process.kill(pid, sig);
      } catch {
        // a backend that just exited
      }
    }
  };
  let running = true;
  return {
    url: `postgresql://catalog@127.0.0.1:${port}/postgres`,
    port,
    freeze: () => signal('SIGSTOP'),
    thaw: () => signal('SIGCONT'),
    stop: (mode = 'immediate') => {
      run('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
      running = false;
    },
    start: () => {
      start();
      running = true;
    },
    destroy: () => {
      if (running) {
        try {
          signal('SIGCONT');
          run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-t', '60', 'stop']);
        } catch {
          // already down
        }
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}

function readPidFile(data: string): string {
  const text = spawnSync('cat', [path.join(data, 'postmaster.pid')], { encoding: 'utf8' }).stdout;
  const pid = text.split('\n')[0]?.trim();
  if (!pid) throw new Error('postmaster.pid has no pid: is the server running?');
  return pid;
}
