import { ConfigError, loadConfig } from '../config.js';
import { openDatabase, type Database } from '../db/database.js';
import { applyMigrations } from '../db/migrations.js';

/** Opens the configured database for a CLI command, brought up to the committed migrations. */
export async function withCliDatabase<T>(fn: (db: Database) => Promise<T>): Promise<T> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) throw new Error(error.message);
    throw error;
  }
  const db = await openDatabase(config.database);
  try {
    await applyMigrations(db.migrationAdapter());
    return await fn(db);
  } finally {
    await db.close();
  }
}
