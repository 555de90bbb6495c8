import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createApiKey } from '../src/auth/keys.js';
import { formatDiagnostic } from '../src/catalog/diagnostics.js';
import { exportCatalog } from '../src/catalog/exporter.js';
import { importCatalog } from '../src/catalog/importer.js';
import { nextVersion } from '../src/catalog/toolCommands.js';
import { definitionOf, TOOL_CONTENT_INCLUDE } from '../src/catalog/toolContent.js';
import { parseYamlText } from '../src/catalog/yamlSource.js';
import { checkDefinitionYaml } from '../src/catalog/validation.js';
import { applyMigrations } from '../src/db/migrations.js';
import { openTestDatabase, SAMPLE_CATALOG_DIR, startTestService, type TestService } from './support/service.js';

const catalogDir = mkdtempSync(path.join(os.tmpdir(), 'tc-fidelity-'));
cpSync(SAMPLE_CATALOG_DIR, catalogDir, { recursive: true });

let service: TestService;
let editor: Record<string, string>;
beforeAll(async () => {
  service = await startTestService({ catalogDir });
  editor = { authorization: `Bearer ${await createApiKey(service.db.prisma, 'fidelity-editor', 'editor')}` };
});
afterAll(async () => {
  await service.close();
  rmSync(catalogDir, { recursive: true, force: true });
});

const OUTCOME = `__typename ... on Tool { id name platform version revision status successorName successor { name platform version } }
  ... on Error { message } ... on ValidationError { fieldErrors { path message } }`;
const REF = '$name: String!, $platform: String!, $revision: Int!';
const REF_ARGS = 'name: $name, platform: $platform, revision: $revision';
const M = {
  create: `mutation ($input: ToolInput!) { result: createTool(input: $input) { ${OUTCOME} } }`,
  update: `mutation (${REF}, $changes: ToolPatchInput!, $version: String, $draft: Boolean, $breaking: Boolean) {
    result: updateTool(${REF_ARGS}, changes: $changes, version: $version, draft: $draft, breaking: $breaking) { ${OUTCOME} } }`,
  deprecate: `mutation (${REF}, $successor: String) { result: deprecateTool(${REF_ARGS}, successor: $successor) { ${OUTCOME} } }`,
  publish: `mutation (${REF}, $version: String!) { result: publishToolVersion(${REF_ARGS}, version: $version) { ${OUTCOME} } }`,
  rollback: `mutation (${REF}, $to: String!) { result: rollbackTool(${REF_ARGS}, to: $to) { ${OUTCOME} } }`,
};
const change = async (mutation: string, variables: Record<string, unknown>) => {
  const response = await service.graphql(mutation, variables, editor);
  expect(response.errors).toBeUndefined();
  return response.data.result;
};

/** A tool with every field of the model set to something other than its default. */
const everyField = (name: string) => ({
  name,
  platform: 'linux',
  version: '1.0.0',
  category: 'network',
  description: 'Every field set',
  enabled: true,
  executionLocation: 'remote-agent',
  tags: ['probe', 'yes'],
  defaults: { accuracy: 'high', on: 'off' },
  dependencies: [{ name: 'iputils', kind: 'package' }],
  metadata: { owner: 'fidelity', '0o17': 'no' },
  examples: [{ request: 'ping host', expected: '1.5' }],
  capabilities: [
    {
      name: 'probing',
      description: 'Probes hosts',
      metadata: { since: '2001-12-14' },
      patterns: [
        {
          name: 'probe_once',
          description: 'Once',
          typicalUseCases: ['is it up', 'y'],
          timeEstimateMs: '100 + 2 * count',
          costEstimate: 'ceil(N / 10)',
          complexityScore: 0.3,
          scope: 'single_item',
          completeness: 'complete',
          limitations: ['ICMP only', '~'],
          policy: { requires_approval: false, production_safe: true, max_cost: 5, max_execution_time: 60 },
          preferenceMatch: { speed: 0.9, accuracy: 0.8 },
          requiredInputs: [{ name: 'host', type: 'string' }],
          optionalInputs: [{ name: 'count', type: 'integer', default: 4 }],
          expectedOutputs: [{ name: 'rtt_ms', type: 'number' }],
          examples: [{ host: 'example.org', count: '1_000' }],
          metadata: { note: '.inf' },
        },
      ],
    },
  ],
});

