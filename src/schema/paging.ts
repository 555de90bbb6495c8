import { PothosValidationError } from '@pothos/core';

/** Largest page any connection serves; asking for more is an error, not a silent clamp. */
export const MAX_PAGE_SIZE = 200;
export const DEFAULT_PAGE_SIZE = 20;

/** Cursors are the Prisma plugin's encoding of the cursor column: base64("GPC:<tag>:<value>"). */
const CURSOR_FORMS = {
  uuid: /^GPC:S:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  bigint: /^GPC:I:\d{1,19}$/,
} as const;

interface PageArgs {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
}

/**
 * Connection argument checks: a bad value is a BAD_USER_INPUT error naming the argument instead of
 * a silent clamp (page size) or a database error (cursor). The Prisma plugin calls `maxSize` with
 * the arguments before it plans the query, so the checks run there.
 */
export function checkedMaxPageSize(args: PageArgs, cursor: keyof typeof CURSOR_FORMS) {
  for (const name of ['first', 'last'] as const) {
    const value = args[name];
    if (value != null && value > MAX_PAGE_SIZE) {
      throw new PothosValidationError(`Argument "${name}" must be at most ${MAX_PAGE_SIZE}, got ${value}`);
    }
  }
  for (const name of ['after', 'before'] as const) {
    const value = args[name];
    if (value != null && !CURSOR_FORMS[cursor].test(Buffer.from(value, 'base64').toString('utf8'))) {
      throw new PothosValidationError(`Argument "${name}" is not a valid cursor`);
    }
  }
  return MAX_PAGE_SIZE;
}
