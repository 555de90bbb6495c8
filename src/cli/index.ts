import { Command, Option } from 'commander';
import { userInfo } from 'node:os';
import { importCommand } from './import.js';
import { exportCommand } from './export.js';
import { createKeyCommand, listKeysCommand, revokeKeyCommand } from './keys.js';
import { reloadCommand } from './reload.js';

const program = new Command('tool-catalog')
  .description('Manage the tool catalog from the command line (uses DATABASE_URL, or the embedded database in DATA_DIR).')
  .showHelpAfterError();

function actorName(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}

program
  .command('import')
  .description('import tool YAML files or directories (every legacy shape, and exports of this service)')
  .argument('<paths...>', 'files or directories (searched recursively for .yaml/.yml)')
  .option('--dry-run', 'print what would change; write nothing')
  .option('--partial', 'write the valid tools even if some files are rejected (default: all or nothing)')
  .option('--strict', 'unknown keys are errors, not warnings (default: STRICT_IMPORT)')
  .option('--actor <name>', 'who the audit log names', actorName())
  .option('--json', 'print the full report as JSON instead of text')
  .action(async (paths: string[], options) => {
    process.exitCode = await importCommand(paths, options);
  });

program
  .command('export')
  .description('write the catalog as canonical YAML, one file per tool: <dir>/<platform>/<name>.yaml')
  .argument('<dir>', 'output directory (created if missing; must be empty unless --force)')
  .option('--force', 'write into a non-empty directory, replacing files of the same name')
  .action(async (dir: string, options) => {
    process.exitCode = await exportCommand(dir, options);
  });

program
  .command('reload')
  .description('reload CATALOG_DIR into the catalog through the importer, all or nothing, recorded in the reload history')
  .addOption(new Option('--source <source>', 'directory (CATALOG_DIR) or database (only drops caches)').choices(['directory', 'database']).default('directory'))
  .option('--dry-run', 'plan only; write nothing but the history row')
  .option('--reason <text>', 'why, for the history and the audit log')
  .option('--prune', 'soft-delete tools from the directory whose file is gone (default: CATALOG_PRUNE)')
  .option('--actor <name>', 'who the history and the audit log name', actorName())
  .action(async (options) => {
    process.exitCode = await reloadCommand(options);
  });

const keys = program.command('keys').description('manage API keys (stored hashed; shown once when created)');
keys
  .command('create')
  .description('create a key and print it once')
  .requiredOption('--name <name>', 'who the key belongs to (the audit log names it)')
  .requiredOption('--role <role>', 'reader, editor or admin')
  .action(async (options) => {
    process.exitCode = await createKeyCommand(options);
  });
keys
  .command('list')
  .description('list keys (names, roles, state; never the keys)')
  .action(async () => {
    process.exitCode = await listKeysCommand();
  });
keys
  .command('revoke')
  .description('revoke a key by name')
  .argument('<name>')
  .action(async (name: string) => {
    process.exitCode = await revokeKeyCommand(name);
  });

await program.parseAsync(process.argv).catch((error: Error) => {
  console.error(`tool-catalog: ${error.message}`);
  process.exitCode = 2;
});

// The schema engine leaves a timer of its own running for ~10 s after it is freed; the command is
// done, so exit once what was printed has been flushed.
const flushed = (stream: NodeJS.WriteStream) => new Promise<void>((resolve) => stream.write('', () => resolve()));
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit();
