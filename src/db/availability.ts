import { GraphQLError } from 'graphql';

/**
 * The one error a client sees when the database cannot answer: refused, timed out, pool exhausted,
 * shutting down, or the service not ready yet. Code `SERVICE_UNAVAILABLE`; over HTTP it becomes a 503
 * with `Retry-After` when no data could be produced (see useServiceAvailability), and stays in
 * `errors` of a 200 when part of the answer was produced.
 */
export const SERVICE_UNAVAILABLE = 'SERVICE_UNAVAILABLE';

/** Seconds a client is told to wait before trying again. */
export const RETRY_AFTER_SECONDS = 5;

export class ServiceUnavailableError extends GraphQLError {
  constructor(reason: 'database' | 'starting' | 'stopping' = 'database', message?: string) {
    super(message ?? MESSAGES[reason], {
      extensions: { code: SERVICE_UNAVAILABLE, reason, retryAfterSeconds: RETRY_AFTER_SECONDS },
    });
    this.name = 'ServiceUnavailableError';
  }
}

const MESSAGES = {
  database: 'the database is unavailable; try again shortly',
  starting: 'the service is starting (migrations and catalog not loaded yet); try again shortly',
  stopping: 'the service is shutting down; try again shortly',
} as const;

/** A wait that reached its deadline (`withDeadline`). */
export class DeadlineExceededError extends Error {
  override name = 'DeadlineExceededError';
  constructor(readonly what: string, readonly ms: number) {
    super(`${what}: no answer within ${ms} ms`);
  }
}

/**
 * Settles with `work`, or rejects with DeadlineExceededError after `ms`. The work itself goes on
 * (its own driver timeouts end it); the caller stops waiting for it.
 */
export function withDeadline<T>(work: Promise<T>, ms: number, what = 'database'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceededError(what, ms)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** Prisma error codes that mean "the database did not answer", not "the request was wrong". */
const PRISMA_UNAVAILABLE = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2028', 'P2037']);
/** node-postgres and socket failures, raw or as the driver adapter's kinds. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
const ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
/** SQLSTATEs: connection exceptions (08), shutdown/crash/starting (57P0x), query cancelled by statement_timeout, too many connections. */
const SQLSTATE = /^(08\d{3}|57P0[1-4]|57014|53300)$/;
const PG_MESSAGES =
  /^(Query read timeout|Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Cannot use a pool after calling end|Client was closed and is not queryable)/;

/** True when `error` (or anything in its cause chain) says the database could not be reached in time. */
export function isDatabaseUnavailable(error: unknown): boolean {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current && typeof current === 'object' && !seen.has(current)) {
    seen.add(current);
    const candidate = current as { name?: string; code?: unknown; kind?: unknown; message?: unknown; cause?: unknown; meta?: { driverAdapterError?: unknown } };
    if (current instanceof DeadlineExceededError || current instanceof ServiceUnavailableError) return true;
    if (candidate.name === 'PrismaClientInitializationError') return true;
    if (typeof candidate.code === 'string') {
      if (candidate.name === 'PrismaClientKnownRequestError' && PRISMA_UNAVAILABLE.has(candidate.code)) return true;
      if (SOCKET_CODES.has(candidate.code) || SQLSTATE.test(candidate.code)) return true;
    }
    if (typeof candidate.kind === 'string') {
      if (ADAPTER_KINDS.has(candidate.kind)) return true;
      if (candidate.kind === 'postgres' && typeof (candidate as { code?: unknown }).code === 'string' && SQLSTATE.test((candidate as { code: string }).code)) return true;
    }
    if (typeof candidate.message === 'string' && PG_MESSAGES.test(candidate.message)) return true;
    current = candidate.cause ?? candidate.meta?.driverAdapterError;
  }
  return false;
}
