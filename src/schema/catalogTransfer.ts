import { PothosValidationError } from '@pothos/core';
import type { Diagnostic } from '../catalog/diagnostics.js';
import { exportCatalog, type ExportedFile } from '../catalog/exporter.js';
import { importCatalog, type ImportCounts, type ImportReport, type PlannedTool } from '../catalog/importer.js';
import { ConflictError } from '../catalog/errors.js';
import { changeOrigin } from '../context.js';
import type { PrunedTool } from '../catalog/catalogWrites.js';
import { builder } from './builder.js';
import './errors.js';

/** More documents than this in one request is a bulk load: use the CLI. */
const MAX_DOCUMENTS = 10_000;

const ExportedFileRef = builder.objectRef<ExportedFile>('ExportedFile').implement({
  description: 'One tool as canonical YAML, as `tool-catalog export` writes it.',
  fields: (t) => ({
    path: t.exposeString('path', { description: 'Relative path: `<platform>/<name>.yaml`.' }),
    content: t.exposeString('content', { description: 'The YAML text.' }),
  }),
});

const DiagnosticRef = builder.objectRef<Diagnostic>('ImportDiagnostic').implement({
  description: 'A problem found in a source document, with where it is.',
  fields: (t) => ({
    severity: t.exposeString('severity', { description: '`error` (the tool is rejected) or `warning` (kept, but look).' }),
    file: t.exposeString('file', { description: 'Document name or file path.' }),
    line: t.exposeInt('line', { nullable: true, description: 'Line in the document, from 1.' }),
    column: t.exposeInt('column', { nullable: true, description: 'Column in the line, from 1.' }),
    field: t.exposeString('field', { nullable: true, description: 'Dotted path of the field in the document.' }),
    message: t.exposeString('message', { description: 'What was expected and what was found.' }),
    excerpt: t.exposeString('excerpt', {
      nullable: true,
      description: 'For a syntax error: the source line where the problem starts (`column` marks the place).',
    }),
  }),
});

const ImportActionEnum = builder.enumType('ImportAction', {
  description: 'What an import does, or would do, with one tool.',
  values: {
    CREATE: { value: 'create', description: 'A new tool.' },
    NEW_VERSION: { value: 'new_version', description: 'A new version of an existing tool.' },
    UNCHANGED: { value: 'unchanged', description: 'Already in the catalog as written.' },
    REJECTED: { value: 'rejected', description: 'Not imported; see the diagnostics.' },
  } as const,
});

const PlannedToolRef = builder.objectRef<PlannedTool>('ImportedTool').implement({
  description: 'One document of an import and its outcome.',
  fields: (t) => ({
    file: t.exposeString('file', { description: 'Document name or file path.' }),
    name: t.exposeString('name', { nullable: true, description: 'Tool name, when the document could be read.' }),
    platform: t.exposeString('platform', { nullable: true, description: 'Platform, when the document could be read.' }),
    version: t.exposeString('version', { nullable: true, description: 'Version, when the document could be read.' }),
    action: t.field({ type: ImportActionEnum, resolve: (tool) => tool.action, description: 'The outcome.' }),
    reason: t.exposeString('reason', { nullable: true, description: 'Why it was rejected, in one line.' }),
    diagnostics: t.field({ type: [DiagnosticRef], resolve: (tool) => tool.diagnostics, description: 'Errors and warnings.' }),
  }),
});

const ImportCountsRef = builder.objectRef<ImportCounts>('ImportCounts').implement({
  description: 'How many documents had each outcome.',
  fields: (t) => ({
    files: t.exposeInt('files', { description: 'Documents read.' }),
    created: t.int({ resolve: (c) => c.create, description: 'New tools.' }),
    newVersions: t.int({ resolve: (c) => c.new_version, description: 'New versions of existing tools.' }),
    unchanged: t.exposeInt('unchanged', { description: 'Already in the catalog.' }),
    rejected: t.exposeInt('rejected', { description: 'Not imported.' }),
    skipped: t.exposeInt('skipped', { description: 'Not tools (templates).' }),
    warnings: t.exposeInt('warnings', { description: 'Warnings over all documents.' }),
    removed: t.exposeInt('removed', { description: 'Tools soft-deleted because their file is gone (reloads with `prune`; planned only on a dry run).' }),
  }),
});

