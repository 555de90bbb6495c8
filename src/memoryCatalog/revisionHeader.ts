import type { Plugin } from 'graphql-yoga';
import type { MemoryCatalog } from './memoryCatalog.js';

/** The response header naming the catalog revision an answer was computed on. */
export const REVISION_HEADER = 'x-catalog-revision';

/**
 * Every GraphQL response says which catalog revision this instance held when it answered
 * (`X-Catalog-Revision`), so a client can tell which catalog it acted on. Answers computed from the
 * in-memory catalog (selectTools, profiles, catalogRevision) were computed on exactly that revision;
 * they also carry it in their bodies. A header rather than a body extension: bodies stay as they were.
 */
export function useRevisionHeader(memory: MemoryCatalog): Plugin {
  return {
    onResponse({ response }) {
      const revision = memory.snapshot?.revision;
      if (revision !== undefined && !response.headers.has(REVISION_HEADER)) response.headers.set(REVISION_HEADER, String(revision));
    },
  };
}
