import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { browserSuiteName, haveChromium, launchChromium, newGraphiQLPage, type GraphiQLPage } from './support/graphiql.js';
import { startServerProcess, type ServerProcess } from './support/process.js';
import { processDatabase, SAMPLE_CATALOG_DIR } from './support/service.js';

/** Where a failing test leaves a screenshot of the page (git-ignored). */
const SCREENSHOT = new URL('./artifacts/graphiql-subscription.png', import.meta.url).pathname;

const SUBSCRIPTION = 'subscription { catalogEvents(types: [TOOL_VERSIONED, RELOAD_FINISHED]) { revision type toolName version } }';
/**
 * What a user types: GraphiQL closes the brackets itself (and steps over the closing ones typed), so
 * the editor ends up holding the subscription with its last two braces added straight after.
 */
const TYPED = 'subscription { catalogEvents(types: [TOOL_VERSIONED, RELOAD_FINISHED]) { revision type toolName version';
const IN_EDITOR = `${TYPED}}}`;

/** How long the service may take to notice a saved file, reload, and tell the page. */
const EVENT_TIMEOUT_MS = 20_000;

interface ShownEvent {
  revision: number;
  type: string;
  toolName: string | null;
  version: string | null;
}

/** One content of the result pane, as rendered, and the event it shows (if it shows one). */
interface PaneState {
  at: number;
  text: string;
  event: ShownEvent | null;
}

