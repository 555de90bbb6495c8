import { RequestCache } from '@pothos/plugin-scope-auth';
import type { Plugin } from 'graphql-yoga';

/**
 * Lets go of what the schema's plugins keep per request once the request's resolvers have run.
 *
 * Pothos' scope-auth plugin keeps each request's scope cache in a WeakMap keyed by the request's
 * context, and the cache refers to the context (and through it to the request, its loaders and its
 * answer). A WeakMap entry goes when its key does, but only in a full collection: V8's young
 * collections treat WeakMap values as strong. So every request's whole object graph survived the
 * young collections it lived through and was promoted to the old generation, where it stayed as
 * garbage until the next full collection (about half the bytes promoted per tool read, measured
 * with `--trace-gc-nvp`; README, "Memory"). Dropping the entry once execution is done leaves
 * nothing for the young collections to keep.
 */
export function releaseRequestCaches(context: object): void {
  RequestCache.clearForContext(context);
}

/**
 * Releases a query's or mutation's per-request caches when its execution is done. A streamed
 * result (a subscription's events, each run with the same context) keeps them for its lifetime: a
 * later event would only rebuild them.
 */
export function useRequestCacheRelease(): Plugin {
  return {
    onExecute({ args }) {
      return {
        onExecuteDone({ result }) {
          if (Symbol.asyncIterator in result) return;
          releaseRequestCaches(args.contextValue as object);
        },
      };
    },
  };
}
