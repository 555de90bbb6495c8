// tool-catalog new and validate, as operators use them: the wizard in a real pseudo-terminal
// (a full run and a cancelled one), every template without a terminal, and each file written then
// imported by the real importer into a real database (PGlite, or PostgreSQL with DATABASE_URL).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { importCatalog } from '../src/catalog/importer.js';
import type { Database } from '../src/db/database.js';
import { applyMigrations } from '../src/db/migrations.js';
import { previewEstimate } from '../src/generator/render.js';
import { TEMPLATE_NAMES, TEMPLATES } from '../src/generator/templates.js';
import { startServerProcess } from './support/process.js';
import { openTestDatabase, processDatabase, startTestService } from './support/service.js';
import { KEY, startInTerminal, type Terminal } from './support/terminal.js';
import { runCommand, type CommandResult } from './support/commands.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const TSX = path.join(root, 'node_modules', '.bin', 'tsx');
const CLI = [TSX, 'src/cli/index.ts'];

const SELECT = `query ($request: SelectToolsInput!) { selectTools(request: $request) {
  candidates { tool { name } pattern } excluded { tool { name } pattern reason detail }
} }`;

let workDir: string;
const terminals: Terminal[] = [];
function terminalFor(args: string[]): Terminal {
  const terminal = startInTerminal([...CLI, ...args], { cwd: root, env: { PATH: process.env.PATH, HOME: process.env.HOME } });
  terminals.push(terminal);
  return terminal;
}
let db: Database;
let drop: () => Promise<void>;

function cli(args: string[], env: Record<string, string> = {}): Promise<CommandResult> {
  return runCommand([...CLI, ...args], { HOME: process.env.HOME, ...env }, 60_000);
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'tool-catalog-generator-'));
  ({ db, drop } = await openTestDatabase());
  await applyMigrations(db.migrationAdapter());
});
afterEach(async () => {
  await Promise.all(terminals.splice(0).map((terminal) => terminal.kill()));
});
afterAll(async () => {
  await drop?.();
  rmSync(workDir, { recursive: true, force: true });
});

/** Waits for a prompt, then answers it (Enter alone keeps what the template proposed). */
async function answer(terminal: Terminal, prompt: string | RegExp, keys = '') {
  await terminal.expect(prompt);
  terminal.type(keys + KEY.enter);
}

