import { SingleBar, Presets } from 'cli-progress';
import { formatDiagnostic } from '../catalog/diagnostics.js';
import { importCatalog, type ImportReport, type PlannedTool } from '../catalog/importer.js';
import { loadConfig } from '../config.js';
import { withCliDatabase } from './database.js';

interface ImportOptions {
  dryRun?: boolean;
  partial?: boolean;
  actor: string;
  json?: boolean;
  platform?: string;
  strict?: boolean;
}

const VERB: Record<PlannedTool['action'], string> = {
  create: 'create',
  new_version: 'new version',
  unchanged: 'unchanged',
  rejected: 'REJECTED',
};

function describeTool(tool: PlannedTool): string {
  const identity = tool.name ? `${tool.name} (${tool.platform}) ${tool.version}` : '';
  return `${VERB[tool.action].padEnd(11)} ${identity.padEnd(48)} ${tool.file}`;
}

function summary(report: ImportReport, options: ImportOptions): string {
  const c = report.counts;
  const counts =
    `${c.files} file(s): ${c.create} created, ${c.new_version} new version(s), ${c.unchanged} unchanged, ` +
    `${c.rejected} rejected, ${c.skipped} skipped, ${c.warnings} warning(s).`;
  if (options.dryRun) return `${counts}\nDry run: nothing was written.`;
  if (!report.applied) return `${counts}\nNothing was written: ${c.rejected} file(s) rejected (use --partial to write the valid ones).`;
  if (c.create + c.new_version === 0) return `${counts}\nNothing to change: the catalog already matches.`;
  return `${counts}\nWritten in one transaction; catalog revision ${report.revision}.`;
}

/** Runs an import and prints its plan; exit code 1 when anything was rejected. */
export async function importCommand(paths: string[], options: ImportOptions): Promise<number> {
  const interactive = process.stderr.isTTY && !options.json;
  const bar = interactive ? new SingleBar({ format: 'reading {bar} {value}/{total} {file}', hideCursor: true }, Presets.shades_classic) : undefined;
  let started = false;
  const report = await withCliDatabase((db) =>
    importCatalog(
      db.prisma,
      { paths },
      {
        actor: options.actor,
        dryRun: options.dryRun,
        partial: options.partial,
        strict: options.strict ?? loadConfig().catalogChecks.strict,
        trigger: 'cli',
        platform: options.platform,
        onProgress: (done, total, file) => {
          if (!bar) return;
          if (!started) {
            bar.start(total, 0, { file });
            started = true;
          }
          bar.update(done, { file });
        },
      },
    ),
    { planOnly: options.dryRun },
  );
  bar?.stop();
  if (options.json) {
    console.log(JSON.stringify(report, (_key, value) => (typeof value === 'bigint' ? value.toString() : value), 2));
  } else {
    for (const tool of report.tools) {
      console.log(describeTool(tool));
      for (const diagnostic of tool.diagnostics) console.log(`    ${formatDiagnostic(diagnostic)}`);
    }
    for (const skipped of report.skipped) console.log(`${'skipped'.padEnd(11)} ${''.padEnd(48)} ${skipped.display} (${skipped.reason})`);
    console.log(summary(report, options));
  }
  return report.counts.rejected > 0 ? 1 : 0;
}
