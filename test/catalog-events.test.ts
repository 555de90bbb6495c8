import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createApiKey } from '../src/auth/keys.js';
import { CatalogClock } from '../src/cache/catalogClock.js';
import { CatalogEventFeed } from '../src/events/catalogEventFeed.js';
import { appendEvents, headRevision, pruneEvents } from '../src/events/eventLog.js';
import { startTestService, type TestService } from './support/service.js';
import { listenOnLoopback, subscribeSse, subscribeWs, type Listening } from './support/subscriptions.js';

const QUEUE_LIMIT = 1_000;
let service: TestService;
let listening: Listening;
let editor: Record<string, string>;

beforeAll(async () => {
  service = await startTestService({ subscriptions: { queueLimit: QUEUE_LIMIT, wsInitTimeoutMs: 400, wsKeepAliveMs: 12_000, eventRetentionMs: 86_400_000 } });
  listening = await listenOnLoopback(service.app, { initTimeoutMs: 400 });
  editor = { authorization: `Bearer ${await createApiKey(service.db.prisma, 'events-editor', 'editor')}` };
});
afterAll(async () => {
  await listening?.close();
  await service?.close();
});

const EVENTS = `subscription ($since: Int, $types: [CatalogEventType!]) {
  catalogEvents(since: $since, types: $types) { revision type toolName platform version actor trigger tool { name version enabled } reload { trigger error } details }
}`;

const revisionOf = async (name: string) =>
  (await service.db.prisma.tool.findFirstOrThrow({ where: { name, platform: 'linux', isLatest: true }, select: { revision: true } })).revision;

async function setEnabled(name: string, enabled: boolean) {
  const response = await service.graphql(
    `mutation ($name: String!, $enabled: Boolean!, $revision: Int!) { setToolEnabled(name: $name, platform: "linux", enabled: $enabled, revision: $revision) { __typename } }`,
    { name, enabled, revision: await revisionOf(name) },
    editor,
  );
  expect(response.data?.setToolEnabled).toEqual({ __typename: 'Tool' });
}

