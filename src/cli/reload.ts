import { loadConfig } from '../config.js';
import { CatalogReloader, type ReloadSource } from '../catalog/reload.js';
import { withCliDatabase } from './database.js';

interface ReloadOptions {
  source: ReloadSource;
  dryRun?: boolean;
  reason?: string;
  actor: string;
  prune?: boolean;
}

/**
 * Reloads CATALOG_DIR into the configured database, recorded in the reload history like any other.
 * Running services on the same PostgreSQL database hear of it at commit and drop their caches.
 * Exit code 1 when the reload failed (and changed nothing).
 */
export async function reloadCommand(options: ReloadOptions): Promise<number> {
  const { catalogDir, catalogChecks } = loadConfig();
  const outcome = await withCliDatabase((db) =>
    new CatalogReloader(db.prisma, { catalogDir, prune: catalogChecks.prune, strict: catalogChecks.strict }).reload({
      source: options.source,
      dryRun: options.dryRun ?? false,
      trigger: 'cli',
      actor: options.actor,
      reason: options.reason,
      prune: options.prune,
    }),
    // A dry run plans without writing to the database, not even migrations (its history row goes
    // to the database only when that is up to date; otherwise to the in-memory copy it plans on).
    { planOnly: options.dryRun },
  );
  const r = outcome.reload;
  console.log(
    `${r.dryRun ? 'dry run of ' : ''}reload from ${r.source}: ${r.created} created, ${r.newVersions} new version(s), ` +
      `${r.unchanged} unchanged, ${r.rejected} rejected, ${r.removed} removed in ${r.durationMs} ms`,
  );
  for (const tool of outcome.plan?.pruned ?? []) console.log(`${r.dryRun ? 'would remove' : 'removed'} ${tool.name} (${tool.platform}) ${tool.version}: its file is gone`);
  if (r.error) {
    console.error(`tool-catalog: ${r.error}`);
    return 1;
  }
  return 0;
}
