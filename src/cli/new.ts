import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { formatDiagnostic, type Diagnostic } from '../catalog/diagnostics.js';
import { importCatalog } from '../catalog/importer.js';
import { ConfigError, loadConfig } from '../config.js';
import { AnswersError, checkedAnswers, keyValues, mergeAnswers, parseAnswers, setAnswer, type Answers } from '../generator/answers.js';
import { catalogPath, checkAnswers, policyWarnings } from '../generator/render.js';
import { TEMPLATE_NAMES, TEMPLATES, templateAnswers, type TemplateName } from '../generator/templates.js';
import { runWizard, WizardCancelled, wizardCancelled, wizardDone } from '../generator/wizard.js';
import { withCliDatabase } from './database.js';

export interface NewOptions {
  template?: string;
  answers?: string;
  yes?: boolean;
  out?: string;
  force?: boolean;
  name?: string;
  platform?: string;
  category?: string;
  description?: string;
  toolVersion?: string;
  executionLocation?: string;
  default: string[];
  dependency: string[];
  meta: string[];
  tag: string[];
  set: string[];
  publish?: string;
  apiKey?: string;
  publishDb?: boolean;
  actor: string;
  /** Unknown keys are errors (default: STRICT_IMPORT). */
  strict?: boolean;
}

export const collect = (value: string, previous: string[]) => [...previous, value];

const EMPTY: Answers = {
  name: '',
  platform: 'linux',
  category: 'system',
  description: '',
  version: '1.0',
  defaults: {},
  dependencies: [],
  capabilities: [],
  metadata: {},
};

/** Template, then answers file, then flags: each later source wins. */
async function gatherAnswers(options: NewOptions): Promise<Answers> {
  if (options.template && !TEMPLATE_NAMES.includes(options.template as TemplateName)) {
    throw new AnswersError(`unknown template ${options.template}; choose one of: ${TEMPLATE_NAMES.join(', ')}`);
  }
  let answers = options.template ? templateAnswers(options.template as TemplateName) : structuredClone(EMPTY);
  if (options.answers) answers = mergeAnswers(answers, parseAnswers(await readFile(options.answers, 'utf8'), options.answers));
  const named: Partial<Answers> = {
    name: options.name,
    platform: options.platform,
    category: options.category,
    description: options.description,
    version: options.toolVersion,
    execution_location: options.executionLocation,
  };
  for (const [key, value] of Object.entries(named)) if (value !== undefined) (answers as unknown as Record<string, unknown>)[key] = value;
  Object.assign(answers.defaults, keyValues(options.default, '--default'));
  if (options.dependency.length) answers.dependencies = options.dependency;
  Object.assign(answers.metadata, keyValues(options.meta, '--meta'));
  if (options.tag.length) answers.metadata.tags = options.tag;
  for (const assignment of options.set) setAnswer(answers, assignment);
  return checkedAnswers(answers, options.set);
}

/** Where the file goes: --out (a .yaml file, or a catalog directory), else CATALOG_DIR. */
function outputFile(options: NewOptions, answers: Answers): string {
  if (options.out && /\.ya?ml$/i.test(options.out)) return options.out;
  let dir = options.out;
  if (!dir) {
    try {
      dir = loadConfig().catalogDir;
    } catch (error) {
      if (error instanceof ConfigError) throw new AnswersError(error.message);
      throw error;
    }
  }
  return path.join(dir, catalogPath(answers));
}

function printDiagnostics(diagnostics: Diagnostic[]) {
  for (const d of diagnostics) console.error(formatDiagnostic(d));
}

/** Why a request never got an answer: the socket's code (ECONNREFUSED, ENOTFOUND…), or a timeout. */
function unreachableReason(error: unknown): string {
  if ((error as Error).name === 'TimeoutError') return 'no answer within 30 s';
  const cause = (error as Error & { cause?: Error & { code?: string; errors?: Array<{ code?: string }> } }).cause;
  return cause?.code ?? cause?.errors?.find((e) => e.code)?.code ?? cause?.message ?? (error as Error).message;
}

