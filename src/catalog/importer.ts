import type { PrismaClient } from '../generated/prisma/client.js';
import { Prisma } from '../generated/prisma/client.js';
import { headRevision } from '../events/eventLog.js';
import { publishVersions, pruneTools, type PrunedTool, type VersionWrite } from './catalogWrites.js';
import { contentHash } from './contentHash.js';
import type { ToolDefinition } from './definition.js';
import { FileReport, type Diagnostic } from './diagnostics.js';
import { ConflictError } from './errors.js';
import type { ShapeName } from './shapes/index.js';
import { expandProfiles, isProfilesDocument } from './shapes/profiles.js';
import { checkDefinitionDocument, type CheckOptions } from './validation.js';
import { collectSources, parseDocumentText, readSource } from './sources.js';
import { KNOWN_PLATFORMS } from './vocabulary.js';
import { judgeCompatibility } from './compatibility.js';
import { definitionOf, TOOL_CONTENT_INCLUDE } from './toolContent.js';
import type { YamlSource } from './yamlSource.js';

export type ImportAction = 'create' | 'new_version' | 'unchanged' | 'rejected';

export interface PlannedTool {
  file: string;
  shape?: ShapeName;
  name?: string;
  platform?: string;
  version?: string;
  action: ImportAction;
  /** For `rejected`: the reason in one line (details in `diagnostics`). */
  reason?: string;
  diagnostics: Diagnostic[];
  definition?: ToolDefinition;
  /** Filled for create / new_version. */
  write?: VersionWrite;
}

export interface ImportCounts {
  files: number;
  /** Tools soft-deleted (or, on a dry run, to be) because their file is gone (`prune`). */
  removed: number;
  create: number;
  new_version: number;
  unchanged: number;
  rejected: number;
  skipped: number;
  warnings: number;
}

export interface ImportReport {
  tools: PlannedTool[];
  skipped: Array<{ display: string; reason: string }>;
  counts: ImportCounts;
  /** With `prune`: the tools whose file is gone, soft-deleted (or to be, on a dry run). */
  pruned: PrunedTool[];
  /** True when the changes were written (not a dry run, and either nothing rejected or `partial`). */
  applied: boolean;
  /** The catalog revision after the import, when it wrote anything. */
  revision?: bigint;
}

export interface ImportOptions {
  actor: string;
  /** Where the request came from, for the audit log. */
  clientIp?: string | null;
  userAgent?: string | null;
  reason?: string | null;
  dryRun?: boolean;
  /** Write the valid tools even when others are rejected. Default: all or nothing. */
  partial?: boolean;
  onProgress?: (done: number, total: number, file: string) => void;
  /** How the import was triggered, recorded in events and the audit log. */
  trigger?: string;
  /** Unknown keys are errors instead of warnings. */
  strict?: boolean;
  /** Platform for the tools of a legacy profiles file, which name none (default `custom`). */
  platform?: string;
  /** `directory` when importing CATALOG_DIR (reloads, seeding): the tools become prunable. */
  loadedFrom?: 'directory';
  /**
   * Soft-delete tools that came from the directory and that no file defines any more (reloads of
   * CATALOG_DIR only). Tools created through the API are never pruned.
   */
  prune?: boolean;
  /** Runs first inside the write transaction, when there is anything to write (reloads announce themselves here). */
  beforeWrite?: (tx: Prisma.TransactionClient) => Promise<void>;
}

export type ImportInput = { paths: string[] } | { documents: Array<{ name: string; content: string }> };

const WRITE_BATCH = 250;
/** After writing this many tools, refresh the planner's statistics (PGlite has no autovacuum to do it). */
const ANALYZE_AFTER = 50;

export class ImportConflictError extends ConflictError {
  override name = 'ImportConflictError';
}

/** Reads, normalises and validates every input; nothing touches the database yet. */
/** Catalog files read at the same time. */
const READ_CONCURRENCY = 32;

