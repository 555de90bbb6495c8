import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { startTestService, type TestService } from './support/service.js';
import { listenOnLoopback, type Listening } from './support/subscriptions.js';

/**
 * graphql-ws' own `use/ws` adapter prints socket failures with console.error and says nothing about a
 * client's malformed message; the service logs both through pino as JSON, and nothing on the console.
 */
let service: TestService;
let listening: Listening;
const lines: Array<Record<string, any>> = [];

beforeAll(async () => {
  service = await startTestService();
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  listening = await listenOnLoopback(service.app, { log });
});
afterAll(async () => {
  await listening?.close();
  await service?.close();
});
afterEach(() => vi.restoreAllMocks());

function consoleSpies() {
  return (['error', 'warn', 'log', 'info', 'debug'] as const).map((method) => vi.spyOn(console, method).mockImplementation(() => {}));
}

/** Opens a graphql-ws connection, runs `send`, and resolves with the close code (bounded). */
function closeCodeAfter(send: (socket: WebSocket) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(listening.wsUrl, 'graphql-transport-ws');
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error('the server did not close the connection within 5 s'));
    }, 5_000);
    socket.on('open', () => send(socket));
    socket.on('error', () => {});
    socket.on('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

async function eventually(check: () => boolean, what: string) {
  const until = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('graphql-ws protocol errors', () => {
  it('a malformed protocol message closes with 4400 and is logged as one pino JSON line at info, nothing on the console', async () => {
    const spies = consoleSpies();
    const before = lines.length;
    expect(await closeCodeAfter((socket) => socket.send('{"type": this is not json'))).toBe(4400);
    await eventually(() => lines.length > before, 'the protocol error to be logged');
    const logged = lines.slice(before);
    expect(logged).toContainEqual(expect.objectContaining({ level: 30, ws: expect.objectContaining({ code: 4400, reason: 'Invalid message received' }) }));
    for (const spy of spies) expect(spy).not.toHaveBeenCalled();
  });

  it('an oversized message (a socket error in ws) is logged through pino, nothing on the console', async () => {
    const spies = consoleSpies();
    const before = lines.length;
    const code = await closeCodeAfter((socket) => socket.send('x'.repeat(1024 * 1024 + 1)));
    expect(code).toBe(1009);
    await eventually(() => lines.some((line, i) => i >= before && /Max payload size exceeded/.test(String(line.msg))), 'the socket error to be logged');
    expect(lines.slice(before).every((line) => line.level === 30 && !('stack' in line))).toBe(true);
    for (const spy of spies) expect(spy).not.toHaveBeenCalled();
  });
});
