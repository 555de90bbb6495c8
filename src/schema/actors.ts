import path from 'node:path';
import { hasRole } from '../auth/caller.js';
import type { Context } from '../context.js';

/** What callers below editor see instead of a key name. */
export const HIDDEN_ACTOR = 'hidden';

/**
 * Who made a change is a key name (or a process): shown to editors and admins, who manage keys
 * and changes; anonymous callers and readers see `hidden`, so key names do not leak to anyone
 * who can read the catalog.
 */
export function visibleActor<T extends string | null>(ctx: Context, actor: T): T | typeof HIDDEN_ACTOR {
  if (actor === null) return actor;
  return hasRole(ctx.caller, 'editor') ? actor : HIDDEN_ACTOR;
}

/** A reload's source as shown to anyone: `database`, or the catalog directory's name, never its path on the server. */
export function visibleSource(source: string): string {
  return source === 'database' ? source : path.basename(source.replace(/[\\/]+$/, '')) || source;
}
