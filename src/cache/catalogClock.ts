/**
 * The catalog generation this instance serves. Every cached entry is stamped with the generation
 * current when its read began; any change to the catalog advances it, so an entry read before the
 * change can never be served after it. One number for all caches: exact, and cheap to check.
 */
export class CatalogClock {
  #generation = 0;
  readonly #listeners = new Set<(generation: number) => void>();

  get generation(): number {
    return this.#generation;
  }

  /** Call after a change is committed (never before: a read between would cache the old state anew). */
  advance(): number {
    this.#generation += 1;
    for (const listener of this.#listeners) listener(this.#generation);
    return this.#generation;
  }

  onAdvance(listener: (generation: number) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
