import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Diagnostic } from '../src/catalog/diagnostics.js';
import { CatalogValidationError } from '../src/catalog/errors.js';
import { importCatalog } from '../src/catalog/importer.js';
import { createTool, updateTool, validateTool } from '../src/catalog/toolCommands.js';
import { checkDefinitionYaml, inputFromDocument, inputPath } from '../src/catalog/validation.js';
import type { Database } from '../src/db/database.js';
import { applyMigrations } from '../src/db/migrations.js';
import { openTestDatabase, processDatabase } from './support/service.js';
import { runCommand, TOOL_CATALOG, type CommandResult } from './support/commands.js';

/**
 * One definition per rule, each breaking exactly one (test/fixtures/malformed, written for this
 * project). Every path — the CLI, importCatalog, validateTool, createTool and the checker a
 * generator calls — must give each the same verdict: accepted or refused, with the same fields.
 */
const root = fileURLToPath(new URL('../', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./fixtures/malformed/', import.meta.url));

interface Fixture {
  file: string;
  text: string;
  expect: 'rejected' | 'warning';
  field: string;
}

const fixtures: Fixture[] = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((file) => {
    const text = readFileSync(path.join(FIXTURES, file), 'utf8');
    const header = (key: string) => new RegExp(`^# ${key}: (.*)$`, 'm').exec(text)![1]!.trim();
    return { file, text, expect: header('expect') as Fixture['expect'], field: header('field') };
  });

interface Verdict {
  accepted: boolean;
  errors: string[];
  warnings?: string[];
}

const uniqueSorted = (items: string[]) => [...new Set(items)].sort();

function fromDiagnostics(accepted: boolean, diagnostics: Diagnostic[]): Verdict {
  const at = (severity: Diagnostic['severity']) => uniqueSorted(diagnostics.filter((d) => d.severity === severity).map((d) => inputPath(d.field)));
  return { accepted, errors: at('error'), warnings: at('warning') };
}

function runCli(args: string[], env: Record<string, string>): Promise<CommandResult> {
  return runCommand([...TOOL_CATALOG, ...args], env, 170_000);
}

let db: Database;
let drop: () => Promise<void>;
let workDir: string;
let cliEnv: Record<string, string>;
let dropCliDatabase = async () => {};

beforeAll(async () => {
  ({ db, drop } = await openTestDatabase());
  await applyMigrations(db.migrationAdapter());
  workDir = mkdtempSync(path.join(tmpdir(), 'tool-catalog-malformed-'));
  ({ env: cliEnv, drop: dropCliDatabase } = await processDatabase(workDir));
});
afterAll(async () => {
  await drop();
  await dropCliDatabase();
  rmSync(workDir, { recursive: true, force: true });
});

describe('the malformed definitions corpus', () => {
  it('holds at least 40 definitions, each breaking one rule and saying which', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(40);
    expect(new Set(fixtures.map((f) => /^# rule: (.*)$/m.exec(f.text)?.[1])).size).toBeGreaterThanOrEqual(30);
  });

  it('gets the same verdict from the CLI, importCatalog, validateTool, createTool, updateTool and checkDefinitionYaml', { timeout: 240_000 }, async () => {
    // The CLI once over the whole directory: a dry run, as JSON, writing nothing anywhere.
    const cli = await runCli(['import', '--dry-run', '--json', FIXTURES], cliEnv);
    expect(cli.stderr).not.toMatch(/Error:/);
    const cliReport = JSON.parse(cli.stdout) as { tools: Array<{ file: string; action: string; diagnostics: Diagnostic[] }> };
    if (!process.env.DATABASE_URL) expect(existsSync(path.join(workDir, 'data')), 'a dry run creates no database').toBe(false);

    let updateSkipped = 0;
    for (const fixture of fixtures) {
      const fromCliTool = cliReport.tools.find((t) => path.basename(t.file) === fixture.file);
      expect(fromCliTool, fixture.file).toBeDefined();
      const viaCli = fromDiagnostics(fromCliTool!.action !== 'rejected', fromCliTool!.diagnostics);

      const imported = await importCatalog(db.prisma, { documents: [{ name: fixture.file, content: fixture.text }] }, { actor: 'test', dryRun: true });
      const viaImport = fromDiagnostics(imported.tools[0]!.action !== 'rejected', imported.tools[0]!.diagnostics);

      const checked = checkDefinitionYaml(fixture.file, fixture.text);
      const viaChecker = fromDiagnostics(checked.definition !== undefined, checked.diagnostics);

      const input = inputFromDocument(parse(fixture.text) as Record<string, unknown>);
      const validated = await validateTool(db.prisma, input);
      const viaValidate: Verdict = {
        accepted: validated.problems.length === 0,
        errors: uniqueSorted(validated.problems.map((p) => p.path)),
        warnings: uniqueSorted(validated.warnings.map((p) => p.path)),
      };

      let viaCreate: Verdict;
      try {
        await createTool(db.prisma, input, { actor: 'test', trigger: 'test' });
        viaCreate = { accepted: true, errors: [] };
      } catch (error) {
        if (!(error instanceof CatalogValidationError)) throw error;
        viaCreate = { accepted: false, errors: uniqueSorted(error.fieldErrors.map((p) => p.path)) };
      }

      // updateTool on a valid tool, with the fixture's fields as the changes — all but its identity,
      // which an update cannot change, and a field the fixture leaves out, which an update keeps:
      // those fixtures are judged by the other paths.
      let viaUpdate: Verdict | undefined;
      const topField = fixture.field.split('.')[0]!;
      if (!['name', 'platform', 'version'].includes(topField) && topField in input) {
        const ref = { name: `update-base-${fixture.file.slice(0, 2)}`, platform: 'linux' };
        await createTool(db.prisma, { ...ref, version: '1.0', category: 'testing', description: 'Base of an update' }, { actor: 'test', trigger: 'test' });
        const { name: _n, platform: _p, version: _v, ...changes } = input;
        try {
          await updateTool(db.prisma, { ...ref, revision: 1 }, changes, { version: '2.0' }, { actor: 'test', trigger: 'test' });
          viaUpdate = { accepted: true, errors: [] };
        } catch (error) {
          if (!(error instanceof CatalogValidationError)) throw error;
          viaUpdate = { accepted: false, errors: uniqueSorted(error.fieldErrors.map((p) => p.path)) };
        }
      }

      const expected = inputPath(fixture.field);
      const label = `${fixture.file} (${fixture.expect} at ${fixture.field})`;
      if (fixture.expect === 'rejected') {
        expect(viaImport.accepted, label).toBe(false);
        expect(viaImport.errors.some((e) => e === expected || e.startsWith(`${expected}.`)), `${label}: ${viaImport.errors}`).toBe(true);
      } else {
        expect(viaImport, label).toMatchObject({ accepted: true, errors: [] });
        expect(viaImport.warnings, label).toContain(expected);
      }
      expect(viaCli, `${label}: CLI`).toEqual(viaImport);
      expect(viaChecker, `${label}: checkDefinitionYaml`).toEqual(viaImport);
      expect(viaValidate, `${label}: validateTool`).toEqual(viaImport);
      expect(viaCreate, `${label}: createTool`).toEqual({ accepted: viaImport.accepted, errors: viaImport.errors });
      if (viaUpdate) expect(viaUpdate, `${label}: updateTool`).toEqual({ accepted: viaImport.accepted, errors: viaImport.errors });
      else updateSkipped++;
    }
    // Only the identity and missing-field fixtures are left to the other paths.
    expect(fixtures.length - updateSkipped).toBeGreaterThanOrEqual(40);
  });

  it('makes unknown keys errors with strict, on the importer and the API alike', async () => {
    const typo = fixtures.find((f) => f.file.includes('unknown-top-key-typo'))!;
    const report = await importCatalog(db.prisma, { documents: [{ name: typo.file, content: typo.text }] }, { actor: 'test', dryRun: true, strict: true });
    expect(report.tools[0]!.action).toBe('rejected');
    expect(report.tools[0]!.diagnostics).toEqual(
      expect.arrayContaining([expect.objectContaining({ severity: 'error', field: 'capabilitys', message: expect.stringMatching(/did you mean `capabilities`\?/) })]),
    );
    const validated = await validateTool(db.prisma, inputFromDocument(parse(typo.text)), { strict: true });
    expect(validated.problems).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'capabilitys', message: expect.stringMatching(/did you mean/) })]));
  });

  it('makes unknown keys errors with --strict or STRICT_IMPORT=true in the CLI too: import, validate and new', { timeout: 240_000 }, async () => {
    const typo = path.join(FIXTURES, fixtures.find((f) => f.file.includes('unknown-top-key-typo'))!.file);
    const strictEnv = { ...cliEnv, STRICT_IMPORT: 'true' };
    const runs = await Promise.all([
      runCli(['import', '--dry-run', typo], strictEnv),
      runCli(['validate', typo], strictEnv),
      runCli(['validate', '--strict', typo], cliEnv),
      runCli(['validate', typo], cliEnv),
    ]);
    const [imported, validatedByEnv, validatedByFlag, lenient] = runs;
    for (const [label, run] of [['import with STRICT_IMPORT', imported], ['validate with STRICT_IMPORT', validatedByEnv], ['validate --strict', validatedByFlag]] as const) {
      expect(run!.code, `${label}: ${run!.stdout}${run!.stderr}`).toBe(1);
      expect(run!.stdout, label).toMatch(/error: capabilitys: unknown key "capabilitys" \(did you mean `capabilities`\?\)/);
    }
    expect(lenient!.code, lenient!.stdout).toBe(0);
    expect(lenient!.stdout).toMatch(/warning: capabilitys: unknown key/);

    // The generator writes no file with a typo the importer would refuse: a misspelt key in its
    // answers (file or --set) is refused before the importer's checks, strict or not.
    const answers = path.join(workDir, 'strict-answers.yaml');
    writeFileSync(answers, 'name: strict-probe\nplatform: network\ncategory: network\ndescription: Strict.\ncapabilities:\n  - name: reachability\n    patterns:\n      - name: probe\n        time_estimate_ms: "100 * N"\n');
    const out = path.join(workDir, 'strict-out');
    const withTypo = ['new', '--answers', answers, '--set', 'capabilities.0.patterns.0.complexity_scor=0.3', '--yes', '--out', out];
    for (const env of [strictEnv, cliEnv]) {
      const refused = await runCli(withTypo, env);
      expect(refused.code, refused.stderr).toBe(1);
      expect(refused.stderr).toMatch(/--set capabilities\.0\.patterns\.0\.complexity_scor=0\.3: unknown key "complexity_scor" .*did you mean `complexity_score`/);
      expect(existsSync(out), 'nothing written').toBe(false);
    }
  });
});
