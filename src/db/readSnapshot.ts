import { getOperationAST, Kind, type DocumentNode, type SelectionSetNode } from 'graphql';
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

/** Root fields answered by one statement when their selection stays within SINGLE_STATEMENT_FIELDS. */
const SINGLE_STATEMENT_ROOTS = new Set(['tool', 'toolById']);
/**
 * Root fields that need no snapshot whatever their selection: experiments are read from memory
 * (one generation), and each experiment's results come from one statement of their own.
 */
const SELF_CONSISTENT_ROOTS = new Set(['assignment', 'experiment', 'experiments']);

/**
 * Fields the Prisma plugin plans into the root field's own statement: columns, and relations it
 * joins. An allow-list on purpose: a new field is read under a snapshot until it is added here.
 * (Not here: `latest`, `successor`, `executionStats`, `diff`, which issue statements of their own.)
 */
const SINGLE_STATEMENT_FIELDS = new Set([
  '__typename',
  // Tool
  'capabilities', 'capabilityCount', 'category', 'createdAt', 'createdBy', 'defaults', 'deletedAt', 'dependencies', 'description',
  'enabled', 'examples', 'executionLocation', 'id', 'isLatest', 'metadata', 'name', 'parent', 'platform', 'revision', 'status',
  'successorName', 'tags', 'updatedAt', 'updatedBy', 'version',
  // Capability
  'patterns', 'tool',
  // Pattern
  'capability', 'completeness', 'complexityScore', 'costEstimate', 'expectedOutputs', 'limitations', 'optionalInputs', 'policy',
  'preferenceMatch', 'requiredInputs', 'scope', 'timeEstimateMs', 'typicalUseCases',
]);

/**
 * Root fields answered from the in-memory catalog (one immutable revision, no SQL) when their
 * selection stays within MEMORY_FIELDS: they need no snapshot, and must not wait for a database
 * that may be unreachable.
 */
const MEMORY_ROOTS = new Set(['selectTools', 'profiles', 'catalogRevision']);

/** SINGLE_STATEMENT_FIELDS (a Tool's columns, capabilities and patterns, all in memory) plus the selection types' fields. */
const MEMORY_FIELDS = new Set([
  ...SINGLE_STATEMENT_FIELDS,
  // ToolSelection, SelectionCandidate, ExcludedCandidate, FeatureVector, SelectionEstimate
  'ambiguous', 'candidates', 'excluded', 'preference', 'weights', 'stale', 'rank', 'pattern', 'score', 'estimate', 'features',
  'contributions', 'executionHint', 'slaClass', 'why', 'reason', 'detail', 'missingVariables', 'limit', 'value', 'time', 'cost',
  'complexity', 'accuracy', 'timeMs',
  // SelectionEstimate's sources (ExpressionEstimate, ObservedFigures), SelectionExperiment, CandidateExperiment
  'source', 'expression', 'observed', 'runs', 'experiment', 'key', 'arm', 'bucket', 'outcome',
]);

function within(allowed: Set<string>, selectionSet: SelectionSetNode | undefined): boolean {
  if (!selectionSet) return true;
  return selectionSet.selections.every(
    (selection) => selection.kind === Kind.FIELD && allowed.has(selection.name.value) && within(allowed, selection.selectionSet),
  );
}

function withinSingleStatement(selectionSet: SelectionSetNode | undefined): boolean {
  return within(SINGLE_STATEMENT_FIELDS, selectionSet);
}

/** True when the operation is a query whose answer may take more than one statement. */
export function needsSnapshot(document: DocumentNode, operationName?: string | null): boolean {
  const operation = getOperationAST(document, operationName);
  if (operation?.operation !== 'query') return false;
  const roots = operation.selectionSet.selections;
  const fromMemory = roots.every(
    (root) => root.kind === Kind.FIELD && (MEMORY_ROOTS.has(root.name.value) || root.name.value === '__typename') && within(MEMORY_FIELDS, root.selectionSet),
  );
  if (fromMemory) return false;
  if (roots.length !== 1) return true;
  const [root] = roots;
  if (root!.kind === Kind.FIELD && SELF_CONSISTENT_ROOTS.has(root!.name.value)) return false;
  return !(root!.kind === Kind.FIELD && SINGLE_STATEMENT_ROOTS.has(root!.name.value) && withinSingleStatement(root!.selectionSet));
}

/**
 * Runs every query whose answer needs several statements (a page and its count, several root
 * fields, DataLoader batches) in one REPEATABLE READ transaction, so all of them see one snapshot
 * of the catalog: a change committing between two of them would otherwise give the caller half the
 * catalog before it and half after. A query answered by one statement is consistent by itself and
 * skips the transaction, which costs about half the throughput of an uncached read.
 * Mutations run their own transactions; subscriptions read per event.
 * On PGlite the isolation level is not applied (its adapter sets it outside the transaction), and
 * need not be: PGlite runs one transaction at a time, so nothing can commit while a query's is open.
 */
export function useReadSnapshot(prisma: PrismaClient, options: ReadSnapshotOptions): Plugin<Context> {
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      if (!needsSnapshot(args.document, args.operationName)) return;
      setExecuteFn((execArgs) =>
        prisma.$transaction(
          async (tx) => {
            const context = execArgs.contextValue as Context;
            // Everything this operation reads goes through the snapshot, loaders included.
            context.prisma = tx as PrismaClient;
            context.loaders = createLoaders(tx as PrismaClient, context.telemetry);
            return executeFn(execArgs);
          },
          { isolationLevel: 'RepeatableRead', maxWait: options.maxWaitMs, timeout: options.timeoutMs },
        ),
      );
    },
  };
}
