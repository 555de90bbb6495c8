import type { Logger } from 'pino';
import type { PrismaClient } from '../generated/prisma/client.js';
import { loadCatalogDirectory } from './loadDirectory.js';
import { insertNewTools } from './writeTools.js';

/** Loads the catalog directory into an empty database; a database with any tool is left alone. */
export async function seedIfEmpty(prisma: PrismaClient, catalogDir: string, log: Logger): Promise<number> {
  const existing = await prisma.tool.count();
  if (existing > 0) {
    log.info({ tools: existing }, 'catalog already loaded; not seeding');
    return 0;
  }
  const loaded = await loadCatalogDirectory(catalogDir);
  const count = await insertNewTools(
    prisma,
    loaded.map((l) => l.definition),
    { actor: 'seed', eventType: 'CATALOG_SEEDED' },
  );
  log.info({ tools: count, dir: catalogDir }, 'seeded empty catalog');
  return count;
}
