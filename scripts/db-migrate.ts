// Applies the committed prisma/migrations to the configured database (DATABASE_URL, or the
// embedded PGlite database in DATA_DIR) with Prisma's schema engine, like `prisma migrate deploy`.
import { ConfigError, loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/database.js';
import { applyMigrations } from '../src/db/migrations.js';

try {
  const config = loadConfig();
  const db = await openDatabase(config.database);
  try {
    const applied = await applyMigrations(db.migrationAdapter());
    console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database schema is up to date; nothing applied');
  } finally {
    await db.close();
  }
} catch (error) {
  console.error(`db:migrate failed: ${error instanceof ConfigError ? error.message : (error as Error).message}`);
  process.exit(1);
}
// The schema engine keeps a timer alive for ~10 s after it is freed; there is nothing left to do.
process.exit();