async function readInputs(input: ImportInput, onProgress: ImportOptions['onProgress'], options: { strict?: boolean; platform?: string } = {}) {
  const { strict = false, platform } = options;
  const planned: Array<{ source: YamlSource; shape?: ShapeName; definition?: ToolDefinition; breaking?: boolean; successorGiven?: boolean }> = [];
  const problems: FileReport[] = [];
  let skipped: ImportReport['skipped'] = [];
  /** Tools beyond one per file (a profiles file holds many). */
  let extraTools = 0;
  if ('paths' in input) {
    const collected = await collectSources(input.paths);
    problems.push(...collected.problems);
    skipped = collected.skipped;
    let done = 0;
    // Several files in flight at once: on a busy service every await is a turn of the event loop,
    // and reading thousands of files one by one made a reload under read load take seconds.
    for (let start = 0; start < collected.files.length; start += READ_CONCURRENCY) {
      const batch = collected.files.slice(start, start + READ_CONCURRENCY);
      const sources = await Promise.all(batch.map((file) => readSource(file)));
      sources.forEach((source, i) => {
        const normalised = normalise(source, { directoryPlatform: batch[i]!.directoryPlatform, strict }, platform);
        extraTools += Math.max(0, normalised.length - 1);
        planned.push(...normalised);
        onProgress?.(++done, collected.files.length, batch[i]!.display);
      });
    }
  } else {
    for (const doc of input.documents) {
      const source = parseDocumentText(doc.name, doc.content);
      const first = doc.name.includes('/') ? doc.name.split('/')[0]!.toLowerCase() : undefined;
      const directoryPlatform = first && KNOWN_PLATFORMS.has(first) ? first : undefined;
      const normalised = normalise(source, { directoryPlatform, strict }, platform);
      extraTools += Math.max(0, normalised.length - 1);
      planned.push(...normalised);
    }
  }
  return { planned, problems, skipped, extraTools };
}

/**
 * One document to its definitions (one, or one per tool of a legacy profiles file), through the one
 * validation; afterwards only their diagnostics are kept, not the syntax tree.
 */
function normalise(source: YamlSource, options: CheckOptions, platform?: string) {
  if (isProfilesDocument(source.value)) {
    const tools = expandProfiles(source.value, platform).map((tool) => {
      const report = source.report.scoped(tool.path);
      for (const field of tool.filled) {
        report.warn([], `a profiles file gives no ${field}; using ${JSON.stringify(tool.document[field])}${field === 'platform' ? ' (set it with --platform)' : ''}`);
      }
      const normalised = checkDefinitionDocument(tool.document, report, options);
      report.detach();
      return { source: { file: source.file, value: undefined, report }, ...normalised };
    });
    source.report.detach();
    return tools;
  }
  const normalised = source.value === undefined ? {} : checkDefinitionDocument(source.value, source.report, options);
  source.report.detach();
  return [{ source: { ...source, value: undefined }, ...normalised }];
}

function reject(tool: PlannedTool, reason: string) {
  tool.action = 'rejected';
  tool.reason = reason;
  tool.write = undefined;
  tool.diagnostics = [...tool.diagnostics, { severity: 'error', file: tool.file, message: reason }];
}

/**
 * What the files alone decide, before the database is asked: rejected files, and the tools whose
 * definitions are valid (in `valid`, also listed in `tools`).
 */
function judgeFiles(read: Awaited<ReturnType<typeof readInputs>>) {
  const tools: PlannedTool[] = [];
  for (const report of read.problems) {
    tools.push({ file: report.file, action: 'rejected', reason: report.diagnostics[0]?.message, diagnostics: report.diagnostics });
  }
  const valid: PlannedTool[] = [];
  const successorGiven = new Map<PlannedTool, boolean>();
  const breakingAcknowledged = new Map<PlannedTool, boolean>();
  for (const { source, shape, definition, successorGiven: given, breaking } of read.planned) {
    const tool: PlannedTool = {
      file: source.file,
      shape,
      name: definition?.name,
      platform: definition?.platform,
      version: definition?.version,
      action: 'rejected',
      diagnostics: source.report.diagnostics,
      definition,
    };
    successorGiven.set(tool, given ?? false);
    breakingAcknowledged.set(tool, breaking ?? false);
    if (!definition || source.report.hasErrors) {
      tool.reason = source.report.diagnostics.find((d) => d.severity === 'error')?.message ?? 'invalid';
    } else {
      valid.push(tool);
    }
    tools.push(tool);
  }
  return { tools, valid, successorGiven, breakingAcknowledged };
}

/** A tool defined by two files of one import: the later one is rejected. */
function duplicateOf(firstFile: Map<string, string>, tool: PlannedTool): string | undefined {
  const key = `${tool.definition!.name}\u0000${tool.definition!.platform}`;
  const earlier = firstFile.get(key);
  if (!earlier) firstFile.set(key, tool.file);
  return earlier;
}

/**
 * The importer's checks without a database (`tool-catalog validate`, the generator): every file
 * read, parsed and validated exactly as an import reads it, and tools defined twice. Whether a
 * version already exists in a catalog is left to `importCatalog` (a dry run), which asks the database.
 */
export async function checkCatalog(input: ImportInput, options: Pick<ImportOptions, 'strict' | 'platform'> = {}): Promise<Pick<ImportReport, 'tools' | 'skipped'>> {
  const read = await readInputs(input, undefined, options);
  const { tools, valid } = judgeFiles(read);
  const firstFile = new Map<string, string>();
  for (const tool of valid) {
    const earlier = duplicateOf(firstFile, tool);
    if (earlier) reject(tool, `tool ${tool.definition!.name} (${tool.definition!.platform}) is also defined in ${earlier}`);
    else tool.action = 'create';
  }
  return { tools, skipped: read.skipped };
}