const head = async () => Number((await service.db.prisma.catalogEvent.findFirst({ orderBy: { revision: 'desc' } }))?.revision ?? 0);
const gauge = async (transport: string) => {
  const metric = await service.app.registry.getSingleMetric('tool_catalog_event_subscriptions')!.get();
  return metric.values.find((v) => v.labels.transport === transport)?.value ?? 0;
};
async function eventually(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('catalogEvents', () => {
  it('delivers a change over server-sent events, with the tool as it is now', async () => {
    // As an editor: actors (key names) are shown to editors and above only.
    const sse = await subscribeSse(listening.url, EVENTS, { types: ['TOOL_DISABLED', 'TOOL_ENABLED'] }, editor);
    await eventually(async () => (await gauge('http')) === 1, 'the SSE subscription to register');
    await setEnabled('grep', false);
    const event = await sse.next();
    expect(event.catalogEvents).toMatchObject({
      type: 'TOOL_DISABLED',
      toolName: 'grep',
      platform: 'linux',
      actor: 'events-editor',
      trigger: 'graphql',
      tool: { name: 'grep', enabled: false },
    });
    expect(event.catalogEvents.revision).toBe(await head());
    await setEnabled('grep', true);
    expect((await sse.next()).catalogEvents).toMatchObject({ type: 'TOOL_ENABLED', tool: { enabled: true } });
    sse.close();
    await eventually(async () => (await gauge('http')) === 0, 'the SSE gauge to return to zero');
  });

  it('delivers reload events over WebSocket (graphql-ws), in commit order', async () => {
    const ws = subscribeWs(listening.wsUrl, EVENTS, { types: ['RELOAD_STARTED', 'RELOAD_FINISHED', 'RELOAD_FAILED'] });
    await eventually(async () => (await gauge('websocket')) === 1, 'the WebSocket subscription to register');
    const reloaded = await service.graphql('mutation { reloadCatalog(source: DATABASE, reason: "events test") { reload { id } } }', {}, editor);
    expect(reloaded.errors).toBeUndefined();
    const started = (await ws.next()).catalogEvents;
    const finished = (await ws.next()).catalogEvents;
    expect(started).toMatchObject({ type: 'RELOAD_STARTED', trigger: 'graphql', reload: { trigger: 'graphql' } });
    expect(finished).toMatchObject({ type: 'RELOAD_FINISHED', reload: { trigger: 'graphql', error: null }, details: { reloadId: reloaded.data!.reloadCatalog.reload.id } });
    expect(finished.revision).toBeGreaterThan(started.revision);
    ws.close();
    await eventually(async () => (await gauge('websocket')) === 0, 'the WebSocket gauge to return to zero');
  });

  it('refuses a since above the current revision with REVISION_AHEAD and the head, never waiting silently', async () => {
    const current = await head();
    const sse = await subscribeSse(listening.url, EVENTS, { since: current + 1000 });
    const ended = (await sse.ended) as { errors: Array<{ message: string; extensions: { code: string; head: number } }> };
    expect(ended.errors[0]!.extensions).toEqual({ code: 'REVISION_AHEAD', head: current });
    // At the head itself: accepted (nothing to replay yet), and live events follow.
    const atHead = await subscribeSse(listening.url, EVENTS, { since: current });
    await setEnabled('df', false);
    expect((await atHead.next()).catalogEvents.type).toBe('TOOL_DISABLED');
    atHead.close();
    await setEnabled('df', true);
  });

  it('replays what a reconnecting client missed, then goes live, with none missed or repeated', async () => {
    const since = await head();
    await setEnabled('df', false);
    await setEnabled('df', true);
    const sse = await subscribeSse(listening.url, EVENTS, { since });
    // Changes keep coming while the replay runs.
    const writer = (async () => {
      for (let i = 0; i < 6; i += 1) await setEnabled('ps', i % 2 === 1);
    })();
    await writer;
    const expected = (await service.db.prisma.catalogEvent.findMany({ where: { revision: { gt: since } }, orderBy: { revision: 'asc' } })).map((e) => Number(e.revision));
    expect(expected).toHaveLength(8);
    const received: number[] = [];
    for (let i = 0; i < expected.length; i += 1) received.push((await sse.next()).catalogEvents.revision);
    expect(received).toEqual(expected);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(sse.buffered).toEqual([]);
    sse.close();
  });

  it('tells a client whose events were pruned, then sends what is left', async () => {
    const before = await head();
    await setEnabled('find', false);
    await setEnabled('find', true);
    const pruned = await pruneEvents(service.db.prisma, new Date(Date.now() + 60_000));
    expect(pruned).toBeGreaterThan(0);
    const ws = subscribeWs(listening.wsUrl, EVENTS, { since: before });
    const first = (await ws.next()).catalogEvents;
    expect(first.type).toBe('REPLAY_TRUNCATED');
    // The newest event is always kept: it is the catalog revision.
    expect(first.revision).toBe((await head()) - 1);
    expect((await ws.next()).catalogEvents).toMatchObject({ type: 'TOOL_ENABLED', toolName: 'find', revision: await head() });
    ws.close();
  });

  it('rejects a negative `since` as bad input', async () => {
    const ws = subscribeWs(listening.wsUrl, EVENTS, { since: -1 });
    const error = (await ws.ended) as { errors?: Array<{ message: string }> } | Array<{ message: string }>;
    expect(JSON.stringify(error)).toContain('since');
  });

  it('reads the log once per change, however many subscribe', async () => {
    const reads = async () => (await service.app.registry.getSingleMetric('tool_catalog_event_log_reads_total')!.get()).values[0]!.value;
    const subscribers = Array.from({ length: 40 }, (_, i) =>
      i % 2 ? subscribeWs(listening.wsUrl, EVENTS, { types: ['TOOL_DISABLED'] }) : null,
    ).filter((s) => s !== null);
    const sse = await Promise.all(Array.from({ length: 20 }, () => subscribeSse(listening.url, EVENTS, { types: ['TOOL_DISABLED'] })));
    await eventually(async () => (await gauge('websocket')) === 20 && (await gauge('http')) === 20, '40 subscriptions');
    try {
      const before = await reads();
      await setEnabled('ss', false);
      const delivered = await Promise.all([...subscribers, ...sse].map((s) => s.next()));
      expect(new Set(delivered.map((d) => d.catalogEvents.revision)).size).toBe(1);
      expect(await reads()).toBe(before + 1);
    } finally {
      for (const s of [...subscribers, ...sse]) s.close();
    }
    await setEnabled('ss', true);
    await eventually(async () => (await gauge('websocket')) === 0 && (await gauge('http')) === 0, 'all gauges back to zero');
  });

  it('drops a subscriber that stops reading, and the others get every event', async () => {
    const dropped = async () => (await service.app.registry.getSingleMetric('tool_catalog_event_subscribers_dropped_total')!.get()).values[0]?.value ?? 0;
    const droppedBefore = await dropped();
    // A raw WebSocket that subscribes and then never reads from its socket again.
    const stuck = new WebSocket(listening.wsUrl, 'graphql-transport-ws');
    await new Promise<void>((resolve, reject) => {
      stuck.once('open', () => stuck.send(JSON.stringify({ type: 'connection_init' })));
      stuck.once('message', () => {
        stuck.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: EVENTS, variables: { types: ['TOOL_CREATED'] } } }));
        resolve();
      });
      stuck.once('error', reject);
    });
    const healthy = subscribeWs(listening.wsUrl, 'subscription { catalogEvents(types: [TOOL_CREATED]) { revision } }');
    await eventually(async () => (await gauge('websocket')) === 2, 'two WebSocket subscriptions');
    (stuck as unknown as { _socket: net.Socket })._socket.pause();
    // Enough bulky events to fill the stuck client's socket buffers and then its queue, in bursts
    // the healthy client (in this same process) can keep up with.
    const big = 'x'.repeat(8_000);
    const bursts = 6;
    const perBurst = 800;
    let received = 0;
    for (let burst = 0; burst < bursts; burst += 1) {
      await service.db.prisma.$transaction(
        (tx) =>
          appendEvents(tx, Array.from({ length: perBurst }, (_, i) => ({ type: 'TOOL_CREATED', toolName: `bulk-${burst}-${i}`, platform: 'linux', payload: { big } })), 'test'),
        { timeout: 60_000 },
      );
      service.app.clock.advance();
      for (let i = 0; i < perBurst; i += 1) {
        await healthy.next(30_000);
        received += 1;
      }
    }
    expect(received).toBe(bursts * perBurst);
    await eventually(async () => (await dropped()) === droppedBefore + 1, 'the stuck subscriber to be dropped', 30_000);
    expect(await gauge('websocket')).toBe(1);
    // The server closed its connection: once the client reads what was already sent, it ends.
    const closed = new Promise<void>((resolve) => stuck.once('close', () => resolve()));
    (stuck as unknown as { _socket: net.Socket })._socket.resume();
    await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error('the stuck WebSocket was never closed')), 30_000))]);
    stuck.terminate();
    healthy.close();
    await eventually(async () => (await gauge('websocket')) === 0, 'the gauge back to zero');
    await service.db.prisma.catalogEvent.deleteMany({ where: { toolName: { startsWith: 'bulk-' } } });
  }, 120_000);

  it('drops an SSE subscriber whose client stops reading', async () => {
    const dropped = async () => (await service.app.registry.getSingleMetric('tool_catalog_event_subscribers_dropped_total')!.get()).values[0]?.value ?? 0;
    const droppedBefore = await dropped();
    const { port } = new URL(listening.url);
    const body = JSON.stringify({ query: 'subscription { catalogEvents(types: [TOOL_CREATED]) { revision toolName details } }' });
    // A raw HTTP client that sends the request, reads the headers, then never reads again.
    const stuck = net.connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      stuck.once('connect', () => {
        stuck.write(
          `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        );
        stuck.once('data', () => {
          stuck.pause();
          resolve();
        });
      });
      stuck.once('error', reject);
    });
    await eventually(async () => (await gauge('http')) === 1, 'the stuck SSE subscription');
    const connections = () => new Promise<number>((resolve, reject) => listening.server.getConnections((error, count) => (error ? reject(error) : resolve(count))));
    const openBefore = await connections();
    const big = 'y'.repeat(8_000);
    for (let burst = 0; burst < 6 && (await dropped()) === droppedBefore; burst += 1) {
      await service.db.prisma.$transaction(
        (tx) => appendEvents(tx, Array.from({ length: 800 }, (_, i) => ({ type: 'TOOL_CREATED', toolName: `sse-bulk-${burst}-${i}`, platform: 'linux', payload: { big } })), 'test'),
        { timeout: 60_000 },
      );
      service.app.clock.advance();
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await eventually(async () => (await dropped()) === droppedBefore + 1, 'the stuck SSE subscriber to be dropped', 30_000);
    expect(await gauge('http')).toBe(0);
    // Closed by the server at once, while its client is still not reading.
    await eventually(async () => (await connections()) < openBefore, 'the server to close the stuck connection', 10_000);
    // The server closed the connection: once the client reads what was already sent, it ends.
    const ended = new Promise<void>((resolve) => stuck.once('close', () => resolve()));
    stuck.on('data', () => {});
    stuck.resume();
    await Promise.race([ended, new Promise((_, reject) => setTimeout(() => reject(new Error('the stuck SSE connection was never closed')), 30_000))]);
    stuck.destroy();
    await service.db.prisma.catalogEvent.deleteMany({ where: { toolName: { startsWith: 'sse-bulk-' } } });
  }, 120_000);

  it('closes a WebSocket that never sends connection_init', async () => {
    const idle = new WebSocket(listening.wsUrl, 'graphql-transport-ws');
    const started = Date.now();
    const code = await new Promise<number>((resolve) => idle.once('close', (closeCode) => resolve(closeCode)));
    expect(code).toBe(4408);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });
});

describe('the event feed', () => {
  it('replays, catches up after its queue overflowed mid-replay, then goes live: every event once, in order', async () => {
    const clock = new CatalogClock();
    const feed = new CatalogEventFeed(service.db.prisma, { clock, queueLimit: 10, pageSize: 10 });
    const append = (from: number, count: number) =>
      service.db.prisma.$transaction((tx) =>
        appendEvents(tx, Array.from({ length: count }, (_, i) => ({ type: 'TOOL_ENABLED', toolName: `feed-${from + i}`, platform: 'linux' })), 'test'),
      );
    try {
      const since = await headRevision(service.db.prisma);
      await append(1, 30);
      const events = feed.subscribe({ since, types: ['TOOL_ENABLED'] });
      const names: string[] = [];
      const take = async () => {
        const next = await Promise.race([events.next(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no event after ${names.join(',')}`)), 5_000))]);
        names.push((next.value as { toolName: string }).toolName);
      };
      await take(); // joined, replaying the first page
      // 25 more arrive while this subscriber is still replaying: more than its queue holds.
      await append(31, 25);
      clock.advance();
      await new Promise((resolve) => setTimeout(resolve, 300));
      while (names.length < 55) await take();
      await append(56, 1);
      clock.advance();
      await take();
      expect(names).toEqual(Array.from({ length: 56 }, (_, i) => `feed-${i + 1}`));
      const extra = await Promise.race([events.next().then(() => 'more'), new Promise((resolve) => setTimeout(() => resolve('none'), 300))]);
      expect(extra).toBe('none');
      await events.return?.();
    } finally {
      feed.stop();
      await service.db.prisma.catalogEvent.deleteMany({ where: { toolName: { startsWith: 'feed-' } } });
    }
  });
});

