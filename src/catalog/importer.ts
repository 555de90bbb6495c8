import type { PrismaClient } from '../generated/prisma/client.js';
import { Prisma } from '../generated/prisma/client.js';
import { headRevision } from '../events/eventLog.js';
import { publishVersions, type VersionWrite } from './catalogWrites.js';
import { contentHash } from './contentHash.js';
import type { ToolDefinition } from './definition.js';
import { FileReport, type Diagnostic } from './diagnostics.js';
import { ConflictError } from './errors.js';
import { normaliseDocument, type NormaliseContext, type ShapeName } from './shapes/index.js';
import { expandProfiles, isProfilesDocument } from './shapes/profiles.js';
import { collectSources, parseDocumentText, readSource } from './sources.js';
import { KNOWN_PLATFORMS } from './vocabulary.js';
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
  /** Platform for the tools of a legacy profiles file, which name none (default `custom`). */
  platform?: string;
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

async function readInputs(input: ImportInput, onProgress: ImportOptions['onProgress'], platform?: string) {
  const planned: Array<{ source: YamlSource; shape?: ShapeName; definition?: ToolDefinition }> = [];
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
        const normalised = normalise(source, batch[i]!, platform);
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
      const normalised = normalise(source, { directoryPlatform }, platform);
      extraTools += Math.max(0, normalised.length - 1);
      planned.push(...normalised);
    }
  }
  return { planned, problems, skipped, extraTools };
}

/**
 * One document to its definitions (one, or one per tool of a legacy profiles file); afterwards only
 * their diagnostics are kept, not the syntax tree.
 */
function normalise(source: YamlSource, context: NormaliseContext, platform?: string) {
  warnPlaceholders(source);
  if (isProfilesDocument(source.value)) {
    const tools = expandProfiles(source.value, platform).map((tool) => {
      const report = source.report.scoped(tool.path);
      for (const field of tool.filled) {
        report.warn([], `a profiles file gives no ${field}; using ${JSON.stringify(tool.document[field])}${field === 'platform' ? ' (set it with --platform)' : ''}`);
      }
      const normalised = normaliseDocument(tool.document, report, context);
      report.detach();
      return { source: { file: source.file, value: undefined, report }, ...normalised };
    });
    source.report.detach();
    return tools;
  }
  const normalised = source.value === undefined ? {} : normaliseDocument(source.value, source.report, context);
  source.report.detach();
  return [{ source: { ...source, value: undefined }, ...normalised }];
}

/** Literal `{{…}}` left in text is almost always an unfilled template placeholder. */
function warnPlaceholders(source: YamlSource) {
  const visit = (value: unknown, path: Array<string | number>) => {
    if (typeof value === 'string') {
      if (/\{\{[^}]*\}\}/.test(value)) source.report.warn(path, `literal {{…}} placeholder kept as written: ${JSON.stringify(value.slice(0, 60))}`);
    } else if (Array.isArray(value)) {
      value.forEach((item, index) => visit(item, [...path, index]));
    } else if (value && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) visit(child, [...path, key]);
    }
  };
  if (source.value !== undefined) visit(source.value, []);
}

function reject(tool: PlannedTool, reason: string) {
  tool.action = 'rejected';
  tool.reason = reason;
  tool.write = undefined;
  tool.diagnostics = [...tool.diagnostics, { severity: 'error', file: tool.file, message: reason }];
}

/** Decides, per tool, what the import would do against the database as it is now. */
async function plan(prisma: PrismaClient, read: Awaited<ReturnType<typeof readInputs>>): Promise<PlannedTool[]> {
  const tools: PlannedTool[] = [];
  for (const report of read.problems) {
    tools.push({ file: report.file, action: 'rejected', reason: report.diagnostics[0]?.message, diagnostics: report.diagnostics });
  }
  const valid: PlannedTool[] = [];
  for (const { source, shape, definition } of read.planned) {
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
    if (!definition || source.report.hasErrors) {
      tool.reason = source.report.diagnostics.find((d) => d.severity === 'error')?.message ?? 'invalid';
    } else {
      valid.push(tool);
    }
    tools.push(tool);
  }

  const names = [...new Set(valid.map((t) => t.name!))];
  const existing = names.length
    ? await prisma.tool.findMany({
        where: { name: { in: names } },
        select: { id: true, name: true, platform: true, version: true, isLatest: true, contentHash: true, revision: true, deletedAt: true },
      })
    : [];
  const byIdentity = new Map<string, typeof existing>();
  for (const row of existing) {
    const key = `${row.name}\u0000${row.platform}`;
    byIdentity.set(key, [...(byIdentity.get(key) ?? []), row]);
  }

  const firstFile = new Map<string, string>();
  for (const tool of valid) {
    const definition = tool.definition!;
    const key = `${definition.name}\u0000${definition.platform}`;
    const earlier = firstFile.get(key);
    if (earlier) {
      reject(tool, `tool ${definition.name} (${definition.platform}) is also defined in ${earlier}`);
      continue;
    }
    firstFile.set(key, tool.file);
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
      tool.action = latest ? 'new_version' : 'create';
      tool.write = {
        definition,
        contentHash: hash,
        parentId: latest?.id ?? null,
        previous: latest ? { id: latest.id, revision: latest.revision } : null,
        action: latest ? 'tool.new_version' : 'tool.create',
        event: latest ? 'TOOL_VERSIONED' : 'TOOL_CREATED',
        // Per-field changes would mean loading every replaced version; the version and file say where to look.
        diff: { file: tool.file, before: latest ? { version: latest.version } : null, after: { version: definition.version } },
      };
    }
  }
  return tools;
}

/** Writes the planned creates and new versions in one transaction, through the shared write path. */
async function apply(prisma: PrismaClient, tools: PlannedTool[], options: ImportOptions): Promise<bigint | undefined> {
  const writes = tools.flatMap((t) => (t.write ? [t.write] : []));
  if (!writes.length) return undefined;
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
        // In batches, so a catalog of thousands of tools is never held as rows all at once.
        for (let start = 0; start < writes.length; start += WRITE_BATCH) {
          await publishVersions(tx, writes.slice(start, start + WRITE_BATCH), origin);
        }
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

function count(tools: PlannedTool[], skipped: number, files: number): ImportCounts {
  const counts: ImportCounts = { files, create: 0, new_version: 0, unchanged: 0, rejected: 0, skipped, warnings: 0 };
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
  const read = await readInputs(input, options.onProgress, options.platform);
  const tools = await plan(prisma, read);
  // A profiles file holds many tools: files are counted as files.
  const counts = count(tools, read.skipped.length, read.planned.length - read.extraTools + read.problems.length);
  const mayWrite = !options.dryRun && (counts.rejected === 0 || options.partial === true);
  if (!mayWrite) {
    for (const tool of tools) tool.write = undefined;
    return { tools, skipped: read.skipped, counts, applied: false };
  }
  const revision = await apply(prisma, tools, options);
  const written = counts.create + counts.new_version;
  // Without statistics the planner joins every tool's capabilities before sorting a page (180 ms
  // instead of 20 ms for tools(first: 20) over 500 tools, measured on PGlite).
  if (written >= ANALYZE_AFTER) await prisma.$executeRawUnsafe('ANALYZE "Tool", "Capability", "Pattern"');
  return { tools, skipped: read.skipped, counts, applied: true, revision };
}