/** Decides, per tool, what the import would do against the database as it is now. */
async function plan(prisma: PrismaClient, read: Awaited<ReturnType<typeof readInputs>>, options: ImportOptions): Promise<PlannedTool[]> {
  const { tools, valid, successorGiven, breakingAcknowledged } = judgeFiles(read);

  const names = [...new Set(valid.map((t) => t.name!))];
  const existing = names.length
    ? await prisma.tool.findMany({
        where: { name: { in: names } },
        select: { id: true, name: true, platform: true, version: true, isLatest: true, contentHash: true, revision: true, deletedAt: true, successor: true, loadedFrom: true },
      })
    : [];
  const byIdentity = new Map<string, typeof existing>();
  for (const row of existing) {
    const key = `${row.name}\u0000${row.platform}`;
    byIdentity.set(key, [...(byIdentity.get(key) ?? []), row]);
  }

  const replacing: Array<{ tool: PlannedTool; latestId: string }> = [];
  const firstFile = new Map<string, string>();
  for (const tool of valid) {
    // The successor is a property of the tool: a file that names none keeps the one the tool has.
    const stored = (byIdentity.get(`${tool.definition!.name}\u0000${tool.definition!.platform}`) ?? []).find((r) => r.isLatest);
    if (!successorGiven.get(tool) && stored?.successor) tool.definition = { ...tool.definition!, successor: stored.successor };
    const definition = tool.definition!;
    const key = `${definition.name}\u0000${definition.platform}`;
    const earlier = duplicateOf(firstFile, tool);
    if (earlier) {
      reject(tool, `tool ${definition.name} (${definition.platform}) is also defined in ${earlier}`);
      continue;
    }
    const hash = contentHash(definition);
    const rows = byIdentity.get(key) ?? [];
    const latest = rows.find((r) => r.isLatest);
    if (latest?.deletedAt) {
      reject(tool, `tool ${definition.name} (${definition.platform}) is deleted; restore it before importing it again`);
    } else if (latest && latest.contentHash === hash && latest.version === definition.version) {
      tool.action = 'unchanged';
    } else if (rows.some((r) => r.version === definition.version)) {
      reject(
        tool,
        `version ${definition.version} of ${definition.name} (${definition.platform}) already exists with other content; give the changed tool a new version`,
      );
    } else if (!latest && definition.status === 'DRAFT') {
      // A draft never becomes the latest, so a tool whose only version is a draft could not be read.
      reject(tool, `tool ${definition.name} (${definition.platform}) has no published version yet; its first version cannot be a draft`);
    } else {
      if (latest) replacing.push({ tool, latestId: latest.id });
      tool.action = latest ? 'new_version' : 'create';
      tool.write = {
        definition,
        contentHash: hash,
        parentId: latest?.id ?? null,
        previous: latest ? { id: latest.id, revision: latest.revision } : null,
        action: latest ? 'tool.new_version' : 'tool.create',
        event: latest ? 'TOOL_VERSIONED' : 'TOOL_CREATED',
        loadedFrom: options.loadedFrom ?? latest?.loadedFrom ?? null,
        // Per-field changes would mean loading every replaced version; the version and file say where to look.
        diff: { file: tool.file, before: latest ? { version: latest.version } : null, after: { version: definition.version } },
      };
    }
  }
  await checkBreakingChanges(prisma, replacing, breakingAcknowledged);
  return tools;
}

/**
 * A new version is compared with the latest by input and output name: breaking changes need a new
 * major version (or `breaking: true` when versions are not semver), and are recorded when allowed.
 */
async function checkBreakingChanges(prisma: PrismaClient, replacing: Array<{ tool: PlannedTool; latestId: string }>, acknowledged: Map<PlannedTool, boolean>) {
  for (let start = 0; start < replacing.length; start += WRITE_BATCH) {
    const batch = replacing.slice(start, start + WRITE_BATCH);
    const rows = await prisma.tool.findMany({ where: { id: { in: batch.map((b) => b.latestId) } }, include: TOOL_CONTENT_INCLUDE });
    const byId = new Map(rows.map((row) => [row.id, row]));
    for (const { tool, latestId } of batch) {
      const row = byId.get(latestId);
      if (!row || !tool.write) continue;
      const verdict = judgeCompatibility(definitionOf(row), tool.definition!, acknowledged.get(tool) ?? false);
      if (!verdict.allowed) {
        for (const change of verdict.changes) tool.diagnostics = [...tool.diagnostics, { severity: 'error', file: tool.file, field: change.path, message: change.message }];
        reject(tool, `${verdict.reason}: ${verdict.changes.map((c) => c.message).join('; ')}`);
      } else if (verdict.breaking) {
        const details = { breaking: true, breakingChanges: verdict.changes };
        tool.write = { ...tool.write, diff: { ...tool.write.diff, ...details }, details };
      }
    }
  }
}

