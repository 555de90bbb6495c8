import { describe, expect, it } from 'vitest';
import { collectGarbage } from '../src/heap/collectGarbage.js';

describe('collectGarbage (the collection before ready)', () => {
  it('runs a full collection without --expose-gc, and leaves no gc in the global scope', async () => {
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
    let garbage: object | undefined = { payload: new Array(1000).fill('x') };
    const ref = new WeakRef(garbage);
    garbage = undefined;
    // A WeakRef's target is kept until the end of the job that made it: collect in a later one.
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(collectGarbage()).toBe(true);
    expect(ref.deref()).toBeUndefined();
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
    // Nor do contexts made afterwards.
    const { runInNewContext } = await import('node:vm');
    expect(runInNewContext('typeof gc')).toBe('undefined');
  });
});