describe('catalogEvents with reads that need a key', () => {
  let locked: TestService;
  let lockedListening: Listening;
  beforeAll(async () => {
    locked = await startTestService({ readsRequireKey: true });
    lockedListening = await listenOnLoopback(locked.app);
  });
  afterAll(async () => {
    await lockedListening?.close();
    await locked?.close();
  });

  it('refuses a WebSocket subscriber without a key and serves one with a key in connectionParams', async () => {
    const anonymous = subscribeWs(lockedListening.wsUrl, 'subscription { catalogEvents { revision } }');
    expect(JSON.stringify(await anonymous.ended)).toMatch(/API key|UNAUTHENTICATED/);
    const reader = await createApiKey(locked.db.prisma, 'events-reader', 'reader');
    const keyed = subscribeWs(lockedListening.wsUrl, 'subscription { catalogEvents { revision type } }', {}, { authorization: `Bearer ${reader}` });
    await eventually(async () => {
      const metric = await locked.app.registry.getSingleMetric('tool_catalog_event_subscriptions')!.get();
      return metric.values.some((v) => v.labels.transport === 'websocket' && v.value === 1);
    }, 'the keyed subscription');
    const reloaded = await locked.graphql('mutation { reloadCatalog(source: DATABASE) { reload { id } } }', {}, { authorization: `Bearer ${await createApiKey(locked.db.prisma, 'e2', 'editor')}` });
    expect(reloaded.errors).toBeUndefined();
    expect((await keyed.next()).catalogEvents.type).toBe('RELOAD_STARTED');
    keyed.close();
  });
});
