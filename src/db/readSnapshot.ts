import {
  getNamedType,
  getOperationAST,
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLNamedType,
  type GraphQLSchema,
  type SelectionNode,
  type SelectionSetNode,
} from 'graphql';
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
 * that may be unreachable. (`tool` only without `version`: a given version may be an older one,
 * read from the database.)
 */
const MEMORY_ROOTS = new Set(['selectTools', 'profiles', 'catalogRevision', 'tool', 'tools', 'capabilities', 'catalogStats']);

/** SINGLE_STATEMENT_FIELDS (a Tool's columns, capabilities and patterns, all in memory) plus the memory types' fields. */
const MEMORY_FIELDS = new Set([
  ...SINGLE_STATEMENT_FIELDS,
  // Tool fields resolved from the same revision.
  'latest', 'successor',
  // ToolConnection, ToolEdge, PageInfo
  'totalCount', 'edges', 'node', 'cursor', 'pageInfo', 'hasNextPage', 'hasPreviousPage', 'startCursor', 'endCursor',
  // CatalogStats, CountBucket, CapabilityOffering
  'tools', 'versions', 'capabilities', 'patterns', 'byPlatform', 'byCategory', 'byStatus', 'key', 'count', 'toolCount',
  // ToolSelection, SelectionCandidate, ExcludedCandidate, FeatureVector, SelectionEstimate
  'ambiguous', 'candidates', 'excluded', 'preference', 'weights', 'stale', 'rank', 'pattern', 'score', 'estimate', 'features',
  'contributions', 'executionHint', 'slaClass', 'why', 'reason', 'detail', 'missingVariables', 'limit', 'value', 'time', 'cost',
  'complexity', 'accuracy', 'timeMs',
  // SelectionEstimate's sources (ExpressionEstimate, ObservedFigures), SelectionExperiment, CandidateExperiment
  'source', 'expression', 'observed', 'runs', 'experiment', 'key', 'arm', 'bucket', 'outcome', 'decisionId',
]);

/**
 * Relations of a row from memory that memory does not hold: the Prisma plugin loads them with SQL
 * of their own (the parent version, a capability's tool, a pattern's capability). Known by their
 * type when the schema is at hand; without it, by name.
 */
const DATABASE_RELATIONS: Record<string, Set<string>> = {
  Tool: new Set(['parent']),
  Capability: new Set(['tool']),
  Pattern: new Set(['capability']),
};
const DATABASE_RELATION_NAMES = new Set(Object.values(DATABASE_RELATIONS).flatMap((names) => [...names]));

type Fragments = ReadonlyMap<string, FragmentDefinitionNode>;

/**
 * True when every field selected (fragments followed) is in `allowed` and, for memory answers, is not
 * a relation memory lacks. `type` is the selection's parent type when the schema is known.
 */
function within(
  allowed: Set<string>,
  selectionSet: SelectionSetNode | undefined,
  fragments: Fragments,
  memory: boolean,
  schema: GraphQLSchema | undefined,
  type: GraphQLNamedType | undefined,
  seen: Set<string> = new Set(),
): boolean {
  if (!selectionSet) return true;
  const typeNamed = (name: string | undefined) => (name && schema ? schema.getType(name) ?? undefined : type);
  return selectionSet.selections.every((selection) => {
    if (selection.kind === Kind.INLINE_FRAGMENT) {
      return within(allowed, selection.selectionSet, fragments, memory, schema, typeNamed(selection.typeCondition?.name.value), seen);
    }
    if (selection.kind === Kind.FRAGMENT_SPREAD) {
      const name = selection.name.value;
      const fragment = fragments.get(name);
      if (!fragment) return false;
      if (seen.has(name)) return true;
      return within(allowed, fragment.selectionSet, fragments, memory, schema, typeNamed(fragment.typeCondition.name.value), new Set(seen).add(name));
    }
    const name = selection.name.value;
    if (!allowed.has(name)) return false;
    if (memory) {
      const fromDatabase = schema && type ? DATABASE_RELATIONS[type.name]?.has(name) : DATABASE_RELATION_NAMES.has(name);
      if (fromDatabase) return false;
    }
    let child: GraphQLNamedType | undefined;
    if (schema && type && 'getFields' in type) {
      const field = (type as { getFields(): Record<string, { type: Parameters<typeof getNamedType>[0] }> }).getFields()[name];
      child = field ? getNamedType(field.type) : undefined;
    }
    return within(allowed, selection.selectionSet, fragments, memory, schema, child, seen);
  });
}

