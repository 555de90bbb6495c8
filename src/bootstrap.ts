import type { Config } from './config.js';
import { seedIfEmpty } from './catalog/seed.js';
import type { Database } from './db/database.js';
import { applyMigrations, migrationsUpToDate } from './db/migrations.js';
import type { Logger } from './logger.js';

/** Brings a database up to date: committed migrations, then the sample catalog if it is empty. */
export async function prepareDatabase(
  db: Database,
  config: Pick<Config, 'catalogDir' | 'seedOnEmpty'>,
  log: Logger,
): Promise<void> {
  const applied = (await migrationsUpToDate(db.prisma))
    ? []
    : await applyMigrations(db.migrationAdapter(), (line) => log.debug({ engine: line }, 'schema engine'));
  log.info({ applied, database: db.kind }, applied.length ? 'applied migrations' : 'database schema up to date');
  if (config.seedOnEmpty) await seedIfEmpty(db.prisma, config.catalogDir, log);
}
