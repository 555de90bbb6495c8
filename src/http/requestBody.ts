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