/** Tools from the directory that no file read now defines: soft-deleted by a reload with `prune`. */
async function planPrune(prisma: PrismaClient, read: Awaited<ReturnType<typeof readInputs>>): Promise<PrunedTool[]> {
  const defined = new Set(read.planned.flatMap((p) => (p.definition ? [`${p.definition.name}\u0000${p.definition.platform}`] : [])));
  const candidates = await prisma.tool.findMany({
    where: { isLatest: true, deletedAt: null, loadedFrom: 'directory' },
    select: { id: true, name: true, platform: true, version: true, revision: true },
    orderBy: [{ platform: 'asc' }, { name: 'asc' }],
  });
  // A tool a running experiment uses stays (deleteTool refuses it too).
  const inExperiments = await prisma.experimentArm.findMany({ where: { experiment: { status: 'RUNNING' } }, select: { toolName: true, toolPlatform: true } });
  const kept = new Set([...defined, ...inExperiments.map((arm) => `${arm.toolName}\u0000${arm.toolPlatform}`)]);
  return candidates.filter((tool) => !kept.has(`${tool.name}\u0000${tool.platform}`));
}

/** Writes the planned creates and new versions (and prunes) in one transaction, through the shared write path. */
async function apply(prisma: PrismaClient, tools: PlannedTool[], pruned: PrunedTool[], options: ImportOptions): Promise<bigint | undefined> {
  const writes = tools.flatMap((t) => (t.write ? [t.write] : []));
  if (!writes.length && !pruned.length) return undefined;
  const origin = {
    actor: options.actor,
    trigger: options.trigger ?? 'import',
    reason: options.reason,
    clientIp: options.clientIp,
    userAgent: options.userAgent,
  };
  try {
    return await prisma.$transaction(
      async (tx) => {
        await options.beforeWrite?.(tx);
        // In batches, so a catalog of thousands of tools is never held as rows all at once.
        for (let start = 0; start < writes.length; start += WRITE_BATCH) {
          await publishVersions(tx, writes.slice(start, start + WRITE_BATCH), origin);
        }
        await pruneTools(tx, pruned, origin);
        return headRevision(tx);
      },
      { timeout: 300_000, maxWait: 30_000 },
    );
  } catch (error) {
    if (error instanceof ConflictError) {
      throw new ImportConflictError('the catalog changed while the import was planned; nothing was written, run it again');
    }
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
      throw new ImportConflictError('another writer published one of these tools at the same time; nothing was written, run it again');
    }
    throw error;
  }
}

function count(tools: PlannedTool[], skipped: number, files: number, removed: number): ImportCounts {
  const counts: ImportCounts = { files, removed, create: 0, new_version: 0, unchanged: 0, rejected: 0, skipped, warnings: 0 };
  for (const tool of tools) {
    counts[tool.action]++;
    counts.warnings += tool.diagnostics.filter((d) => d.severity === 'warning').length;
  }
  return counts;
}

/**
 * The one import path: CLI, GraphQL, start-up seeding and reloads all come through here.
 * Reads and validates everything first; writes all valid changes in one transaction, or nothing
 * when any file is rejected (unless `partial`), or nothing at all on a dry run.
 */
export async function importCatalog(prisma: PrismaClient, input: ImportInput, options: ImportOptions): Promise<ImportReport> {
  const read = await readInputs(input, options.onProgress, { strict: options.strict, platform: options.platform });
  const tools = await plan(prisma, read, options);
  // Pruning follows a directory that was read whole: never after a file was refused.
  const pruned = options.prune ? await planPrune(prisma, read) : [];
  // A profiles file holds many tools: files are counted as files.
  const counts = count(tools, read.skipped.length, read.planned.length - read.extraTools + read.problems.length, pruned.length);
  const mayWrite = !options.dryRun && (counts.rejected === 0 || (options.partial === true && !pruned.length));
  if (!mayWrite) {
    for (const tool of tools) tool.write = undefined;
    return { tools, skipped: read.skipped, counts, pruned, applied: false };
  }
  const revision = await apply(prisma, tools, pruned, options);
  const written = counts.create + counts.new_version;
  // Without statistics the planner joins every tool's capabilities before sorting a page (180 ms
  // instead of 20 ms for tools(first: 20) over 500 tools, measured on PGlite).
  if (written >= ANALYZE_AFTER) await prisma.$executeRawUnsafe('ANALYZE "Tool", "Capability", "Pattern"');
  return { tools, skipped: read.skipped, counts, pruned, applied: true, revision };
}
