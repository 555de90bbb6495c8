import type { IncomingMessage } from 'node:http';

/**
 * A POST of JSON whose declared length is within `maxBytes`: the bodies the front door reads. Its
 * declared length, or null for any other request (one without a length goes to Yoga, which counts it).
 */
export function smallJsonPost(req: IncomingMessage, maxBytes: number): number | null {
  if (req.method !== 'POST' || !String(req.headers['content-type'] ?? '').startsWith('application/json')) return null;
  const declared = Number(req.headers['content-length'] ?? NaN);
  return Number.isFinite(declared) && declared <= maxBytes ? declared : null;
}

/**
 * Reads a request body of at most `limit` bytes; undefined past it. Past the limit the rest is either
 * read and dropped (`drain`: the caller answers 413 on the same connection) or the connection is
 * closed (`close`: for a body whose declared length was already within the limit, so only a client
 * that lied about it gets there).
 */
export function readBody(req: IncomingMessage, limit: number, past: 'drain' | 'close'): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      resolve(undefined);
      if (past === 'close') req.destroy();
      else req.resume();
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Decodes a request body as UTF-8, or null when it is not valid UTF-8 (never U+FFFD substitutes). */
export function decodeUtf8Body(bytes: Uint8Array): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return null;
  }
}

export const INVALID_UTF8_MESSAGE = 'the request body is not valid UTF-8';

/** The 400 answer for a body that cannot be decoded: a typed error, nothing stored. */
export function invalidUtf8Body(): { status: 400; body: string } {
  return { status: 400, body: JSON.stringify({ errors: [{ message: INVALID_UTF8_MESSAGE, extensions: { code: 'INVALID_UTF8' } }] }) };
}