describe('nothing lost', () => {
  it('keeps every field and the successor through create → new version → export → import → export', async () => {
    await change(M.create, { input: everyField('fidelity-target') });
    // Disabled as well: `enabled: false` is the one tool field whose default everyField keeps.
    const created = await change(M.create, { input: { ...everyField('fidelity-probe'), enabled: false } });
    const deprecated = await change(M.deprecate, { name: 'fidelity-probe', platform: 'linux', revision: created.revision, successor: 'fidelity-target' });
    expect(deprecated).toMatchObject({ status: 'DEPRECATED', successorName: 'fidelity-target', successor: { name: 'fidelity-target', version: '1.0.0' } });
    const next = await change(M.update, { name: 'fidelity-probe', platform: 'linux', revision: deprecated.revision, changes: { description: 'A new version' } });
    expect(next).toMatchObject({ version: '1.0.1', successorName: 'fidelity-target', successor: { name: 'fidelity-target' } });

    const stored = await service.db.prisma.tool.findFirstOrThrow({ where: { name: 'fidelity-probe', isLatest: true }, include: TOOL_CONTENT_INCLUDE });
    const first = await exportCatalog(service.db.prisma);
    const file = first.find((f) => f.path === 'linux/fidelity-probe.yaml')!;
    expect(parse(file.content)).toMatchObject({ successor: 'fidelity-target', status: 'deprecated', enabled: false });

    const other = await openTestDatabase();
    try {
      await applyMigrations(other.db.migrationAdapter());
      const documents = first.map((f) => ({ name: f.path, content: f.content }));
      const report = await importCatalog(other.db.prisma, { documents }, { actor: 'test' });
      expect(report.counts.rejected).toBe(0);
      const copied = await other.db.prisma.tool.findFirstOrThrow({ where: { name: 'fidelity-probe', isLatest: true }, include: TOOL_CONTENT_INCLUDE });
      // Field by field, every field of the model (definitionOf reads each column back).
      expect(definitionOf(copied)).toEqual(definitionOf(stored));
      const again = await exportCatalog(other.db.prisma);
      expect(again.find((f) => f.path === file.path)!.content).toBe(file.content);
      // A later file that names no successor keeps the one the tool has.
      const withoutSuccessor = file.content.replace(/^successor: .*\n/m, '').replace('version: 1.0.1', 'version: 1.0.2').replace('A new version', 'Newer');
      expect(withoutSuccessor).not.toContain('successor:');
      await importCatalog(other.db.prisma, { documents: [{ name: file.path, content: withoutSuccessor }] }, { actor: 'test' });
      const kept = await other.db.prisma.tool.findFirstOrThrow({ where: { name: 'fidelity-probe', isLatest: true } });
      expect(kept).toMatchObject({ version: '1.0.2', successor: 'fidelity-target' });
    } finally {
      await other.drop();
    }
  });
});

describe('values read as written', () => {
  const legacy = (lines: string[]) => ['tool_name: as-written', 'platform: linux', 'category: testing', 'description: d', ...lines, ''].join('\n');
  const check = (text: string) => checkDefinitionYaml('linux/as-written.yaml', text);
  const messages = (text: string) => check(text).diagnostics.map((d) => `${d.severity} ${d.field}: ${d.message}`);

  it.each([
    ['1.0', '1.0'],
    ['1.10', '1.10'],
    ['2', '2'],
    ['"1.0"', '1.0'],
  ])('keeps version: %s as %j, not as the number YAML reads', async (written, version) => {
    expect(check(legacy([`version: ${written}`])).definition?.version).toBe(version);
    const report = await importCatalog(service.db.prisma, { documents: [{ name: 'linux/as-written.yaml', content: legacy([`version: ${written}`]) }] }, { actor: 'test', dryRun: true });
    expect(report.tools[0]).toMatchObject({ action: 'create', version });
  });

  it('says a key of another shape is not read in this one, instead of suggesting the key itself', () => {
    expect(messages(legacy(['version: "1"', 'name: other-name']))).toEqual(['warning name: key "name" is not read in a file of this shape; kept in metadata']);
    expect(messages(legacy(['version: "1"', 'nmae: other-name']))).toEqual(['warning nmae: unknown key "nmae" (did you mean `name`?); kept in metadata']);
  });

  it('reads tags wherever a shape keeps them, and says so when a value cannot be one', () => {
    // A top-level list in a tool_name file is tags, not an unknown key.
    expect(check(legacy(['version: "1"', 'tags: [probe, 5]']))).toMatchObject({ definition: { tags: ['probe', '5'] }, diagnostics: [] });
    // Legacy metadata.tags: what is not text stays in metadata, with a warning.
    expect(check(legacy(['version: "1"', 'metadata: {tags: [probe, {a: 1}]}'])).definition?.tags).toEqual(['probe']);
    expect(messages(legacy(['version: "1"', 'metadata: {tags: [probe, {a: 1}]}']))).toEqual(['warning metadata.tags.1: expected text, found a map; not used as a tag (kept in metadata)']);
    expect(messages(legacy(['version: "1"', 'metadata: {tags: probe}']))).toEqual(['warning metadata.tags: expected a list of text, found string "probe"; not used as tags (kept in metadata)']);
    // The Windows wrapper's tags were dropped when not a list: now an error, as in every shape.
    const wrapper = (tags: string) => ['tool:', '  name: wrapped', '  version: "1"', '  platform: windows', '  category: system', `  tags: ${tags}`, ''].join('\n');
    expect(check(wrapper('[a, b]')).definition?.tags).toEqual(['a', 'b']);
    expect(messages(wrapper('a'))).toEqual(['error tool.tags: expected a list of text, found string "a"']);
  });
});

