import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../context.js';
import type { PrismaClient } from '../generated/prisma/client.js';
import { createLoaders } from '../loaders.js';

export interface ReadSnapshotOptions {
  /** How long a query may wait to begin its transaction (for a pooled connection, or PGlite's turn). */
  maxWaitMs: number;
  /** How long it may then run. */
  timeoutMs: number;
}

/**
 * Runs every query operation in one REPEATABLE READ transaction, so all its statements
 * see one snapshot of the catalog. A query's fields are resolved by several statements (a page and
 * its count, each root field, DataLoader batches); without a snapshot, a change committing between
 * two of them would give the caller half the catalog before it and half after.
 * Mutations run their own transactions; subscriptions read per event.
 * On PGlite the isolation level is not applied (its adapter sets it outside the transaction), and
 * need not be: PGlite runs one transaction at a time, so nothing can commit while a query's is open.
 */
export function useReadSnapshot(prisma: PrismaClient, options: ReadSnapshotOptions): Plugin<Context> {
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      if (getOperationAST(args.document, args.operationName)?.operation !== 'query') return;
      setExecuteFn((execArgs) =>
        prisma.$transaction(
          async (tx) => {
            const context = execArgs.contextValue as Context;
            // Everything this operation reads goes through the snapshot, loaders included.
            context.prisma = tx as PrismaClient;
            context.loaders = createLoaders(tx as PrismaClient);
            return executeFn(execArgs);
          },
          { isolationLevel: 'RepeatableRead', maxWait: options.maxWaitMs, timeout: options.timeoutMs },
        ),
      );
    },
  };
}
