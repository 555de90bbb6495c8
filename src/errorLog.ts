import { PothosValidationError } from '@pothos/core';
import { GraphQLError } from 'graphql';
import { isDatabaseUnavailable } from './db/availability.js';
import type { Logger } from './logger.js';

/** How long a repeated error is held back before it is logged again, with how often it recurred. */
const REPEAT_INTERVAL_MS = 10_000;

/**
 * What Yoga reports as an error, logged the way an operator can read it: a client's mistake (a typed
 * refusal, a bad argument) at info without a stack; an unreachable database at warn, without a stack;
 * anything else at error with its one stack. The same message again within REPEAT_INTERVAL_MS is
 * counted rather than logged, and the next line says how many were held back, so an outage gives a
 * few lines rather than thousands.
 */
export function createErrorLogger(log: Logger, now: () => number = Date.now) {
  const recent = new Map<string, { until: number; held: number }>();
  const throttled = (key: string, write: (repeated: number | undefined) => void) => {
    const at = now();
    const entry = recent.get(key);
    if (entry && entry.until > at) {
      entry.held += 1;
      return;
    }
    write(entry?.held || undefined);
    if (recent.size > 1_000) recent.clear();
    recent.set(key, { until: at + REPEAT_INTERVAL_MS, held: 0 });
  };
  return (error: unknown) => {
    const original = error instanceof GraphQLError && error.originalError ? error.originalError : error;
    const code = error instanceof GraphQLError ? (error.extensions?.code as string | undefined) : undefined;
    const message = original instanceof Error ? original.message : String(original);
    if (original instanceof PothosValidationError || (original instanceof GraphQLError && code && code !== 'INTERNAL_SERVER_ERROR')) {
      log.info({ code: code ?? 'BAD_USER_INPUT', error: message }, 'request refused');
      return;
    }
    if (isDatabaseUnavailable(original)) {
      throttled(`unavailable:${message}`, (repeated) => log.warn({ code: 'SERVICE_UNAVAILABLE', error: message, repeated }, 'database unavailable'));
      return;
    }
    throttled(`error:${message}`, (repeated) => log.error({ err: original, repeated }, 'unexpected error'));
  };
}