describe('tool-catalog new in a terminal', () => {
  it('walks the seven steps, works out estimates on the spot, shows the file and writes what the importer accepts', async () => {
    const out = path.join(workDir, 'wizard');
    const terminal = terminalFor(['new', '--template', 'simple-command', '--out', out]);
    // 1/7 basic information
    await terminal.expect('1/7 Basic information');
    await answer(terminal, 'Tool name', 'wizard-probe');
    await answer(terminal, 'Platform', KEY.down); // linux -> windows
    await answer(terminal, 'Category');
    await answer(terminal, 'Description');
    await answer(terminal, 'Version', `${KEY.backspace.repeat(3)}2.0`);
    // 2/7 defaults
    await terminal.expect('2/7 Defaults');
    await answer(terminal, 'Where it runs');
    await answer(terminal, 'Default accuracy_level');
    await answer(terminal, 'Default freshness');
    await answer(terminal, 'Default data_source');
    await answer(terminal, 'More defaults', 'retries=3');
    // 3/7 dependencies
    await terminal.expect('3/7 Dependencies');
    await answer(terminal, 'What it needs', 'powershell');
    // 4/7 capabilities and patterns
    await terminal.expect('4/7 Capabilities and patterns');
    await answer(terminal, 'Capability name');
    await answer(terminal, 'Capability description');
    await answer(terminal, 'Pattern name');
    await answer(terminal, 'Pattern description');
    await answer(terminal, 'Typical use cases');
    await answer(terminal, 'Required inputs');
    await answer(terminal, 'Optional inputs', ', hosts:integer=20');
    // An estimate that is not arithmetic is refused on the spot and asked again.
    await answer(terminal, 'Time estimate in ms', `${KEY.backspace.repeat(20)}eval(N)`);
    await terminal.expect(/not an estimate: unknown function/);
    await answer(terminal, 'Time estimate in ms', `${KEY.backspace.repeat(20)}250 + 2 * hosts`);
    // Worked out with the input's declared default (hosts = 20): 250 + 40.
    await terminal.expect('250 + 2 * hosts = 290 with hosts=20');
    await answer(terminal, 'Cost estimate', `${KEY.backspace.repeat(20)}ceil(N / 30)`);
    await terminal.expect('ceil(N / 30) = 4 with N=100');
    await answer(terminal, 'Complexity score');
    await answer(terminal, 'Scope');
    await answer(terminal, 'Completeness');
    await answer(terminal, 'Limitations');
    await answer(terminal, 'Requires a human approval');
    await answer(terminal, 'Safe to run in production');
    await answer(terminal, 'Most it may cost', '9');
    await terminal.expect('Preference scores');
    await answer(terminal, 'speed: how well it suits a caller who wants the answer fast');
    await answer(terminal, 'accuracy:');
    await answer(terminal, 'cost:');
    await answer(terminal, 'complexity:');
    await answer(terminal, 'completeness:');
    await answer(terminal, 'Outputs');
    await answer(terminal, 'Another pattern');
    await answer(terminal, 'Another capability');
    // 5/7 metadata
    await terminal.expect('5/7 Metadata');
    await answer(terminal, 'Author', 'ops team');
    await answer(terminal, 'Tags');
    await answer(terminal, 'Documentation URL');
    // 6/7 review: the file as it will be written, and the importer's verdict
    await terminal.expect('6/7 Review');
    await terminal.expect('tool_name: wizard-probe');
    await terminal.expect('The importer accepts it');
    await answer(terminal, 'Save it?');
    await terminal.expect('Wrote');
    expect(await terminal.exit()).toBe(0);

    expect(filesUnder(out)).toEqual(['windows/wizard-probe.yaml']);
    const file = path.join(out, 'windows', 'wizard-probe.yaml');
    const written = parse(readFileSync(file, 'utf8'));
    expect(written).toMatchObject({
      tool_name: 'wizard-probe',
      platform: 'windows',
      version: '2.0',
      defaults: { retries: '3' },
      dependencies: ['powershell'],
      metadata: { author: 'ops team' },
    });
    const pattern = written.capabilities.command_output.patterns.run_once;
    expect(pattern).toMatchObject({ time_estimate_ms: '250 + 2 * hosts', cost_estimate: 'ceil(N / 30)', policy: { max_cost: 9 } });
    expect(pattern.optional_inputs).toContainEqual({ name: 'hosts', type: 'integer', default: 20 });

    const report = await importCatalog(db.prisma, { paths: [file] }, { actor: 'test' });
    expect(report.counts).toMatchObject({ create: 1, rejected: 0, warnings: 0 });
    const stored = await db.prisma.tool.findFirstOrThrow({ where: { name: 'wizard-probe', platform: 'windows' }, include: { capabilities: { include: { patterns: true } } } });
    expect(stored.version).toBe('2.0');
    expect(stored.capabilities[0]!.patterns[0]!.timeEstimateMs).toBe('250 + 2 * hosts');
  });

  it('stops when cancelled at any step and writes nothing', async () => {
    const out = path.join(workDir, 'cancelled');
    const terminal = terminalFor(['new', '--template', 'api-tool', '--out', out]);
    await answer(terminal, 'Tool name', 'never-written');
    await answer(terminal, 'Platform');
    await answer(terminal, 'Category');
    await answer(terminal, 'Description');
    await answer(terminal, 'Version');
    await terminal.expect('2/7 Defaults');
    await terminal.expect('Where it runs');
    terminal.type(KEY.ctrlC);
    await terminal.expect('Cancelled: nothing was written.');
    expect(await terminal.exit()).toBe(130);
    expect(filesUnder(out)).toEqual([]);
  });
});

