import { watch } from 'chokidar';
import { realpathSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../logger.js';
import type { CatalogReloader, ReloadRequest } from './reload.js';

/** Files editors and tools write next to the real one: swap, backup, lock and temporary files. */
const EDITOR_LEFTOVER = /(^\.|~$|\.sw[a-p]$|\.tmp$|^#.*#$|^4913$|\.bak$|\.orig$)/i;
const CATALOG_FILE = /\.ya?ml$/i;

function describe(outcome: Awaited<ReturnType<CatalogReloader['reload']>>) {
  const r = outcome.reload;
  return { created: r.created, newVersions: r.newVersions, unchanged: r.unchanged, rejected: r.rejected, durationMs: r.durationMs, error: r.error };
}

async function runLogged(reloader: CatalogReloader, request: ReloadRequest, log: Logger) {
  try {
    const outcome = await reloader.reload(request);
    if (outcome.reload.error) log.warn(describe(outcome), `${request.trigger} reload failed; the catalog is unchanged`);
    else log.info(describe(outcome), `${request.trigger} reload done`);
  } catch (error) {
    log.error({ err: error }, `${request.trigger} reload could not run`);
  }
}

/**
 * Reloads the catalog directory when its YAML files change: changes are gathered for `debounceMs`
 * so one save (or a `git checkout` touching many files) is one reload. Editor leftovers are ignored,
 * links are not followed, and a changed path that resolves outside the directory is refused.
 */
export function watchCatalogDir(reloader: CatalogReloader, dir: string, options: { debounceMs: number; log: Logger }) {
  const root = realpathSync(dir);
  let timer: NodeJS.Timeout | undefined;
  const changed = new Set<string>();
  const watcher = watch(root, {
    ignoreInitial: true,
    followSymlinks: false,
    ignored: (file) => file !== root && EDITOR_LEFTOVER.test(path.basename(file)),
  });
  const onChange = (file: string) => {
    if (!CATALOG_FILE.test(file)) return;
    let resolved = file;
    try {
      resolved = realpathSync(file);
    } catch {
      // Removed: nothing to resolve.
    }
    if (resolved !== root && !resolved.startsWith(`${root}${path.sep}`)) {
      options.log.warn({ file }, 'catalog watcher: ignoring a path that resolves outside the catalog directory');
      return;
    }
    changed.add(path.relative(root, file));
    clearTimeout(timer);
    timer = setTimeout(() => {
      options.log.info({ files: [...changed].slice(0, 20), count: changed.size }, 'catalog files changed; reloading');
      changed.clear();
      void runLogged(reloader, { source: 'directory', dryRun: false, trigger: 'watch', actor: 'watcher' }, options.log);
    }, options.debounceMs);
  };
  watcher.on('add', onChange).on('change', onChange).on('unlink', onChange);
  watcher.on('error', (error) => options.log.error({ err: error }, 'catalog watcher error'));
  const ready = new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return {
    ready,
    async close() {
      clearTimeout(timer);
      await watcher.close();
    },
  };
}

/** Reloads the catalog directory every `intervalMs`. */
export function scheduleReloads(reloader: CatalogReloader, intervalMs: number, log: Logger) {
  const timer = setInterval(() => {
    void runLogged(reloader, { source: 'directory', dryRun: false, trigger: 'schedule', actor: 'scheduler' }, log);
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
