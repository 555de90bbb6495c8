import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startServerProcess, type ServerProcess } from './support/process.js';
import { processDatabase, SAMPLE_CATALOG_DIR } from './support/service.js';

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(chromiumPath);
if (!haveChromium && process.env.CI) {
  throw new Error(`Chromium is required in CI (apt-get install chromium); not found at ${chromiumPath}`);
}

const suiteName = `GraphiQL in a real Chromium${haveChromium ? '' : ' (skipped: Chromium not installed)'}`;

describe.skipIf(!haveChromium)(suiteName, () => {
  let workDir: string;
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  let dropDatabase = async () => {};
  const failedRequests: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    workDir = mkdtempSync(path.join(tmpdir(), 'tool-catalog-graphiql-'));
    const database = await processDatabase(workDir);
    const databaseEnv = database.env;
    dropDatabase = database.drop;
    server = await startServerProcess({ ...databaseEnv, CATALOG_DIR: SAMPLE_CATALOG_DIR });
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage();
    page.setDefaultTimeout(30_000);
    page.on('requestfailed', (request) => failedRequests.push(request.url()));
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await dropDatabase();
    rmSync(workDir, { recursive: true, force: true });
  });

  /** Text of an editor pane; the editors render spaces as no-break spaces, so whitespace is folded. */
  const textOf = async (selector: string) => (await page.locator(selector).innerText()).replace(/\s+/g, ' ');

  /** The text of GraphiQL's result pane once it holds a response containing `marker`. */
  async function resultContaining(marker: string): Promise<string> {
    await expect.poll(async () => (await textOf('.graphiql-response')).includes(marker), { timeout: 30_000, interval: 250 }).toBe(true);
    return textOf('.graphiql-response');
  }

  /**
   * Presses GraphiQL's run button; resolves with the JSON response to the request whose body holds
   * `marker` (GraphiQL also posts its own introspection query, which may still be in flight).
   */
  async function run(marker: string): Promise<any> {
    const response = page.waitForResponse(
      (r) => r.url().endsWith('/graphql') && r.request().method() === 'POST' && (r.request().postData() ?? '').includes(marker),
    );
    await page.locator('button.graphiql-execute-button').click();
    return (await response).json();
  }

  it('opens with the README query and runs it against the sample catalog', async () => {
    await page.goto(`${server.url}/graphql`, { waitUntil: 'load' });
    await expect.poll(async () => (await textOf('.graphiql-query-editor')).includes('query LinuxTools'), { timeout: 30_000 }).toBe(true);
    const body = await run('LinuxTools');
    const linux = readdirSync(path.join(SAMPLE_CATALOG_DIR, 'linux')).length;
    expect(body.data.tools.totalCount).toBe(linux);
    expect(body.data.tools.edges.map((e: any) => e.node.name)).toContain('grep');
    // What the page shows is that response.
    expect(await resultContaining('"totalCount"')).toContain(`"totalCount": ${linux}`);
    expect(failedRequests).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('runs a nested query typed into the editor', async () => {
    const dig = parse(readFileSync(path.join(SAMPLE_CATALOG_DIR, 'network', 'dig.yaml'), 'utf8'));
    const [capabilityName, capability] = Object.entries(dig.capabilities as Record<string, { patterns: object }>)[0]!;
    const patternName = Object.keys(capability.patterns)[0]!;
    await page.locator('.graphiql-query-editor .monaco-editor, .graphiql-query-editor').first().click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    // GraphiQL closes brackets itself: type the query on one line without closing braces.
    await page.keyboard.type('{ tool(name: "dig", platform: "network") { name capabilities { name patterns { name timeEstimateMs');
    const body = await run('\\"dig\\"');
    expect(body.data.tool.name).toBe('dig');
    const text = await resultContaining(`"${patternName}"`);
    expect(text).toContain('"dig"');
    expect(text).toContain(`"${capabilityName}"`);
    expect(failedRequests).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
