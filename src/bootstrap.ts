import { existsSync } from 'node:fs';
import type { Config } from './config.js';
import { closeInterruptedReloads, type CatalogReloader } from './catalog/reload.js';
import { SeedRejectedError } from './catalog/seed.js';
import { seedIfEmpty } from './catalog/seed.js';
import type { Database } from './db/database.js';
import { applyMigrations, migrationsUpToDate } from './db/migrations.js';
import type { Logger } from './logger.js';

/**
 * Brings a database up to date: committed migrations, then the sample catalog if it is empty.
 * With a reloader, the load is a `startup` reload in the history (and on the event feed).
 */
export async function prepareDatabase(
  db: Database,
  config: Pick<Config, 'catalogDir' | 'seedOnEmpty'>,
  log: Logger,
  reloader?: CatalogReloader,
): Promise<void> {
  const applied = (await migrationsUpToDate(db.prisma))
    ? []
    : await applyMigrations(db.migrationAdapter(), (line) => log.debug({ engine: line }, 'schema engine'));
  log.info({ applied, database: db.kind }, applied.length ? 'applied migrations' : 'database schema up to date');
  const interrupted = await closeInterruptedReloads(db.prisma);
  if (interrupted) log.warn({ interrupted }, 'closed reloads left open by a process that stopped mid-reload as INTERRUPTED');
  if (!reloader) {
    if (config.seedOnEmpty) await seedIfEmpty(db.prisma, config.catalogDir, log);
    return;
  }
  await loadAtStartup(db, config, log, reloader);
}

/**
 * An empty database is loaded from the catalog directory; one that already holds a catalog is
 * served as it is (a restart must not undo changes made through the API since the files were
 * written). Either way the start-up is one row in the reload history.
 */
async function loadAtStartup(db: Database, config: Pick<Config, 'catalogDir' | 'seedOnEmpty'>, log: Logger, reloader: CatalogReloader) {
  const seed = config.seedOnEmpty && existsSync(config.catalogDir) && (await db.prisma.tool.count()) === 0;
  const { reload, plan } = await reloader.reload({ source: seed ? 'directory' : 'database', dryRun: false, trigger: 'startup', actor: 'startup' });
  if (plan && !plan.applied && plan.counts.rejected) throw new SeedRejectedError(plan);
  if (reload.error) {
    // Two instances starting on one empty database: one load wins, the other's rolled back whole.
    log.warn({ reload: reload.id, error: reload.error }, 'start-up load did not apply; serving the catalog as the database has it');
    return;
  }
  log.info(
    { reload: reload.id, source: reload.source, created: reload.created, unchanged: reload.unchanged, durationMs: reload.durationMs },
    seed ? 'seeded empty catalog' : 'catalog loaded from the database',
  );
}
