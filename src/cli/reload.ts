import { loadConfig } from '../config.js';
import { CatalogReloader, type ReloadSource } from '../catalog/reload.js';
import { withCliDatabase } from './database.js';

interface ReloadOptions {
  source: ReloadSource;
  dryRun?: boolean;
  reason?: string;
  actor: string;
}

/**
 * Reloads CATALOG_DIR into the configured database, recorded in the reload history like any other.
 * Running services on the same PostgreSQL database hear of it at commit and drop their caches.
 * Exit code 1 when the reload failed (and changed nothing).
 */
export async function reloadCommand(options: ReloadOptions): Promise<number> {
  const { catalogDir } = loadConfig();
  const outcome = await withCliDatabase((db) =>
    new CatalogReloader(db.prisma, { catalogDir }).reload({
      source: options.source,
      dryRun: options.dryRun ?? false,
      trigger: 'cli',
      actor: options.actor,
      reason: options.reason,
    }),
  );
  const r = outcome.reload;
  console.log(
    `${r.dryRun ? 'dry run of ' : ''}reload from ${r.source}: ${r.created} created, ${r.newVersions} new version(s), ` +
      `${r.unchanged} unchanged, ${r.rejected} rejected in ${r.durationMs} ms`,
  );
  if (r.error) {
    console.error(`tool-catalog: ${r.error}`);
    return 1;
  }
  return 0;
}
