import type { Logger } from 'pino';
import { Prisma, type PrismaClient } from '../generated/prisma/client.js';
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
  let count: number;
  try {
    count = await insertNewTools(
      prisma,
      loaded.map((l) => l.definition),
      { actor: 'seed', eventType: 'CATALOG_SEEDED' },
    );
  } catch (error) {
    // Two instances starting on one empty database: the unique constraints let one seed win; the
    // other's transaction rolled back whole, and the catalog it finds is the same.
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
      log.info('another instance seeded the catalog first');
      return 0;
    }
    throw error;
  }
  log.info({ tools: count, dir: catalogDir }, 'seeded empty catalog');
  return count;
}
