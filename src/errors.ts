import { PothosValidationError } from '@pothos/core';
import { GraphQLError } from 'graphql';
import { createGraphQLError, maskError as yogaMaskError, type YogaMaskedErrorOpts } from 'graphql-yoga';

/**
 * Error tiers. Bad arguments (Pothos validation, explicit BAD_USER_INPUT) keep their message and get
 * the BAD_USER_INPUT code; errors the code raised on purpose as GraphQLError keep theirs; anything
 * else (Prisma, SQL, bugs) is masked to "Unexpected error." with no stack or detail.
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
  return yogaMaskError(error, message, isDev);
};
