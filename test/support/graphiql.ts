import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect } from 'vitest';

/** Driving GraphiQL, as served by the service, in a real headless Chromium. */

export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const haveChromium = existsSync(chromiumPath);
if (!haveChromium && process.env.CI) {
  throw new Error(`Chromium is required in CI (apt-get install chromium); not found at ${chromiumPath}`);
}

/** The suite name, saying so when the suite is skipped for want of Chromium. */
export const browserSuiteName = (name: string) => `${name}${haveChromium ? '' : ' (skipped: Chromium not installed)'}`;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
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
}

export interface GraphiQLPage {
  page: Page;
  /** Text of an editor pane; the editors render spaces as no-break spaces, so whitespace is folded. */
  textOf(selector: string): Promise<string>;
  /** The text of GraphiQL's result pane once it holds a response containing `marker`. */
  resultContaining(marker: string): Promise<string>;
  /** The whole text of the result pane, copied the way a user would (select all, copy). */
  copiedResult(): Promise<string>;
  /** Empties the query editor and types `text` into it, as a user would. */
  typeQuery(text: string): Promise<void>;
  /** The query editor's text as shown, whitespace folded and trimmed. */
  typedQuery(): Promise<string>;
  /**
   * Presses GraphiQL's run button; resolves with the JSON response to the request whose body holds
   * `marker` (GraphiQL also posts its own introspection query, which may still be in flight).
   */
  run(marker: string): Promise<any>;
  /** Nothing failed to load, nothing went beyond the service, no script errors. */
  expectCleanPage(): void;
  /** Forgets what the page did so far: each test answers for what happened while it ran. */
  resetRecords(): void;
  /** Saves a screenshot of the page (for a failing test); never throws. */
  screenshot(file: string): Promise<void>;
}

/** A new page on the service, allowed to use the clipboard, recording what goes wrong on it. */
export async function newGraphiQLPage(browser: Browser, serverUrl: string): Promise<GraphiQLPage> {
  // The clipboard is how the test reads the whole result pane: the editor only renders the lines in view.
  const context = await browser.newContext();
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: serverUrl });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  page.setDefaultNavigationTimeout(30_000);
  const failedRequests: string[] = [];
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  /** Anything the page asks for beyond the service itself and in-page data/blob URLs (no CDN, no internet). */
  const offOrigin: string[] = [];
  page.on('requestfailed', (request) => failedRequests.push(`${request.url()}: ${request.failure()?.errorText}`));
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(`${serverUrl}/`) && !/^(data|blob):/.test(url)) offOrigin.push(url);
  });

  const textOf = async (selector: string) => (await page.locator(selector).innerText()).replace(/\s+/g, ' ');

  return {
    page,
    textOf,
    async resultContaining(marker) {
      await expect.poll(async () => (await textOf('.graphiql-response')).includes(marker), { timeout: 30_000, interval: 250 }).toBe(true);
      return textOf('.graphiql-response');
    },
    async copiedResult() {
      await page.locator('.graphiql-response .monaco-editor .view-lines').click();
      await page.keyboard.press('ControlOrMeta+A');
      await page.keyboard.press('ControlOrMeta+C');
      return page.evaluate(() => navigator.clipboard.readText());
    },
    async typeQuery(text) {
      await page.locator('.graphiql-query-editor .monaco-editor, .graphiql-query-editor').first().click();
      await page.keyboard.press('ControlOrMeta+A');
      await page.keyboard.press('Delete');
      await page.keyboard.type(text);
    },
    async typedQuery() {
      return (await textOf('.graphiql-query-editor .view-lines')).trim();
    },
    async run(marker) {
      const response = page.waitForResponse(
        (r) => r.url().endsWith('/graphql') && r.request().method() === 'POST' && (r.request().postData() ?? '').includes(marker),
      );
      await page.locator('button.graphiql-execute-button').click();
      return (await response).json();
    },
    expectCleanPage() {
      expect(failedRequests).toEqual([]);
      expect(offOrigin).toEqual([]);
      expect(pageErrors).toEqual([]);
      expect(consoleErrors).toEqual([]);
    },
    resetRecords() {
      for (const list of [failedRequests, offOrigin, pageErrors, consoleErrors]) list.length = 0;
    },
    async screenshot(file) {
      mkdirSync(path.dirname(file), { recursive: true });
      await page.screenshot({ path: file, timeout: 10_000 }).catch(() => {});
    },
  };
}
