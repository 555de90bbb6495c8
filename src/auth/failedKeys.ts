import { GraphQLError } from 'graphql';
import { LRUCache } from 'lru-cache';

const WINDOW_MS = 60_000;

/**
 * Counts failed key attempts per client address in one-minute windows; over the limit, the address
 * is refused with 429 RATE_LIMITED and Retry-After until its window ends, whatever key it sends, so
 * keys cannot be guessed at speed. Bounded: the least recently seen addresses are forgotten first.
 */
export class FailedKeyLimiter {
  readonly #windows = new LRUCache<string, { failures: number; resetAt: number }>({ max: 100_000, ttl: WINDOW_MS });

  constructor(readonly perMinute: number, private readonly now: () => number = Date.now) {}

  /** Throws RATE_LIMITED when `address` used up its failed attempts for this window. */
  check(address: string | null): void {
    const window = this.#windows.get(address ?? 'unknown');
    if (!window || window.failures < this.perMinute) return;
    const retryAfter = Math.max(1, Math.ceil((window.resetAt - this.now()) / 1000));
    throw new GraphQLError(`too many failed API key attempts from this address; try again in ${retryAfter} s`, {
      extensions: { code: 'RATE_LIMITED', retryAfterSeconds: retryAfter, http: { status: 429, headers: { 'Retry-After': String(retryAfter) } } },
    });
  }

  recordFailure(address: string | null): void {
    const key = address ?? 'unknown';
    const now = this.now();
    const window = this.#windows.get(key);
    if (!window || window.resetAt <= now) this.#windows.set(key, { failures: 1, resetAt: now + WINDOW_MS });
    else window.failures += 1;
  }
}