const PrunedToolRef = builder.objectRef<PrunedTool>('PrunedTool').implement({
  description: 'A tool from the catalog directory whose file is gone: soft-deleted by a reload with `prune` (listed only, on a dry run).',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Tool name.' }),
    platform: t.exposeString('platform', { description: 'Platform.' }),
    version: t.exposeString('version', { description: 'Its latest version.' }),
  }),
});

export const ImportResultRef = builder.objectRef<ImportReport>('ImportResult').implement({
  description: 'The plan of an import and whether it was written.',
  fields: (t) => ({
    applied: t.exposeBoolean('applied', {
      description: 'True when the changes were written: not a dry run, and nothing rejected (or `partial`).',
    }),
    revision: t.int({
      nullable: true,
      resolve: (r) => (r.revision === undefined ? null : Number(r.revision)),
      description: 'Catalog revision after the import, when it wrote anything (the revision of its last event, as in `catalogEvents`).',
    }),
    counts: t.field({ type: ImportCountsRef, resolve: (r) => r.counts, description: 'Outcomes counted.' }),
    tools: t.field({ type: [PlannedToolRef], resolve: (r) => r.tools, description: 'Every document and its outcome.' }),
    pruned: t.field({ type: [PrunedToolRef], resolve: (r) => r.pruned, description: 'Tools whose file is gone (reloads with `prune`).' }),
  }),
});

const CatalogDocument = builder.inputType('CatalogDocumentInput', {
  description: 'One tool file: its name (shown in diagnostics; `<platform>/<file>.yaml` lends its platform) and YAML text.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'File name, e.g. `linux/grep.yaml`.' }),
    content: t.string({ required: true, description: 'YAML text in any supported shape.' }),
  }),
});

builder.queryField('exportCatalog', (t) =>
  t.field({
    type: [ExportedFileRef],
    description: 'The latest version of every tool that is not deleted, as canonical YAML files.',
    resolve: (_root, _args, ctx) => exportCatalog(ctx.prisma),
  }),
);

builder.mutationField('importCatalog', (t) =>
  t.field({
    type: ImportResultRef,
    // A concurrent writer is an expected outcome; rejected documents are reported in the result itself.
    errors: { types: [ConflictError], directResult: true },
    description:
      'Imports tool documents through the same importer as the CLI. All or nothing unless `partial`; ' +
      '`dryRun` returns the plan and writes nothing. Needs an editor key.',
    args: {
      documents: t.arg({ type: [CatalogDocument], required: true, description: 'The tool files.' }),
      dryRun: t.arg.boolean({ defaultValue: false, description: 'Plan only.' }),
      partial: t.arg.boolean({ defaultValue: false, description: 'Write the valid tools even if others are rejected.' }),
      strict: t.arg.boolean({ description: 'Unknown keys are errors, not warnings; by default STRICT_IMPORT.' }),
      reason: t.arg.string({ description: 'Why, for the audit log.' }),
      platform: t.arg.string({ description: 'Platform for the tools of a legacy optimization-profiles document, which name none (default `custom`).' }),
    },
    resolve: async (_root, args, ctx) => {
      if (args.documents.length > MAX_DOCUMENTS) {
        throw new PothosValidationError(`Argument "documents" holds ${args.documents.length} documents; the limit is ${MAX_DOCUMENTS}`);
      }
      return importCatalog(
        ctx.prisma,
        { documents: args.documents },
        { ...changeOrigin(ctx, args.reason), dryRun: args.dryRun ?? false, partial: args.partial ?? false, platform: args.platform ?? undefined, strict: args.strict ?? ctx.strictImport },
      );
    },
  }),
);