describe('breaking changes', () => {
  const withInputs = (patch: Record<string, unknown>) => ({
    capabilities: [{ name: 'probing', description: 'Probes hosts', patterns: [{ ...everyField('x').capabilities[0]!.patterns[0]!, ...patch }] }],
  });

  it('refuses a renamed, retyped required input and a removed output as a patch, lists each, and accepts it as a new major', async () => {
    const created = await change(M.create, { input: everyField('breaking-probe') });
    const breaking = withInputs({ requiredInputs: [{ name: 'target', type: 'integer' }], optionalInputs: [{ name: 'count', type: 'string' }], expectedOutputs: [] });
    const ref = { name: 'breaking-probe', platform: 'linux', revision: created.revision };
    const before = await service.db.prisma.tool.count();
    const refused = await change(M.update, { ...ref, changes: breaking });
    expect(refused.__typename).toBe('ValidationError');
    expect(refused.message).toMatch(/new major version \(2\.0 or later\)/);
    const at = 'capabilities.probing.patterns.probe_once';
    expect(refused.fieldErrors.map((e: { path: string }) => e.path).sort()).toEqual(
      [`${at}.expectedOutputs.rtt_ms`, `${at}.optionalInputs.count`, `${at}.requiredInputs.host`, `${at}.requiredInputs.target`].sort(),
    );
    expect(await service.db.prisma.tool.count()).toBe(before);
    // An explicit acknowledgement does not replace a major version when versions are semver.
    expect((await change(M.update, { ...ref, changes: breaking, breaking: true })).__typename).toBe('ValidationError');

    const major = await change(M.update, { ...ref, changes: breaking, version: '2.0.0' });
    expect(major).toMatchObject({ __typename: 'Tool', version: '2.0.0' });
    const audit = await service.db.prisma.auditLog.findFirstOrThrow({ where: { entityName: 'breaking-probe@linux', action: 'tool.update' }, orderBy: { createdAt: 'desc' } });
    expect(audit.diff).toMatchObject({ breaking: true, breakingChanges: expect.arrayContaining([expect.objectContaining({ kind: 'INPUT_REMOVED' })]) });
    const event = await service.db.prisma.catalogEvent.findFirstOrThrow({ where: { toolName: 'breaking-probe', type: 'TOOL_VERSIONED' }, orderBy: { revision: 'desc' } });
    expect(event.payload).toMatchObject({ breaking: true, breakingChanges: expect.arrayContaining([expect.objectContaining({ kind: 'OUTPUT_REMOVED' })]) });

    const verdict = await service.graphql(`{ compatibility(name: "breaking-probe", platform: "linux", from: "1.0.0", to: "2.0.0") { breaking allowed changes { kind path } } }`);
    expect(verdict.data.compatibility).toMatchObject({ breaking: true, allowed: true });
    expect(verdict.data.compatibility.changes.map((c: { kind: string }) => c.kind).sort()).toEqual(['INPUT_REMOVED', 'INPUT_REQUIRED_ADDED', 'INPUT_TYPE_CHANGED', 'OUTPUT_REMOVED']);
    const diff = await service.graphql(`{ tool(name: "breaking-probe") { diff(from: "1.0.0") { path kind } } }`);
    expect(diff.data.tool.diff).toEqual(expect.arrayContaining([{ path: `${at}.requiredInputs.host`, kind: 'REMOVED' }, { path: `${at}.requiredInputs.target`, kind: 'ADDED' }]));
  });

  it('needs breaking: true when versions are not semver', async () => {
    const created = await change(M.create, { input: { ...everyField('breaking-dated'), version: 'r20240101' } });
    const ref = { name: 'breaking-dated', platform: 'linux', revision: created.revision };
    const changes = withInputs({ expectedOutputs: [{ name: 'rtt_ms', type: 'string' }] });
    const refused = await change(M.update, { ...ref, changes, version: 'r20240202' });
    expect(refused).toMatchObject({ __typename: 'ValidationError', message: expect.stringMatching(/need `breaking: true`/) });
    expect(await change(M.update, { ...ref, changes, version: 'r20240202', breaking: true })).toMatchObject({ __typename: 'Tool', version: 'r20240202' });
  });

  it('refuses a breaking new version in an import unless its major changes', async () => {
    const exported = (await exportCatalog(service.db.prisma)).find((f) => f.path === 'linux/fidelity-target.yaml')!;
    const removedOutput = exported.content.replace(/expected_outputs:\n(\s+- name: rtt_ms\n\s+type: number\n)/, 'expected_outputs: []\n');
    expect(removedOutput).not.toBe(exported.content);
    const patch = await importCatalog(service.db.prisma, { documents: [{ name: exported.path, content: removedOutput.replace('version: 1.0.0', 'version: 1.0.1') }] }, { actor: 'test', dryRun: true });
    expect(patch.tools[0]).toMatchObject({ action: 'rejected', reason: expect.stringMatching(/output "rtt_ms" was removed/) });
    const major = await importCatalog(service.db.prisma, { documents: [{ name: exported.path, content: removedOutput.replace('version: 1.0.0', 'version: 2.0.0') }] }, { actor: 'test', dryRun: true });
    expect(major.tools[0]).toMatchObject({ action: 'new_version' });

    // Versions that are not semver: the file acknowledges the break with `breaking: true`.
    const dated = (await exportCatalog(service.db.prisma)).find((f) => f.path === 'linux/breaking-dated.yaml')!;
    const datedWithout = dated.content.replace(/expected_outputs:\n(\s+- name: rtt_ms\n\s+type: \S+\n)/, 'expected_outputs: []\n').replace(/^version: .*$/m, 'version: r20240303');
    expect(datedWithout).toContain('expected_outputs: []');
    const unacknowledged = await importCatalog(service.db.prisma, { documents: [{ name: dated.path, content: datedWithout }] }, { actor: 'test', dryRun: true });
    expect(unacknowledged.tools[0]).toMatchObject({ action: 'rejected', reason: expect.stringMatching(/output "rtt_ms" was removed/) });
    const acknowledged = await importCatalog(service.db.prisma, { documents: [{ name: dated.path, content: `${datedWithout}breaking: true\n` }] }, { actor: 'test', dryRun: true });
    expect(acknowledged.tools[0]).toMatchObject({ action: 'new_version', version: 'r20240303' });
  });
});

