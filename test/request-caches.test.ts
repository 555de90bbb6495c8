import SchemaBuilder from '@pothos/core';
import ScopeAuthPlugin, { RequestCache } from '@pothos/plugin-scope-auth';
import { createYoga } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { useRequestCacheRelease } from '../src/schema/requestCaches.js';

// Pothos' scope cache for a request lives in a WeakMap keyed by the request's context; V8's young
// collections keep WeakMap values, so unless it is dropped the request's whole graph is promoted
// (src/schema/requestCaches.ts). Here: a schema with a scoped field, as ours has, run by Yoga.

interface Ctx {
  role: string;
}

function scopedYoga(release: boolean) {
  const builder = new SchemaBuilder<{ Context: Ctx; AuthScopes: { reader: boolean } }>({
    plugins: [ScopeAuthPlugin],
    scopeAuth: { authScopes: (ctx: Ctx) => ({ reader: ctx.role === 'reader' }) },
    // The options type carries the Prisma plugin's (augmented globally by our schema); this builder has no Prisma.
  } as never);
  const seen: Array<{ context: Ctx; cache: RequestCache<never> }> = [];
  builder.queryType({
    fields: (t) => ({
      secret: t.string({
        authScopes: { reader: true },
        resolve: (_root, _args, context) => {
          seen.push({ context, cache: RequestCache.fromContext(context as never, builder as never) as RequestCache<never> });
          return 'kept';
        },
      }),
    }),
  });
  const yoga = createYoga<object, Ctx>({
    schema: builder.toSchema(),
    context: () => ({ role: 'reader' }),
    logging: false,
    plugins: release ? [useRequestCacheRelease()] : [],
  });
  return { yoga, builder, seen };
}

const ask = (yoga: ReturnType<typeof scopedYoga>['yoga']) =>
  yoga.fetch('http://x/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ secret }' }) });

describe('per-request caches', () => {
  it('drops the scope cache of a request once its execution is done', async () => {
    const { yoga, builder, seen } = scopedYoga(true);
    const response = await ask(yoga);
    expect(await response.json()).toEqual({ data: { secret: 'kept' } });
    expect(seen).toHaveLength(1);
    const [{ context, cache }] = seen as [{ context: Ctx; cache: RequestCache<never> }];
    // Asked for again, the context's cache is a new one: the request's was dropped.
    expect(RequestCache.fromContext(context as never, builder as never)).not.toBe(cache);
  });

  it('without the release, the request\'s cache stays with its context (what the release is for)', async () => {
    const { yoga, builder, seen } = scopedYoga(false);
    await ask(yoga);
    const [{ context, cache }] = seen as [{ context: Ctx; cache: RequestCache<never> }];
    expect(RequestCache.fromContext(context as never, builder as never)).toBe(cache);
  });
});
