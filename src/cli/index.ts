import { Command, Option } from 'commander';
import { userInfo } from 'node:os';
import { importCommand } from './import.js';
import { exportCommand } from './export.js';
import { createKeyCommand, listKeysCommand, revokeKeyCommand } from './keys.js';
import { reloadCommand } from './reload.js';
import { exportProfilesCommand } from './profiles.js';
import { collect, newCommand } from './new.js';
import { validateCommand } from './validate.js';
import { TEMPLATE_NAMES } from '../generator/templates.js';

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
  .option('--platform <platform>', 'platform for the tools of a legacy optimization-profiles file, which name none', 'custom')
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
  .option('--dry-run', 'plan only; write nothing but the history row (nothing at all, not even migrations, to a database that is not up to date)')
  .option('--reason <text>', 'why, for the history and the audit log')
  .option('--prune', 'soft-delete tools from the directory whose file is gone (default: CATALOG_PRUNE)')
  .option('--actor <name>', 'who the history and the audit log name', actorName())
  .action(async (options) => {
    process.exitCode = await reloadCommand(options);
  });

const profiles = program.command('profiles').description('the catalog as optimization profiles (the legacy tool_optimization_profiles shape)');
profiles
  .command('export')
  .description('print the profiles as JSON, or write them to a file (atomically)')
  .option('--platform <platform>', 'only this platform, keyed by tool name')
  .option('--out <file>', 'write to this file instead of standard output')
  .action(async (options) => {
    process.exitCode = await exportProfilesCommand(options);
  });

program
  .command('new')
  .description('write a new tool file with a wizard (or, with --yes, from a template, an answers file and flags), checked by the importer first')
  .addOption(new Option('--template <name>', 'start from a template').choices([...TEMPLATE_NAMES]))
  .option('--answers <file>', 'answers as YAML or JSON (the keys of a tool file: tool_name excepted, use name)')
  .option('-y, --yes', 'ask nothing: take the template, answers file and flags as they are')
  .option('--out <path>', 'a .yaml file, or a catalog directory to write <platform>/<name>.yaml into (default: CATALOG_DIR)')
  .option('--force', 'replace an existing file')
  .option('--name <name>', 'tool name')
  .option('--platform <platform>', 'platform (linux, windows, network, database, cloud, kubernetes, container, monitoring, custom…)')
  .option('--category <category>', 'category')
  .option('--description <text>', 'one sentence: what it does')
  .option('--tool-version <version>', 'version (default 1.0)')
  .option('--execution-location <where>', 'where it runs')
  .option('--default <key=value>', 'a default (repeatable)', collect, [])
  .option('--dependency <text>', 'a dependency (repeatable)', collect, [])
  .option('--meta <key=value>', 'a metadata entry (repeatable)', collect, [])
  .option('--tag <tag>', 'a tag (repeatable)', collect, [])
  .option('--set <path=value>', 'any answer by path, e.g. capabilities.0.patterns.0.time_estimate_ms="200 + N" (repeatable; value read as YAML)', collect, [])
  .option('--publish <url>', 'import it into a running service instead of writing a file (needs an editor key)')
  .option('--api-key <key>', 'editor key for --publish (or TOOL_CATALOG_API_KEY)')
  .option('--publish-db', 'import it into the configured database instead of writing a file')
  .option('--actor <name>', 'who the audit log names (--publish-db)', actorName())
  .option('--strict', 'unknown keys are errors, not warnings (default: STRICT_IMPORT)')
  .action(async (options) => {
    process.exitCode = await newCommand(options);
  });

program
  .command('validate')
  .description("check tool files with the importer's own checks, writing nothing; exit code 1 on any error")
  .argument('<paths...>', 'files or directories (searched recursively for .yaml/.yml)')
  .option('--quiet', 'print errors only')
  .option('--strict', 'unknown keys are errors, not warnings (default: STRICT_IMPORT), as import would judge them')
  .action(async (paths: string[], options) => {
    process.exitCode = await validateCommand(paths, options);
  });

const keys = program.command('keys').description('manage API keys (stored hashed; shown once when created)');
keys
  .command('create')
  .description('create a key and print it once')
  .requiredOption('--name <name>', 'who the key belongs to (the audit log names it)')
  .requiredOption('--role <role>', 'reader, reporter, editor or admin')
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
