import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startServerProcess, type ServerProcess } from './support/process.js';
import { processDatabase, SAMPLE_CATALOG_DIR } from './support/service.js';

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(chromiumPath);
if (!haveChromium && process.env.CI) {
  throw new Error(`Chromium is required in CI (apt-get install chromium); not found at ${chromiumPath}`);
}

/** Where a failing test leaves a screenshot of the page (git-ignored). */
const SCREENSHOT = new URL('./artifacts/graphiql.png', import.meta.url).pathname;

const suiteName = `GraphiQL in a real Chromium${haveChromium ? '' : ' (skipped: Chromium not installed)'}`;

describe.skipIf(!haveChromium)(suiteName, () => {
  let workDir: string;
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  let dropDatabase = async () => {};
  const failedRequests: string[] = [];
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  /** Anything the page asks for beyond the service itself and in-page data/blob URLs (no CDN, no internet). */
  const offOrigin: string[] = [];

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
    // The clipboard is how the test reads the whole result pane: the editor only renders the lines in view.
    const context = await browser.newContext();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    page = await context.newPage();
    page.setDefaultTimeout(30_000);
    page.setDefaultNavigationTimeout(30_000);
    page.on('requestfailed', (request) => failedRequests.push(`${request.url()}: ${request.failure()?.errorText}`));
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('request', (request) => {
      const url = request.url();
      if (!url.startsWith(`${server.url}/`) && !/^(data|blob):/.test(url)) offOrigin.push(url);
    });
  });

  beforeEach(({ onTestFailed }) => {
    // Each test answers for what happened on the page while it ran.
    for (const list of [failedRequests, offOrigin, pageErrors, consoleErrors]) list.length = 0;
    onTestFailed(async () => {
      mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
      await page?.screenshot({ path: SCREENSHOT, timeout: 10_000 }).catch(() => {});
    });
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

  /** The whole text of the result pane, copied the way a user would (select all, copy). */
  async function copiedResult(): Promise<string> {
    await page.locator('.graphiql-response .monaco-editor .view-lines').click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('ControlOrMeta+C');
    return page.evaluate(() => navigator.clipboard.readText());
  }

  /** Nothing failed to load, nothing went beyond the service, no script errors. */
  function expectCleanPage() {
    expect(failedRequests).toEqual([]);
    expect(offOrigin).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(consoleErrors).toEqual([]);
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
    const shown = await copiedResult();
    expect(JSON.parse(shown)).toEqual(body);
    expect(shown).toContain('"name": "grep"');
    expectCleanPage();
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
    // The editor now holds only the typed query (rendered on the next frame, hence the poll).
    const typed = async () => (await textOf('.graphiql-query-editor .view-lines')).trim();
    await expect.poll(typed, { timeout: 10_000 }).toMatch(/^\{ tool\(name: "dig", platform: "network"\) \{ name capabilities \{ .*\}$/);
    expect(await typed()).not.toContain('LinuxTools');
    const body = await run('\\"dig\\"');
    expect(body.data.tool.name).toBe('dig');
    const text = await resultContaining(`"${patternName}"`);
    expect(text).toContain('"dig"');
    expect(text).toContain(`"${capabilityName}"`);
    expect(JSON.parse(await copiedResult())).toEqual(body);
    expectCleanPage();
  });
});
