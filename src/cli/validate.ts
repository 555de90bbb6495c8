import { formatDiagnostic } from '../catalog/diagnostics.js';
import { checkCatalog } from '../catalog/importer.js';
import { loadConfig } from '../config.js';

/**
 * `tool-catalog validate <file|dir>...`: the importer's checks on files, without a database and
 * without writing. Prints every problem as `file:line:column: severity: path: message`; exit
 * code 1 when any file has an error.
 */
export async function validateCommand(paths: string[], options: { quiet?: boolean; strict?: boolean }): Promise<number> {
  // The verdict `import` would give: unknown keys are errors under --strict or STRICT_IMPORT.
  const strict = options.strict ?? loadConfig().catalogChecks.strict;
  const { tools, skipped } = await checkCatalog({ paths }, { strict });
  let errors = 0;
  let warnings = 0;
  for (const tool of tools) {
    for (const diagnostic of tool.diagnostics) {
      if (diagnostic.severity === 'error') errors++;
      else warnings++;
      if (diagnostic.severity === 'error' || !options.quiet) console.log(formatDiagnostic(diagnostic));
    }
  }
  const rejected = tools.filter((t) => t.action === 'rejected').length;
  console.error(
    `${tools.length} file(s): ${tools.length - rejected} valid, ${rejected} rejected, ${errors} error(s), ${warnings} warning(s)` +
      `${skipped.length ? `, ${skipped.length} skipped (${skipped.map((s) => `${s.display}: ${s.reason}`).join('; ')})` : ''}.`,
  );
  return rejected > 0 || errors > 0 ? 1 : 0;
}