describe('versions after a prerelease', () => {
  it.each([
    ['1.0', false, '1.1'],
    ['1.2.3', false, '1.2.4'],
    ['2.0-rc', false, '2.0'],
    ['2.0.9-rc.1', false, '2.0.9'],
    ['2.0-rc', true, '2.0-rc.1'],
    ['2.0-rc.1', true, '2.0-rc.2'],
    ['1.0.0+build.5', false, '1.0.1'],
  ])('after %s (draft: %s) comes %s', (current, draft, expected) => {
    expect(nextVersion(current, new Set([current]), { prerelease: draft })).toBe(expected);
  });

  it('rolls back right after publishing draft 2.0-rc as version 2.0', async () => {
    const created = await change(M.create, { input: { ...everyField('rc-probe'), version: '1.0' } });
    const draft = await change(M.update, { name: 'rc-probe', platform: 'linux', revision: created.revision, changes: { description: 'rc' }, version: '2.0-rc', draft: true });
    const published = await change(M.publish, { name: 'rc-probe', platform: 'linux', revision: draft.revision, version: '2.0-rc' });
    expect(published.version).toBe('2.0-rc');
    const rolledBack = await change(M.rollback, { name: 'rc-probe', platform: 'linux', revision: published.revision, to: '1.0' });
    expect(rolledBack).toMatchObject({ __typename: 'Tool', version: '2.0' });
  });
});

describe('diagnostics at the right place', () => {
  it('points an unclosed quote at the line and column where it opens, with the line and a caret', () => {
    const text = ['tool_name: quoted', 'version: "1.0"', 'platform: linux', 'description: "never closed', 'category: testing', ...Array.from({ length: 15 }, (_, i) => `# filler ${i}`)].join('\n');
    const source = parseYamlText('linux/quoted.yaml', text);
    expect(source.report.diagnostics[0]).toMatchObject({ severity: 'error', line: 4, column: 14, excerpt: 'description: "never closed' });
    expect(formatDiagnostic(source.report.diagnostics[0]!)).toBe(
      'linux/quoted.yaml:4:14: error: Missing closing quote (the quoted text starts here)\n    description: "never closed\n                 ^',
    );
  });
});