/** Takes every answer the simple-command template proposes, naming the tool `name`, up to the review. */
async function acceptTemplate(terminal: Terminal, name: string) {
  await answer(terminal, 'Tool name', name);
  for (const prompt of ['Platform', 'Category', 'Description', 'Version', 'Where it runs', 'Default accuracy_level', 'Default freshness', 'Default data_source', 'More defaults']) await answer(terminal, prompt);
  for (const prompt of ['What it needs', 'Capability name', 'Capability description', 'Pattern name', 'Pattern description', 'Typical use cases', 'Required inputs', 'Optional inputs']) await answer(terminal, prompt);
  for (const prompt of ['Time estimate in ms', 'Cost estimate', 'Complexity score', 'Scope', 'Completeness', 'Limitations', 'Requires a human approval', 'Safe to run in production', 'Most it may cost']) await answer(terminal, prompt);
  for (const prompt of ['speed:', 'accuracy:', 'cost:', 'complexity:', 'completeness:', 'Outputs', 'Another pattern', 'Another capability']) await answer(terminal, prompt);
  await answer(terminal, 'Author', 'ops team');
  await answer(terminal, 'Tags');
  await answer(terminal, 'Documentation URL');
  await terminal.expect('6/7 Review');
}

describe('tool-catalog new in a terminal, with warnings', () => {
  it('shows each of the importer\'s warnings once, at the review', async () => {
    const out = path.join(workDir, 'warned');
    // An estimate with a variable nobody declares: a warning, not an error.
    const terminal = terminalFor(['new', '--template', 'simple-command', '--set', 'capabilities.0.patterns.0.time_estimate_ms=100 + lines', '--out', out]);
    await acceptTemplate(terminal, 'warned');
    await terminal.expect('Save it?');
    terminal.type(KEY.enter);
    await terminal.expect('Wrote');
    expect(await terminal.exit()).toBe(0);
    const shown = terminal.screen().match(/warning: capabilities\.command_output\.patterns\.run_once\.time_estimate_ms: /g) ?? [];
    expect(shown).toHaveLength(1);
    expect(filesUnder(out)).toEqual(['linux/warned.yaml']);
  });
});

describe('tool-catalog new in a terminal, when the file is already there', () => {
  it('says so at the review and offers another name, keeping every answer', async () => {
    const out = path.join(workDir, 'taken-rename');
    mkdirSync(path.join(out, 'linux'), { recursive: true });
    writeFileSync(path.join(out, 'linux', 'taken.yaml'), '# an older tool\n');
    const terminal = terminalFor(['new', '--template', 'simple-command', '--out', out]);
    await acceptTemplate(terminal, 'taken');
    await terminal.expect(`${path.join(out, 'linux', 'taken.yaml')} already exists.`);
    await terminal.expect('exists: replace it, or change the name?');
    expect(await terminal.expect('Cancel (write nothing)')).not.toContain('Save');
    // The first offer (Enter) is to change the basic information: the answers are all still there.
    terminal.type(KEY.enter);
    await answer(terminal, 'Tool name', `${KEY.backspace.repeat(5)}untaken`);
    for (const prompt of ['Platform', 'Category', 'Description', 'Version']) await answer(terminal, prompt);
    await terminal.expect('6/7 Review');
    await terminal.expect('The importer accepts it');
    await answer(terminal, 'Save it?');
    await terminal.expect('Wrote');
    expect(await terminal.exit()).toBe(0);
    expect(filesUnder(out)).toEqual(['linux/taken.yaml', 'linux/untaken.yaml']);
    expect(readFileSync(path.join(out, 'linux', 'taken.yaml'), 'utf8')).toBe('# an older tool\n');
    expect(parse(readFileSync(path.join(out, 'linux', 'untaken.yaml'), 'utf8'))).toMatchObject({ tool_name: 'untaken', metadata: { author: 'ops team' } });
  });

  it('replaces the file only when the operator confirms', async () => {
    const out = path.join(workDir, 'taken-replace');
    const file = path.join(out, 'linux', 'taken.yaml');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, '# an older tool\n');
    const terminal = terminalFor(['new', '--template', 'simple-command', '--out', out]);
    await acceptTemplate(terminal, 'taken');
    await terminal.expect('exists: replace it, or change the name?');
    // "Replace it" sits above "Change basic information"; the confirmation defaults to no.
    terminal.type(KEY.up + KEY.enter);
    await terminal.expect(`Replace ${file}? What it holds now is lost.`);
    terminal.type(KEY.enter);
    await terminal.expect('exists: replace it, or change the name?');
    expect(readFileSync(file, 'utf8')).toBe('# an older tool\n');
    terminal.type(KEY.up + KEY.enter);
    await terminal.expect('What it holds now is lost.');
    terminal.type('y');
    await terminal.expect('Wrote');
    expect(await terminal.exit()).toBe(0);
    expect(terminal.screen()).not.toContain('pass --force');
    expect(parse(readFileSync(file, 'utf8'))).toMatchObject({ tool_name: 'taken', metadata: { author: 'ops team' } });
  });
});