async function publishToService(url: string, apiKey: string | undefined, name: string, yaml: string): Promise<number> {
  let endpoint: URL;
  try {
    endpoint = new URL('/graphql', url);
  } catch {
    console.error(`tool-catalog new: --publish ${url}: not a URL (e.g. http://127.0.0.1:4000); nothing was written.`);
    return 1;
  }
  let response: Response;
  try {
    response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
      body: JSON.stringify({
        query: `mutation NewTool($documents: [CatalogDocumentInput!]!) {
          importCatalog(documents: $documents, reason: "tool-catalog new") {
            __typename
            ... on ImportResult { applied revision tools { action name platform version diagnostics { file line column field severity message } } }
            ... on Error { message }
          }
        }`,
        variables: { documents: [{ name, content: yaml }] },
      }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    console.error(`tool-catalog new: cannot reach ${url}: ${unreachableReason(error)}; nothing was written.`);
    return 1;
  }
  const body = (await response.json().catch(() => null)) as {
    data?: { importCatalog?: { __typename: string; message?: string; applied?: boolean; revision?: number; tools?: Array<{ action: string; name: string; platform: string; version: string; diagnostics: Diagnostic[] }> } };
    errors?: Array<{ message: string }>;
  } | null;
  const result = body?.data?.importCatalog;
  if (!result || body?.errors) {
    console.error(`tool-catalog new: ${url} refused the import: HTTP ${response.status} ${body?.errors?.map((e) => e.message).join('; ') ?? ''}`);
    return 1;
  }
  if (result.__typename !== 'ImportResult') {
    console.error(`tool-catalog new: ${result.message}`);
    return 1;
  }
  for (const tool of result.tools ?? []) printDiagnostics(tool.diagnostics);
  const tool = result.tools?.[0];
  if (!result.applied || !tool || tool.action === 'REJECTED') {
    console.error('tool-catalog new: the service rejected the tool; nothing was written.');
    return 1;
  }
  console.log(`Published ${tool.name} (${tool.platform}) ${tool.version} to ${url}: ${tool.action.toLowerCase()}, catalog revision ${result.revision ?? 'unchanged'}.`);
  return 0;
}

async function publishToDatabase(name: string, yaml: string, actor: string, strict: boolean): Promise<number> {
  const report = await withCliDatabase((db) => importCatalog(db.prisma, { documents: [{ name, content: yaml }] }, { actor, trigger: 'cli', reason: 'tool-catalog new', strict }));
  for (const tool of report.tools) printDiagnostics(tool.diagnostics);
  const tool = report.tools[0];
  if (!report.applied || !tool || tool.action === 'rejected') {
    console.error(`tool-catalog new: the catalog rejected the tool${tool?.reason ? `: ${tool.reason}` : ''}; nothing was written.`);
    return 1;
  }
  console.log(`Published ${tool.name} (${tool.platform}) ${tool.version} to the database: ${tool.action.replace('_', ' ')}.`);
  return 0;
}

/**
 * `tool-catalog new`: the wizard on a terminal, or the same answers from a template, an answers
 * file and flags with --yes. The file is checked by the importer before anything is written; an
 * invalid tool is never written. Exit codes: 0 written, 1 invalid or refused, 130 cancelled.
 */
export async function newCommand(options: NewOptions): Promise<number> {
  let answers: Answers;
  try {
    answers = await gatherAnswers(options);
  } catch (error) {
    if (error instanceof AnswersError) {
      console.error(`tool-catalog new: ${error.message}`);
      return 1;
    }
    throw error;
  }
  let strict: boolean;
  try {
    // Checked as the importer will check it: unknown keys are errors under --strict or STRICT_IMPORT.
    strict = options.strict ?? loadConfig().catalogChecks.strict;
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`tool-catalog new: ${error.message}`);
      return 1;
    }
    throw error;
  }
  const interactive = !options.yes;
  if (interactive && !(process.stdin.isTTY && process.stdout.isTTY)) {
    console.error('tool-catalog new: no terminal to ask on; pass --yes to take the answers from the template, --answers and flags.');
    return 1;
  }
  // Without the wizard nobody asks for it; the file name and every check would stumble on its absence.
  if (!interactive && !answers.name.trim()) {
    console.error('tool-catalog new: a name is required (--name or name: in --answers); nothing was written.');
    return 1;
  }
  let yaml: string;
  let file: string;
  let force = options.force ?? false;
  const publishing = Boolean(options.publish || options.publishDb);
  try {
    if (interactive) {
      const intro = `tool-catalog new${options.template ? ` — template ${options.template}: ${TEMPLATES[options.template as TemplateName].summary}` : ''}`;
      // The review finds an existing file (unless it is not written, or --force replaces it anyway).
      const exists = (target: string) => !publishing && !force && existsSync(target);
      const done = await runWizard(answers, () => outputFile(options, answers), intro, { strict, exists });
      answers = done.answers;
      force ||= done.replace;
    }
    file = outputFile(options, answers);
    const verdict = await checkAnswers(answers, publishing ? catalogPath(answers) : file, { strict });
    // The wizard's review has shown these already, for the very answers it returns.
    if (!interactive || !verdict.valid) printDiagnostics(verdict.diagnostics);
    if (!verdict.valid) {
      console.error('tool-catalog new: the importer rejects this tool (above); nothing was written.');
      return 1;
    }
    yaml = verdict.yaml;
    // The wizard showed these at the review; without it they would go unseen.
    if (!interactive) for (const warning of policyWarnings(answers)) console.error(`tool-catalog new: warning: ${warning}`);
  } catch (error) {
    if (error instanceof WizardCancelled) {
      wizardCancelled();
      return 130;
    }
    if (error instanceof AnswersError) {
      console.error(`tool-catalog new: ${error.message}`);
      return 1;
    }
    throw error;
  }

  if (options.publish) return publishToService(options.publish, options.apiKey ?? process.env.TOOL_CATALOG_API_KEY, catalogPath(answers), yaml);
  if (options.publishDb) return publishToDatabase(catalogPath(answers), yaml, options.actor, strict);

  await mkdir(path.dirname(file), { recursive: true });
  try {
    await writeFile(file, yaml, { flag: force ? 'w' : 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      console.error(`tool-catalog new: ${file} exists; pass --force to replace it (nothing was written).`);
      return 1;
    }
    throw error;
  }
  const message = `Wrote ${file}. Import it with: tool-catalog import ${file}`;
  if (interactive) wizardDone(message);
  else console.log(message);
  return 0;
}
