import { useGraphQlJit } from '@envelop/graphql-jit';
import { getDocumentString } from '@envelop/core';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import type { Plugin } from '@envelop/core';
import { BREAK, getOperationAST, getVariableValues, GraphQLError, Kind, TypeInfo, visit, visitWithTypeInfo, type ASTNode, type DocumentNode, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { LRUCache } from 'lru-cache';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import type { IncomingMessage } from 'node:http';
import type { LaneDocument, LaneOutcome } from '../http/decisionLane.js';
import { needsPrismaPlan } from './memoryRows.js';
import { releaseRequestCaches } from './requestCaches.js';

/**
 * The root fields whose operations may run compiled (graphql-jit): the pipeline's hot decisions.
 * Their answers are plain objects from memory, hundreds of rows each, where the compiled executor
 * is about twice as fast as graphql-js's (README, "Performance").
 */
export const COMPILED_ROOT_FIELDS: ReadonlySet<string> = new Set(['selectTools', 'assignment']);

/** Decision texts remembered for the lane at most; bounded like every cross-request cache. */
const MAX_COMPILED_DOCUMENTS = 500;

/**
 * Per parsed document (Yoga caches them): whether it selects no field the Prisma plugin must plan.
 * The plugin finds a relation's plan by the response path, which it cannot under the compiled
 * executor: such a field would fall back to SQL, so a document selecting one is not compiled.
 */
const plainDocuments = new WeakMap<DocumentNode, boolean>();

function selectsNothingPlanned(schema: GraphQLSchema, document: DocumentNode): boolean {
  let plain = plainDocuments.get(document);
  if (plain === undefined) {
    plain = true;
    const typeInfo = new TypeInfo(schema);
    visit(
      document,
      visitWithTypeInfo(typeInfo, {
        Field() {
          const field = typeInfo.getFieldDef();
          if (field && needsPrismaPlan(field)) {
            plain = false;
            return BREAK;
          }
          return undefined;
        },
      }),
    );
    plainDocuments.set(document, plain);
  }
  return plain;
}

/**
 * Whether an operation runs compiled: a query whose root selections are all compiled fields, the one
 * operation of a document that selects nothing the Prisma plugin plans.
 */
export function runsCompiled(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined): boolean {
  // One operation per document: compilations are cached by document, whichever operation is named.
  if (document.definitions.filter((definition) => definition.kind === Kind.OPERATION_DEFINITION).length !== 1) return false;
  const operation = getOperationAST(document, operationName ?? undefined);
  if (!operation || operation.operation !== 'query') return false;
  const decisionsOnly = operation.selectionSet.selections.every((selection) => selection.kind === Kind.FIELD && COMPILED_ROOT_FIELDS.has(selection.name.value));
  return decisionsOnly && selectsNothingPlanned(schema, document);
}

/** A document Yoga accepted to run compiled, and its compilation for the lane (null: it does not compile). */
interface AcceptedDocument {
  schema: GraphQLSchema;
  document: DocumentNode;
  operationName: string | undefined;
  compiled?: CompiledQuery | null;
}

/** What the compiled executor offers the app: its plugins, and the documents it has compiled. */
export interface CompiledExecution {
  plugins: Plugin[];
  /**
   * A query text Yoga has parsed, validated (with every protection) and run compiled, ready to run
   * again without Yoga (the decision lane); undefined for any other text. Its plugins must come
   * before the query deadline's (useQueryDeadline), which bounds whichever executor they choose.
   */
  documentFor(query: string): LaneDocument | undefined;
}

/**
 * Runs the hot decision queries with graphql-jit's compiled executor; every other operation runs on
 * graphql-js's executor: tool reads plan their Prisma relations per response path, which the
 * compiled executor made several times slower (README, "Performance").
 */
export function compiledExecution(log: Logger, registry: Registry): CompiledExecution {
  const compiledOperations = new Counter({
    name: 'tool_catalog_graphql_compiled_operations_total',
    help: 'GraphQL operations run by the compiled executor (graphql-jit): decision queries that select nothing the Prisma plugin plans',
    registers: [registry],
  });
  // The texts Yoga has accepted to run compiled: their document as parsed (a plugin may execute a
  // copy with fields of its own added, such as the response cache's), compiled on the lane's first use.
  const accepted = new LRUCache<string, AcceptedDocument>({ max: MAX_COMPILED_DOCUMENTS });
  // The requests (their contexts) whose operation runs compiled: decided once, when the compiled
  // executor is chosen, and read again when its errors are evened out.
  const compiledRequests = new WeakSet<object>();
  // What the lane's run of a decision came to, by request, when the lane handed the request to Yoga
  // (an answer with an error): Yoga gives that outcome instead of running the decision again.
  const handedOff = new WeakMap<IncomingMessage, LaneOutcome>();
  const requestOf = (context: unknown) => (context as { req?: IncomingMessage } | undefined)?.req;
  const jit = useGraphQlJit(
    {},
    {
      enableIf: ({ schema, document, operationName, contextValue }) => {
        const compiled = runsCompiled(schema, document, operationName);
        if (compiled) {
          compiledRequests.add(contextValue as object);
          // A decision the lane ran already was counted when it ran.
          const req = requestOf(contextValue);
          if (!req || !handedOff.has(req)) compiledOperations.inc();
          const text = getDocumentString(document);
          if (text !== undefined && !accepted.has(text)) accepted.set(text, { schema, document, operationName: getOperationAST(document)?.name?.value });
        }
        return compiled;
      },
      onError: (result) => log.error({ errors: result.errors }, 'graphql-jit could not compile a document'),
    },
  );
  const locatedErrors: Plugin = {
    // After the compiled executor's plugin, whose choice it reads.
    onExecute: ({ args }) =>
      compiledRequests.has(args.contextValue as object)
        ? {
            onExecuteDone: ({ result, setResult }) => {
              if (!('errors' in result) || !result.errors?.length) return;
              // No data: the variables were refused. graphql-js's messages name the operation's own
              // variable and the path into it, where the compiler's name a variable of its own.
              const refused = result.data === undefined ? variableErrors(args.schema, args.document, args.operationName, args.variableValues) : undefined;
              setResult(refused ? { errors: refused } : { ...result, errors: result.errors.map((error) => locatedByNodes(error, args.document)) });
            },
          }
        : undefined,
  };
  const laneOutcomes: Plugin = {
    // After the compiled executor's plugin, so that its executor is the one replaced; before the
    // query deadline's, which bounds (and names) a deadline the lane's run already ran out of.
    onExecute: ({ args, setExecuteFn }) => {
      const req = requestOf(args.contextValue);
      const outcome = req && handedOff.get(req);
      if (!outcome) return;
      handedOff.delete(req);
      setExecuteFn(() => ('error' in outcome ? Promise.reject(outcome.error) : outcome.result));
    },
  };
  return {
    plugins: [jit, locatedErrors, laneOutcomes],
    documentFor(query) {
      const entry = accepted.get(query);
      if (!entry) return undefined;
      if (entry.compiled === undefined) {
        const compiled = compileQuery(entry.schema, entry.document, entry.operationName);
        entry.compiled = isCompiledQuery(compiled) ? compiled : null;
      }
      const { compiled } = entry;
      if (!compiled) return undefined;
      return {
        operationName: entry.operationName,
        run: (context, variables) => {
          compiledOperations.inc();
          const result = compiled.query(undefined, context, variables) as ExecutionResult | Promise<ExecutionResult>;
          // Released once the run is done, as Yoga's requests are (useRequestCacheRelease).
          if (result instanceof Promise) return result.finally(() => releaseRequestCaches(context));
          releaseRequestCaches(context);
          return result;
        },
        handOff: (req, outcome) => handedOff.set(req, outcome),
      };
    },
  };
}

/** graphql-js's errors for an operation's variables, if it refuses them. */
function variableErrors(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
): readonly GraphQLError[] | undefined {
  const operation = getOperationAST(document, operationName ?? undefined);
  return operation ? getVariableValues(schema, operation.variableDefinitions ?? [], variables ?? {}).errors : undefined;
}

/**
 * The compiled executor locates its errors by line and column alone. Yoga rebuilds every error of
 * an answer from its AST nodes (dropping bare locations), as does the masking of error tiers; the
 * nodes are found again, so an answer points at the same place whichever executor ran it.
 */
function locatedByNodes(error: GraphQLError, document: DocumentNode): GraphQLError {
  if (error.nodes?.length || !error.locations?.length) return error;
  const nodes: ASTNode[] = [];
  visit(document, {
    Field(node) {
      const start = node.loc?.startToken;
      if (start && error.locations!.some((location) => location.line === start.line && location.column === start.column)) nodes.push(node);
    },
  });
  return new GraphQLError(error.message, { nodes, path: error.path, originalError: error.originalError, extensions: error.extensions });
}
