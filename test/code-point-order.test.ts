import { describe, expect, it } from 'vitest';
import { compareCodePoints } from '../src/memoryCatalog/snapshot.js';

/** The order the README's rule names: by code point, as spreading a string into characters gives them. */
function byCodePoint(a: string, b: string): number {
  const left = [...a].map((c) => c.codePointAt(0)!);
  const right = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(left.length, right.length); i++) if (left[i] !== right[i]) return left[i]! < right[i]! ? -1 : 1;
  return Math.sign(left.length - right.length);
}

describe('compareCodePoints', () => {
  it('orders characters above U+FFFF after U+E000–U+FFFF, where UTF-16 units would not', () => {
    // '\u{1F600}' is stored as the surrogates D83D DE00, which sort before U+FFFD unit by unit.
    expect(['\u{1F600}', '\uFFFD', 'z'].sort(compareCodePoints)).toEqual(['z', '\uFFFD', '\u{1F600}']);
    expect(compareCodePoints('a\u{10000}', 'a\uE000')).toBe(1);
    expect(compareCodePoints('ab', 'abc')).toBe(-1);
    expect(compareCodePoints('tool', 'tool')).toBe(0);
  });

  it('agrees with a character-by-character comparison over mixed strings', () => {
    const alphabet = ['a', 'B', 'z', 'é', '\uD7FF', '\uE000', '\uFFFF', '\u{10000}', '\u{1F600}', '-', '_'];
    let seed = 7;
    const next = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    const word = () => Array.from({ length: Math.floor(next() * 5) }, () => alphabet[Math.floor(next() * alphabet.length)]).join('');
    for (let i = 0; i < 20_000; i++) {
      const a = word();
      const b = word();
      expect(Math.sign(compareCodePoints(a, b)), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).toBe(byCodePoint(a, b));
    }
  });
});
