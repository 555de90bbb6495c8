import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * Runs a full garbage collection now, when the process is between tasks and nobody waits on it.
 *
 * Start-up (migrations, seeding, loading and compiling the catalog) leaves about 70 MB of garbage
 * in the old generation, and V8 keeps the pages it grew to for it: with a heap limit of several GB
 * it sets the next collection at about four times what the last one kept, and its memory reducer
 * only looks after several seconds of idleness. One collection before the service reports ready
 * gives those pages back (RSS at ready from about 275 to 230 MB; README, "Memory") and costs
 * about 0.2 s of start-up.
 *
 * `gc` is V8's, exposed to a fresh context only (`--expose-gc` set at run time, as Node's `v8`
 * module allows): the service's own global scope gets no `gc`. Returns false where it cannot run.
 * `passes: 1` for a collection while serving (the RSS soft limit), where the pages are reused soon.
 */
export function collectGarbage(passes: 1 | 2 = 2): boolean {
  const gc = exposedGc();
  if (!gc) return false;
  // Twice by default: the first collection frees the garbage; pages it emptied are given back to
  // the system by the next one (measured: one collection left RSS at ready about 40 MB higher).
  for (let pass = 0; pass < passes; pass++) gc();
  return true;
}

let cachedGc: (() => void) | null | undefined;

/** V8's `gc`, made once: each fresh context costs about a megabyte and a millisecond. */
function exposedGc(): (() => void) | null {
  if (cachedGc !== undefined) return cachedGc;
  let gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as (() => void) | undefined;
    // Only that one context gets it: contexts made later (vm, workers) do not.
    v8.setFlagsFromString('--no-expose-gc');
  }
  cachedGc = typeof gc === 'function' ? gc : null;
  return cachedGc;
}
