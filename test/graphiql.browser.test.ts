import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { browserSuiteName, haveChromium, launchChromium, newGraphiQLPage, type GraphiQLPage } from './support/graphiql.js';
import { startServerProcess, type ServerProcess } from './support/process.js';
import { processDatabase, SAMPLE_CATALOG_DIR } from './support/service.js';

/** Where a failing test leaves a screenshot of the page (git-ignored). */
const SCREENSHOT = new URL('./artifacts/graphiql.png', import.meta.url).pathname;

describe.skipIf(!haveChromium)(browserSuiteName('GraphiQL in a real Chromium'), () => {
  let workDir: string;
  let server: ServerProcess;
  let browser: Browser;
  let graphiql: GraphiQLPage;
  let dropDatabase = async () => {};

  beforeAll(async () => {
    workDir = mkdtempSync(path.join(tmpdir(), 'tool-catalog-graphiql-'));
    const database = await processDatabase(workDir);
    const databaseEnv = database.env;
    dropDatabase = database.drop;
    server = await startServerProcess({ ...databaseEnv, CATALOG_DIR: SAMPLE_CATALOG_DIR });
    browser = await launchChromium();
    graphiql = await newGraphiQLPage(browser, server.url);
  });

  beforeEach(({ onTestFailed }) => {
    // Each test answers for what happened on the page while it ran.
    graphiql?.resetRecords();
    onTestFailed(async () => {
      await graphiql?.screenshot(SCREENSHOT);
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await dropDatabase();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('opens with the README query and runs it against the sample catalog', async () => {
    const { page, textOf, run, resultContaining, copiedResult, expectCleanPage } = graphiql;
    await page.goto(`${server.url}/graphql`, { waitUntil: 'load' });
    await expect.poll(async () => (await textOf('.graphiql-query-editor')).includes('query LinuxTools'), { timeout: 30_000 }).toBe(true);
    const body = await run('LinuxTools');
    const linux = readdirSync(path.join(SAMPLE_CATALOG_DIR, 'linux')).length;
    expect(body.data.tools.totalCount).toBe(linux);
    expect(body.data.tools.edges.map((e: any) => e.node.name)).toContain('grep');
    // What the page shows is that response.
    expect(await resultContaining('"totalCount"')).toContain(`"totalCount": ${linux}`);
    const shown = await copiedResult();
    expect(JSON.parse(shown)).toEqual(body);
    expect(shown).toContain('"name": "grep"');
    expectCleanPage();
  });

  it('runs a nested query typed into the editor', async () => {
    const { typeQuery, typedQuery, run, resultContaining, copiedResult, expectCleanPage } = graphiql;
    const dig = parse(readFileSync(path.join(SAMPLE_CATALOG_DIR, 'network', 'dig.yaml'), 'utf8'));
    const [capabilityName, capability] = Object.entries(dig.capabilities as Record<string, { patterns: object }>)[0]!;
    const patternName = Object.keys(capability.patterns)[0]!;
    // GraphiQL closes brackets itself: type the query on one line without closing braces.
    await typeQuery('{ tool(name: "dig", platform: "network") { name capabilities { name patterns { name timeEstimateMs');
    // The editor now holds only the typed query (rendered on the next frame, hence the poll).
    await expect.poll(typedQuery, { timeout: 10_000 }).toMatch(/^\{ tool\(name: "dig", platform: "network"\) \{ name capabilities \{ .*\}$/);
    expect(await typedQuery()).not.toContain('LinuxTools');
    const body = await run('\\"dig\\"');
    expect(body.data.tool.name).toBe('dig');
    const text = await resultContaining(`"${patternName}"`);
    expect(text).toContain('"dig"');
    expect(text).toContain(`"${capabilityName}"`);
    expect(JSON.parse(await copiedResult())).toEqual(body);
    expectCleanPage();
  });
});
