import { PothosValidationError } from '@pothos/core';
import { GraphQLError } from 'graphql';
import { createGraphQLError, maskError as yogaMaskError, type YogaMaskedErrorOpts } from 'graphql-yoga';
import { isDatabaseUnavailable, ServiceUnavailableError } from './db/availability.js';

/**
 * Error tiers. Bad arguments (Pothos validation, explicit BAD_USER_INPUT) keep their message and get
 * the BAD_USER_INPUT code; errors the code raised on purpose as GraphQLError keep theirs; anything
 * else (Prisma, SQL, bugs) is masked to "Unexpected error." with no stack or detail — except a
 * database that could not be reached in time (refused, timed out, pool exhausted, shutting down),
 * which is the typed SERVICE_UNAVAILABLE a client can act on (retry later), never driver text.
 */
export const maskError: YogaMaskedErrorOpts['maskError'] = (error, message, isDev) => {
  const original = error instanceof GraphQLError ? error.originalError : error;
  if (original instanceof PothosValidationError) {
    const located = error as GraphQLError;
    return createGraphQLError(original.message, {
      nodes: located.nodes,
      path: located.path,
      extensions: { code: 'BAD_USER_INPUT' },
    });
  }
  if (!(original instanceof ServiceUnavailableError) && !(original instanceof GraphQLError) && isDatabaseUnavailable(original)) {
    const located = error as GraphQLError;
    const typed = new ServiceUnavailableError('database');
    return createGraphQLError(typed.message, { nodes: located.nodes, path: located.path, extensions: typed.extensions });
  }
  return yogaMaskError(error, message, isDev);
};