describe.skipIf(!haveChromium)(browserSuiteName('A catalogEvents subscription in GraphiQL, in a real Chromium'), () => {
  let workDir: string;
  let catalogDir: string;
  let grepFile: string;
  let server: ServerProcess;
  let browser: Browser;
  let graphiql: GraphiQLPage;
  let dropDatabase = async () => {};
  /** The second test carries on with the first one's page and subscription. */
  let subscribed = false;

  beforeAll(async () => {
    workDir = mkdtempSync(path.join(tmpdir(), 'tool-catalog-graphiql-subscription-'));
    // A private copy of the sample catalog: the test edits it.
    catalogDir = path.join(workDir, 'catalog');
    cpSync(SAMPLE_CATALOG_DIR, catalogDir, { recursive: true });
    grepFile = path.join(catalogDir, 'linux', 'grep.yaml');
    const database = await processDatabase(workDir);
    dropDatabase = database.drop;
    server = await startServerProcess({
      ...database.env,
      CATALOG_DIR: catalogDir,
      CATALOG_WATCH: 'true',
      CATALOG_WATCH_DEBOUNCE_MS: '200',
    });
    browser = await launchChromium();
    graphiql = await newGraphiQLPage(browser, server.url);
  });

  beforeEach(({ onTestFailed }) => {
    graphiql?.resetRecords();
    onTestFailed(async () => {
      await graphiql?.screenshot(SCREENSHOT);
      // What the service did about the files, for whoever reads the failure.
      const reloads = server?.logs().filter((line) => /reload|catalog files|watcher/.test(String(line.msg)));
      console.error('service log (reloads):', JSON.stringify(reloads, null, 1));
      console.error('result pane over time:', JSON.stringify(await paneStates().catch(() => []), null, 1));
      console.error('event stream as received:', JSON.stringify(streamed));
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await dropDatabase();
    rmSync(workDir, { recursive: true, force: true });
  });

  /** A GraphQL request from the test itself (not the browser). */
  async function graphql<T = any>(query: string): Promise<T> {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query }),
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await response.json()) as { data?: T; errors?: unknown };
    expect(body.errors).toBeUndefined();
    return body.data!;
  }

  const grepVersion = async () =>
    (await graphql<{ tool: { version: string } | null }>('{ tool(name: "grep", platform: "linux") { version } }')).tool?.version;

  /** Saves grep.yaml with another version, the way an editor would (the whole file rewritten). */
  function setGrepVersion(version: string) {
    const before = readFileSync(grepFile, 'utf8');
    const after = before.replace(/^version:.*$/m, `version: "${version}"`);
    expect(after).not.toBe(before);
    writeFileSync(grepFile, after);
  }

  /**
   * Records, in the page, every distinct content the result pane renders: GraphiQL replaces the
   * pane with each event, so an event shown only briefly would be missed by polling from here.
   */
  async function recordPane() {
    await graphiql.page.evaluate(() => {
      const page = globalThis as any;
      const pane = page.document.querySelector('.graphiql-response');
      if (!pane) throw new Error('no result pane');
      const states: Array<{ at: number; text: string }> = [];
      page.__paneStates = states;
      const record = () => {
        const text = String(pane.innerText).replace(/\s+/g, ' ').trim();
        if (states[states.length - 1]?.text !== text) states.push({ at: Math.round(page.performance.now()), text });
      };
      new page.MutationObserver(record).observe(pane, { subtree: true, childList: true, characterData: true });
      record();
    });
  }

  /** What the pane has shown so far, oldest first, each with the event it showed. */
  async function paneStates(): Promise<PaneState[]> {
    const states: Array<{ at: number; text: string }> = await graphiql.page.evaluate(() => (globalThis as any).__paneStates ?? []);
    return states.map((state) => {
      let event: ShownEvent | null = null;
      try {
        event = JSON.parse(state.text)?.data?.catalogEvents ?? null;
      } catch {
        // Not (yet) a whole response.
      }
      return { ...state, event };
    });
  }

  /** The events the pane has shown, in the order it showed them. */
  const shownEvents = async () => (await paneStates()).flatMap((state) => (state.event ? [state.event] : []));

  /**
   * What reached the page on GraphiQL's event stream (read through the browser's DevTools protocol),
   * so the test knows every event GraphiQL was given, including one it replaced before painting it.
   */
  let streamed = '';
  async function recordEventStream() {
    const cdp = await graphiql.page.context().newCDPSession(graphiql.page);
    const subscriptions = new Set<string>();
    const streaming = new Set<string>();
    cdp.on('Network.requestWillBeSent', ({ requestId, request }) => {
      if (`${request.url} ${request.postData ?? ''}`.includes('catalogEvents')) subscriptions.add(requestId);
    });
    cdp.on('Network.responseReceived', ({ requestId, response }) => {
      if (!subscriptions.has(requestId) || !response.mimeType.includes('event-stream')) return;
      streaming.add(requestId);
      void cdp.send('Network.streamResourceContent', { requestId }).then(
        ({ bufferedData }) => (streamed = Buffer.from(bufferedData, 'base64').toString('utf8') + streamed),
        (error: Error) => (streamed += `\n\n(could not stream the response: ${error.message})`),
      );
    });
    cdp.on('Network.dataReceived', ({ requestId, data }) => {
      if (streaming.has(requestId) && data) streamed += Buffer.from(data, 'base64').toString('utf8');
    });
    await cdp.send('Network.enable');
  }

  /** The events on the stream so far: the `data` of each whole server-sent message. */
  function receivedEvents(): ShownEvent[] {
    const messages = streamed.split(/\r?\n\r?\n/).slice(0, -1);
    return messages.flatMap((message) => {
      const data = message
        .split(/\r?\n/)
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trim())
        .join('\n');
      const event = data ? JSON.parse(data)?.data?.catalogEvents : undefined;
      return event ? [event as ShownEvent] : [];
    });
  }

  /** Whether `shown` is `received` with some left out (and nothing added or reordered). */
  function isSubsequence(shown: ShownEvent[], received: ShownEvent[]) {
    let next = 0;
    for (const event of shown) {
      while (next < received.length && JSON.stringify(received[next]) !== JSON.stringify(event)) next += 1;
      if (next === received.length) return false;
      next += 1;
    }
    return true;
  }

  /** Polls every 100 ms, at most EVENT_TIMEOUT_MS, until `done` holds for what arrived and what the pane showed. */
  async function waitForEvents(done: (received: ShownEvent[], shown: ShownEvent[]) => boolean, what: string) {
    const deadline = Date.now() + EVENT_TIMEOUT_MS;
    for (;;) {
      const received = receivedEvents();
      const shown = await shownEvents();
      if (done(received, shown)) return { received, shown };
      if (Date.now() > deadline) {
        throw new Error(`within ${EVENT_TIMEOUT_MS} ms: not ${what}; received ${JSON.stringify(received)}, the pane showed ${JSON.stringify(shown)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  const sameEvent = (a: ShownEvent | undefined, b: ShownEvent | undefined) => a !== undefined && JSON.stringify(a) === JSON.stringify(b);

  it('shows TOOL_VERSIONED and RELOAD_FINISHED in the result pane when a catalog file is saved', async () => {
    const { page, textOf, typeQuery, typedQuery, expectCleanPage } = graphiql;
    expect(await grepVersion()).toBe('1.0.0');
    await page.goto(`${server.url}/graphql`, { waitUntil: 'load' });
    await expect.poll(async () => (await textOf('.graphiql-query-editor')).includes('query LinuxTools'), { timeout: 30_000 }).toBe(true);

    await typeQuery(TYPED);
    await expect.poll(typedQuery, { timeout: 10_000 }).toBe(IN_EDITOR);
    expect(IN_EDITOR.replace(/\s+/g, '')).toBe(SUBSCRIPTION.replace(/\s+/g, ''));
    // GraphiQL takes an edit in a moment later (run before that, it still runs the README's
    // `LinuxTools`, which is no longer there); it then puts the query in the page's address.
    await expect.poll(() => new URL(page.url()).searchParams.get('query'), { timeout: 10_000 }).toBe(IN_EDITOR);

    await recordPane();
    await recordEventStream();
    // GraphiQL sends a subscription as its own request asking for an event stream (a GET, with the
    // document in the URL, for the GraphiQL that Yoga bundles).
    const streamOpened = page.waitForResponse(
      (r) => r.url().includes('/graphql') && `${r.url()} ${r.request().postData() ?? ''}`.includes('catalogEvents'),
      { timeout: 10_000 },
    );
    // The editor's suggestion list is still open over the run button: close it first, as a user would.
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('.suggest-widget.visible').count(), { timeout: 5_000 }).toBe(0);
    const [response] = await Promise.all([streamOpened, page.locator('button.graphiql-execute-button').click()]);
    expect(response.request().headers().accept).toContain('text/event-stream');
    // The service accepted it: the event stream is open (a refusal is what the pane shows instead).
    if (response.status() !== 200) {
      const shown = await graphiql.resultContaining('"errors"').catch(() => '(nothing)');
      throw new Error(`the service refused the subscription GraphiQL sent (${response.request().method()}): HTTP ${response.status()}; the result pane shows ${shown}`);
    }
    expect(response.headers()['content-type']).toContain('text/event-stream');
    expect(await shownEvents()).toEqual([]);

    setGrepVersion('7.7.7');

    const { received, shown } = await waitForEvents(
      (received, shown) => received.some((e) => e.type === 'RELOAD_FINISHED') && sameEvent(shown.at(-1), received.at(-1)),
      'TOOL_VERSIONED for grep 7.7.7 then RELOAD_FINISHED received, and the pane showing the last',
    );
    // Only the kinds asked for: the one tool changed, then the reload's end.
    expect(received.map((e) => e.type)).toEqual(['TOOL_VERSIONED', 'RELOAD_FINISHED']);
    const [versioned, finished] = received as [ShownEvent, ShownEvent];
    expect(versioned).toMatchObject({ type: 'TOOL_VERSIONED', toolName: 'grep', version: '7.7.7' });
    expect(finished).toMatchObject({ type: 'RELOAD_FINISHED', toolName: null, version: null });
    expect(finished.revision).toBeGreaterThan(versioned.revision);
    // The pane showed those events in that order, each replacing the one before. TOOL_VERSIONED
    // is on screen only until RELOAD_FINISHED arrives, tens of milliseconds later: sometimes it
    // is replaced before it was ever painted, so the pane is only required to end on the last.
    expect(isSubsequence(shown, received), `pane ${JSON.stringify(shown)} vs stream ${JSON.stringify(received)}`).toBe(true);
    expect(shown.at(-1)).toEqual(finished);
    // The pane is left showing the last event (all of it), and the service has the new version.
    expect(JSON.parse(await graphiql.copiedResult())).toEqual({ data: { catalogEvents: finished } });
    expect(await grepVersion()).toBe('7.7.7');
    expectCleanPage();
    subscribed = true;
  });

  it('shows nothing for a broken file, which changes nothing, and goes on once it is fixed', async () => {
    expect(subscribed, 'the previous test left a live subscription in the page').toBe(true);
    expect(await grepVersion()).toBe('7.7.7');
    const receivedBefore = receivedEvents();
    const shownBefore = await shownEvents();
    const { totalCount: reloadsBefore } = (await graphql('{ reloadHistory(first: 1) { totalCount } }')).reloadHistory;

    // A broken file saved, then a good edit: a reload is all or nothing, so neither applies (and
    // whichever change the watcher notices first, the reload it runs finds the broken file).
    const brokenFile = path.join(catalogDir, 'linux', 'broken.yaml');
    writeFileSync(brokenFile, 'tool_name: broken\nversion: "1.0.0\nplatform: linux\n');
    setGrepVersion('8.8.8');

    // The service has tried: its reload history says the watcher's reload(s) failed.
    const failed = async () => {
      const { totalCount, edges } = (
        await graphql('{ reloadHistory(first: 5) { totalCount edges { node { trigger error finishedAt } } } }')
      ).reloadHistory;
      const fresh = edges.slice(0, totalCount - reloadsBefore).map((edge: any) => edge.node);
      return fresh.length > 0 && fresh.every((reload: any) => reload.finishedAt && reload.trigger === 'watch' && reload.error) ? fresh : null;
    };
    await expect.poll(failed, { timeout: EVENT_TIMEOUT_MS, interval: 100 }).toBeTruthy();
    const [latest] = (await failed())!;
    expect(latest.error).toContain('broken.yaml');
    // Time for any event the failed reload might (wrongly) have sent to reach the page.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await failed()).toBeTruthy();
    // Nothing arrived (RELOAD_FAILED is not among the kinds asked for), the pane is as it was,
    // and the service still has the version from before.
    expect(receivedEvents()).toEqual(receivedBefore);
    expect(await shownEvents()).toEqual(shownBefore);
    expect(await grepVersion()).toBe('7.7.7');

    // The subscription was live all along: fixing the directory brings the edit that waited.
    unlinkSync(brokenFile);
    const { received, shown } = await waitForEvents(
      (received, shown) => received.length > receivedBefore.length + 1 && sameEvent(shown.at(-1), received.at(-1)),
      'TOOL_VERSIONED for grep 8.8.8 then RELOAD_FINISHED received, and the pane showing the last',
    );
    expect(received.slice(receivedBefore.length)).toMatchObject([
      { type: 'TOOL_VERSIONED', toolName: 'grep', version: '8.8.8' },
      { type: 'RELOAD_FINISHED' },
    ]);
    expect(isSubsequence(shown, received)).toBe(true);
    expect(shown.at(-1)?.type).toBe('RELOAD_FINISHED');
    expect(await grepVersion()).toBe('8.8.8');
    graphiql.expectCleanPage();
  });
});