describe('the directory as source of truth, when asked', () => {
  const RELOAD = `mutation ($dryRun: Boolean, $prune: Boolean, $reason: String) {
    reloadCatalog(dryRun: $dryRun, prune: $prune, reason: $reason) {
      reload { id reason removed error } plan { applied counts { removed } pruned { name platform } }
    }
  }`;
  const reload = async (variables: Record<string, unknown>) => {
    const response = await service.graphql(RELOAD, variables, editor);
    expect(response.errors).toBeUndefined();
    return response.data.reloadCatalog;
  };
  const events = () => service.db.prisma.catalogEvent.count();

  const audits = () => service.db.prisma.auditLog.findMany({ orderBy: { id: 'asc' } });

  it('records a reload that changes nothing as one history row and one audit entry, both with its reason, and no events', async () => {
    const before = { events: await events(), reloads: await service.db.prisma.catalogReload.count(), audit: (await audits()).length };
    const result = await reload({ reason: 'nothing new expected' });
    expect(result.reload).toMatchObject({ reason: 'nothing new expected', error: null, removed: 0 });
    expect(await events()).toBe(before.events);
    expect(await service.db.prisma.catalogReload.count()).toBe(before.reloads + 1);
    const history = await service.db.prisma.catalogReload.findUniqueOrThrow({ where: { id: result.reload.id } });
    expect(history.reason).toBe('nothing new expected');
    const added = (await audits()).slice(before.audit);
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({ action: 'catalog.reload', entityType: 'CatalogReload', entityId: result.reload.id, reason: 'nothing new expected', actor: 'fidelity-editor' });
    expect(added[0]!.diff).toMatchObject({ trigger: 'graphql', after: { created: 0, newVersions: 0, removed: 0, rejected: 0, error: null } });
    // Through the API as well.
    const listed = await service.graphql(`{ auditLog(first: 1, filter: { action: "catalog.reload" }) { edges { node { action entityId reason } } } }`, {}, editor);
    expect(listed.data.auditLog.edges[0].node).toEqual({ action: 'catalog.reload', entityId: result.reload.id, reason: 'nothing new expected' });
  });

  it('keeps a dry run out of the audit log', async () => {
    const before = { events: await events(), audit: (await audits()).length };
    const result = await reload({ dryRun: true, reason: 'only looking' });
    expect(result.reload.reason).toBe('only looking');
    expect((await audits()).length).toBe(before.audit);
    expect(await events()).toBe(before.events);
  });

  it('prunes tools whose file is gone only when asked, lists them on a dry run, and never prunes API tools', async () => {
    rmSync(path.join(catalogDir, 'linux', 'grep.yaml'));
    const without = await reload({ reason: 'no prune' });
    expect(without.plan.pruned).toEqual([]);
    expect(await service.db.prisma.tool.count({ where: { name: 'grep', platform: 'linux', deletedAt: null } })).toBeGreaterThan(0);

    const planned = await reload({ dryRun: true, prune: true, reason: 'plan the prune' });
    expect(planned.plan.pruned).toEqual([{ name: 'grep', platform: 'linux' }]);
    expect(await service.db.prisma.tool.count({ where: { name: 'grep', platform: 'linux', deletedAt: null } })).toBeGreaterThan(0);

    const pruned = await reload({ prune: true, reason: 'grep left the directory' });
    expect(pruned.reload).toMatchObject({ removed: 1, error: null, reason: 'grep left the directory' });
    expect(await service.db.prisma.tool.count({ where: { name: 'grep', platform: 'linux', deletedAt: null } })).toBe(0);
    expect(await service.db.prisma.tool.count({ where: { name: 'fidelity-target', deletedAt: null } })).toBeGreaterThan(0);
    const audit = await service.db.prisma.auditLog.findFirstOrThrow({ where: { action: 'tool.prune', entityName: 'grep@linux' } });
    expect(audit.reason).toBe('grep left the directory');
    // The reload itself has its entry too, after the changes it made.
    const reloadEntry = await service.db.prisma.auditLog.findFirstOrThrow({ where: { action: 'catalog.reload', entityId: pruned.reload.id } });
    expect(reloadEntry).toMatchObject({ reason: 'grep left the directory' });
    expect(reloadEntry.diff).toMatchObject({ after: { removed: 1, error: null } });
    const types = (await service.db.prisma.catalogEvent.findMany({ orderBy: { revision: 'desc' }, take: 3 })).map((e) => e.type).reverse();
    expect(types).toEqual(['RELOAD_STARTED', 'TOOL_DELETED', 'RELOAD_FINISHED']);
  });
});