function fragmentsOf(document: DocumentNode): Fragments {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  return fragments;
}

/** A root answered from memory: a memory root (tool only without a version) whose selection stays in memory. */
function fromMemory(root: SelectionNode, fragments: Fragments, schema: GraphQLSchema | undefined): boolean {
  if (root.kind !== Kind.FIELD) return false;
  const name = root.name.value;
  if (name === '__typename') return true;
  if (!MEMORY_ROOTS.has(name)) return false;
  if (name === 'tool' && root.arguments?.some((argument) => argument.name.value === 'version')) return false;
  const type = schema?.getQueryType()?.getFields()[name];
  return within(MEMORY_FIELDS, root.selectionSet, fragments, true, schema, type ? getNamedType(type.type) : undefined);
}

/** A root answered by at most one statement: `tool` (with a version) or `toolById`, within the fields that statement joins. */
function singleStatement(root: SelectionNode, fragments: Fragments, schema: GraphQLSchema | undefined): boolean {
  if (root.kind !== Kind.FIELD || !SINGLE_STATEMENT_ROOTS.has(root.name.value)) return false;
  // Without a version, `tool` is answered from memory, and relations memory lacks cost a statement per capability or pattern.
  if (root.name.value === 'tool' && !root.arguments?.some((argument) => argument.name.value === 'version')) return false;
  return within(SINGLE_STATEMENT_FIELDS, root.selectionSet, fragments, false, schema, schema?.getType('Tool') ?? undefined);
}

/**
 * True when the operation is a query whose answer may take more than one statement. Roots answered
 * from memory cost none; one root answered by one statement is consistent by itself. Pass the
 * schema to judge fields by their type (a relation memory lacks, such as `Tool.parent`).
 */
export function needsSnapshot(document: DocumentNode, operationName?: string | null, schema?: GraphQLSchema): boolean {
  const operation = getOperationAST(document, operationName);
  if (operation?.operation !== 'query') return false;
  const fragments = fragmentsOf(document);
  const roots = operation.selectionSet.selections;
  if (roots.some((root) => root.kind !== Kind.FIELD)) return true;
  const rest = roots.filter((root) => !fromMemory(root, fragments, schema));
  if (rest.length === 0) return false;
  if (rest.length !== 1) return true;
  const [root] = rest;
  if (root!.kind === Kind.FIELD && SELF_CONSISTENT_ROOTS.has(root!.name.value) && roots.length === 1) return false;
  return !singleStatement(root!, fragments, schema);
}

/** needsSnapshot per parsed document and operation (Yoga hands the same document for the same text). */
const snapshotNeeds = new WeakMap<DocumentNode, Map<string, boolean>>();

function needsSnapshotCached(document: DocumentNode, operationName: string | null | undefined, schema: GraphQLSchema): boolean {
  let byOperation = snapshotNeeds.get(document);
  if (!byOperation) snapshotNeeds.set(document, (byOperation = new Map()));
  const key = operationName ?? '';
  let needs = byOperation.get(key);
  if (needs === undefined) byOperation.set(key, (needs = needsSnapshot(document, operationName, schema)));
  return needs;
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
      if (!needsSnapshotCached(args.document, args.operationName, args.schema)) return;
      setExecuteFn(async (execArgs) => {
        const context = execArgs.contextValue as Context;
        // The request's in-memory revision first, outside the transaction: a rebuild it may wait for
        // needs a transaction of its own, which on PGlite (one at a time) could not start while this
        // one is open. Taken before the database snapshot, it is never newer than that snapshot.
        await context.memory.readFor(context).catch(() => undefined);
        return prisma.$transaction(
          async (tx) => {
            // Everything this operation reads goes through the snapshot, loaders included.
            context.prisma = tx as PrismaClient;
            context.loaders = createLoaders(tx as PrismaClient, context.telemetry);
            return executeFn(execArgs);
          },
          { isolationLevel: 'RepeatableRead', maxWait: options.maxWaitMs, timeout: options.timeoutMs },
        );
      });
    },
  };
}