describe('tool-catalog new without a terminal', () => {
  it('writes every template from flags with --yes, and the importer takes each one into the database', async () => {
    const out = path.join(workDir, 'templates');
    for (const template of TEMPLATE_NAMES) {
      const result = await cli(['new', '--template', template, '--name', `from-${template}`, '--meta', 'author=ci', '--yes', '--out', out]);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
    }
    const files = filesUnder(out);
    expect(files).toHaveLength(TEMPLATE_NAMES.length);
    // Into the database of a running app, whose selection then sees them.
    const service = await startTestService({ seed: false });
    try {
      const report = await importCatalog(service.db.prisma, { paths: [out] }, { actor: 'test' });
      expect(report.counts).toMatchObject({ files: TEMPLATE_NAMES.length, create: TEMPLATE_NAMES.length, rejected: 0, warnings: 0 });
      const names = (await service.db.prisma.tool.findMany({ where: { name: { startsWith: 'from-' } }, select: { name: true } })).map((t) => t.name).sort();
      expect(names).toEqual(TEMPLATE_NAMES.map((t) => `from-${t}`).sort());
      await service.syncMemory();
      // Each template's tool is a candidate for its own capability at the defaults (a request with
      // nothing but the capability): a template whose estimates break its own policy never is.
      for (const template of TEMPLATE_NAMES) {
        const capability = TEMPLATES[template].answers.capabilities[0]!.name;
        const selected = await service.graphql(SELECT, { request: { capability } });
        expect(selected.errors, template).toBeUndefined();
        const { candidates, excluded } = selected.data.selectTools;
        expect(excluded.filter((e: { tool: { name: string } }) => e.tool.name === `from-${template}`), template).toEqual([]);
        expect(candidates.map((c: { tool: { name: string } }) => c.tool.name), template).toContain(`from-${template}`);
      }
    } finally {
      await service.close();
    }
  }, 240_000);

  it('takes answers from a file and --set, and writes nothing the importer rejects', async () => {
    const out = path.join(workDir, 'answers');
    const answers = path.join(workDir, 'answers.yaml');
    writeFileSync(
      answers,
      'name: answered-tool\nplatform: network\ncategory: network\ndescription: From an answers file.\ncapabilities:\n  - name: reachability\n    patterns:\n      - name: probe\n        time_estimate_ms: "100 * N"\n',
    );
    const good = await cli(['new', '--answers', answers, '--set', 'capabilities.0.patterns.0.complexity_score=0.4', '--yes', '--out', out]);
    expect(good.code).toBe(0);
    const written = parse(readFileSync(path.join(out, 'network', 'answered-tool.yaml'), 'utf8'));
    expect(written.capabilities.reachability.patterns.probe).toMatchObject({ time_estimate_ms: '100 * N', complexity_score: 0.4 });

    const bad = await cli(['new', '--answers', answers, '--name', 'rejected-tool', '--set', 'capabilities.0.patterns.0.complexity_score=7', '--yes', '--out', out]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/rejected-tool\.yaml:\d+:\d+: error: capabilities\.reachability\.patterns\.probe\.complexity_score: expected a number from 0 to 1, found 7/);
    expect(bad.stderr).toContain('nothing was written');
    expect(filesUnder(out)).toEqual(['network/answered-tool.yaml']);

    const typo = path.join(workDir, 'typo.yaml');
    writeFileSync(typo, 'name: x\ncapabilitys: []\n');
    const refused = await cli(['new', '--answers', typo, '--yes', '--out', out]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/typo\.yaml: .*capabilitys/);
  }, 240_000);

  it('holds --set to the answers file\'s strictness: a typo is an error naming the key, and nothing is written', async () => {
    const out = path.join(workDir, 'set-typos');
    const base = ['new', '--template', 'api-tool', '--name', 'set-typo', '--meta', 'author=ci', '--yes', '--out', out];
    const cases: Array<[string, string]> = [
      ['metadta.owner=me', 'tool-catalog new: --set metadta.owner=me: unknown key "metadta" (did you mean `metadata`?)'],
      ['capabilities.x.y=1', 'tool-catalog new: --set capabilities.x.y=1: capabilities is a list: give a position (0, 1, …), not "x"'],
      [
        'capabilities.0.patterns.0.time_estimat_ms=5',
        'tool-catalog new: --set capabilities.0.patterns.0.time_estimat_ms=5: unknown key "time_estimat_ms" in capabilities.0.patterns.0 (did you mean `time_estimate_ms`?)',
      ],
      ['capabilities.0.patterns.0.policy.max_cots=3', 'tool-catalog new: --set capabilities.0.patterns.0.policy.max_cots=3: unknown key "max_cots" in capabilities.0.patterns.0.policy (did you mean `max_cost`?)'],
    ];
    for (const [assignment, message] of cases) {
      const result = await cli([...base, '--set', assignment]);
      expect(result.code, assignment).toBe(1);
      expect(result.stderr.trim(), assignment).toBe(message);
    }
    expect(filesUnder(out)).toEqual([]);
    // Known keys still go through, and a pattern --set adds gets a file's neutral values.
    const good = await cli([...base, '--set', 'metadata.owner=me', '--set', 'capabilities.0.patterns.1.name=one_page', '--set', 'capabilities.0.patterns.1.description=Only the first page.']);
    expect(good.code, good.stderr).toBe(0);
    const written = parse(readFileSync(path.join(out, 'cloud', 'set-typo.yaml'), 'utf8'));
    expect(written.metadata).toMatchObject({ owner: 'me' });
    expect(written.capabilities.resource_listing.patterns.one_page).toMatchObject({ description: 'Only the first page.', time_estimate_ms: '1000', cost_estimate: '1' });
  }, 240_000);

  it('asks for a name first with --yes and none given', async () => {
    for (const name of [[], ['--name', '  ']]) {
      const result = await cli(['new', '--template', 'api-tool', ...name, '--meta', 'author=ci', '--yes', '--out', path.join(workDir, 'nameless')]);
      expect(result.code).toBe(1);
      expect(result.stderr.trim()).toBe('tool-catalog new: a name is required (--name or name: in --answers); nothing was written.');
    }
    expect(filesUnder(path.join(workDir, 'nameless'))).toEqual([]);
  });

  it('refuses to run the wizard without a terminal unless told --yes', async () => {
    const result = await cli(['new', '--template', 'api-tool', '--name', 'x', '--out', path.join(workDir, 'no-tty')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('pass --yes');
    expect(filesUnder(path.join(workDir, 'no-tty'))).toEqual([]);
  });
});

describe('estimate preview', () => {
  const pattern = { required_inputs: [], optional_inputs: [{ name: 'hosts', type: 'integer', default: 20 }] };
  it('warns when the sample cost is above the policy max_cost, or the time above max_execution_time (seconds)', () => {
    const over = previewEstimate('2 + N', { ...pattern, policy: { requires_approval: false, production_safe: true, max_cost: 50 } }, 'cost');
    expect(over).toMatchObject({ ok: true, value: 102 });
    expect(over.warning).toBe('2 + N = 102 with N=100 is above policy.max_cost 50: selectTools leaves this pattern out at these values (POLICY_MAX_COST); lower the estimate or raise the limit');
    expect(previewEstimate('2 + hosts', { ...pattern, policy: { requires_approval: false, production_safe: true, max_cost: 50 } }, 'cost').warning).toBeUndefined();
    expect(previewEstimate('2 + N', { ...pattern, policy: { requires_approval: false, production_safe: true } }, 'cost').warning).toBeUndefined();
    const slow = previewEstimate('1000 * hosts', { ...pattern, policy: { requires_approval: false, production_safe: true, max_execution_time: 10 } }, 'time');
    expect(slow.warning).toMatch(/^1000 \* hosts = 20000 ms with hosts=20 is above policy\.max_execution_time 10 s: /);
    expect(previewEstimate('1000 * hosts', { ...pattern, policy: { requires_approval: false, production_safe: true, max_execution_time: 20 } }, 'time').warning).toBeUndefined();
  });

  it('says so without a terminal too', async () => {
    const result = await cli(['new', '--template', 'api-tool', '--name', 'costly', '--meta', 'author=ci', '--set', 'capabilities.0.patterns.0.cost_estimate=10 * N', '--yes', '--out', path.join(workDir, 'costly')]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('tool-catalog new: warning: resource_listing.paged_list: 10 * N = 1000 with N=100 is above policy.max_cost 5: selectTools leaves this pattern out');
  });
});

describe('tool-catalog new --publish', () => {
  it('imports the checked file into a running service with an editor key, and is refused without one', async () => {
    const adminKey = 'generator-admin-key-Rt5Mw2Qz8Ky4Xv7Bn3Lp9Cj6Hd1Fg0Ns';
    const database = await processDatabase(path.join(workDir, 'publish'));
    const server = await startServerProcess({ ...database.env, ADMIN_API_KEY: adminKey, CATALOG_WATCH: 'false' }, 180_000);
    try {
      // An editor key, as an operator adding tools holds (the admin key only makes it).
      const created = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` },
        body: JSON.stringify({ query: 'mutation { createApiKey(name: "generator-editor", role: EDITOR) { ... on CreatedApiKey { key role } } }' }),
      }).then((r) => r.json() as Promise<{ data: { createApiKey: { key: string; role: string } } }>);
      expect(created.data.createApiKey.role).toBe('EDITOR');
      const editorKey = created.data.createApiKey.key;
      const args = ['new', '--template', 'monitoring-tool', '--name', 'published-probe', '--meta', 'author=ci', '--yes', '--publish', server.url];
      const refused = await cli(args);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/refused the import/);
      const published = await cli([...args, '--api-key', editorKey]);
      expect(published.code, published.stderr).toBe(0);
      expect(published.stdout).toMatch(/^Published published-probe \(monitoring\) 1\.0 to http:\/\/127\.0\.0\.1:\d+: create, catalog revision \d+\.$/m);
      // The service's own findings (no line or column over GraphQL) read file: severity: message.
      const again = await cli([...args, '--api-key', editorKey, '--description', 'Changed without a new version.']);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/^monitoring\/published-probe\.yaml: error: .*version 1\.0 of published-probe \(monitoring\) already exists with other content/m);
      expect(again.stderr).not.toContain('.yaml::');
      const read = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ tool(name: "published-probe", platform: "monitoring") { version capabilities { name patterns { timeEstimateMs } } } }' }),
      }).then((r) => r.json() as Promise<{ data: { tool: { version: string; capabilities: Array<{ name: string; patterns: Array<{ timeEstimateMs: string }> }> } } }>);
      expect(read.data.tool).toEqual({ version: '1.0', capabilities: [{ name: 'metric_query', patterns: [{ timeEstimateMs: '200 + series * 2' }] }] });
    } finally {
      await server.stop();
      await database.drop();
    }
  }, 240_000);

  it('says a service it cannot reach is unreachable, with exit code 1', async () => {
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const result = await cli(['new', '--template', 'monitoring-tool', '--name', 'unsent', '--meta', 'author=ci', '--yes', '--publish', `http://127.0.0.1:${closed}`, '--api-key', 'k']);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(`tool-catalog new: cannot reach http://127.0.0.1:${closed}: ECONNREFUSED; nothing was written.`);
  });

  it('imports it into the configured database with --publish-db', async () => {
    const database = await processDatabase(path.join(workDir, 'publish-db'));
    try {
      const args = ['new', '--template', 'database-tool', '--name', 'db-published', '--meta', 'author=ci', '--yes', '--publish-db'];
      const first = await cli(args, database.env);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toContain('Published db-published (database) 1.0 to the database: create.');
      // The same version again with other content is what the catalog refuses: nothing is written.
      const again = await cli([...args, '--description', 'Changed without a new version.'], database.env);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/version 1\.0 of db-published \(database\) already exists with other content/);
    } finally {
      await database.drop();
    }
  }, 240_000);
});

describe('tool-catalog validate', () => {
  it("reports the importer's problems as file:line:column: severity: path: message and exits 1 on an error", async () => {
    const dir = path.join(workDir, 'validate');
    mkdirSync(path.join(dir, 'linux'), { recursive: true });
    writeFileSync(path.join(dir, 'linux', 'good.yaml'), readFileSync(path.join(root, 'catalog', 'linux', 'grep.yaml'), 'utf8'));
    writeFileSync(
      path.join(dir, 'linux', 'bad.yaml'),
      'tool_name: bad\nversion: "1.0"\nplatform: linux\ncategory: system\ncapabilities:\n  c:\n    patterns:\n      p:\n        complexity_score: 7\n',
    );
    const bad = await cli(['validate', dir]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain(`${path.join(dir, 'linux', 'bad.yaml')}:9:27: error: capabilities.c.patterns.p.complexity_score: expected a number from 0 to 1, found 7`);
    expect(bad.stderr).toContain('2 file(s): 1 valid, 1 rejected');

    rmSync(path.join(dir, 'linux', 'bad.yaml'));
    // An unknown key is pointed at where the key is written, not its value.
    const typo = path.join(dir, 'typo.yaml');
    writeFileSync(typo, 'tool_name: typo\nversion: "1.0"\nplatform: linux\ncategory: system\ndescriptoin:   Misspelt.\n');
    const warned = await cli(['validate', typo]);
    expect(warned.code).toBe(0);
    expect(warned.stdout).toContain(`${typo}:5:1: warning: descriptoin: unknown key "descriptoin" (did you mean \`description\`?)`);
    rmSync(typo);
    const good = await cli(['validate', dir]);
    expect(good.code).toBe(0);
    expect(good.stderr).toContain('1 file(s): 1 valid, 0 rejected, 0 error(s)');
    // Nothing was written anywhere: validate has no database.
    expect(filesUnder(dir)).toEqual(['linux/good.yaml']);
  });
});
