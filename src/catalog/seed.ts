import type { Logger } from 'pino';
import type { PrismaClient } from '../generated/prisma/client.js';
import { formatDiagnostic } from './diagnostics.js';
import { importCatalog, ImportConflictError, type ImportReport } from './importer.js';

export class SeedRejectedError extends Error {
  override name = 'SeedRejectedError';
  constructor(readonly report: ImportReport) {
    const lines = report.tools
      .filter((t) => t.action === 'rejected')
      .flatMap((t) => t.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic));
    super(`the catalog directory has ${report.counts.rejected} rejected file(s); nothing was loaded:\n${lines.join('\n')}`);
  }
}

/** Loads the catalog directory into an empty database; a database with any tool is left alone. */
export async function seedIfEmpty(prisma: PrismaClient, catalogDir: string, log: Logger): Promise<number> {
  const existing = await prisma.tool.count();
  if (existing > 0) {
    log.info({ tools: existing }, 'catalog already loaded; not seeding');
    return 0;
  }
  let report: ImportReport;
  try {
    report = await importCatalog(prisma, { paths: [catalogDir] }, { actor: 'seed', trigger: 'startup', loadedFrom: 'directory' });
  } catch (error) {
    // Two instances starting on one empty database: one seed wins, the other's transaction
    // rolled back whole and it serves what the winner wrote.
    if (error instanceof ImportConflictError) {
      log.info('another instance seeded the catalog first');
      return 0;
    }
    throw error;
  }
  if (!report.applied) throw new SeedRejectedError(report);
  for (const tool of report.tools) {
    for (const d of tool.diagnostics) log.warn({ file: d.file, line: d.line, field: d.field }, d.message);
  }
  log.info({ tools: report.counts.create, dir: catalogDir }, 'seeded empty catalog');
  return report.counts.create;
}
