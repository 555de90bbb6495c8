import SchemaBuilder from '@pothos/core';
import ErrorsPlugin from '@pothos/plugin-errors';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { GraphQLError } from 'graphql';
import { hasRole } from '../auth/caller.js';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import type PrismaTypes from '../generated/pothos-types.js';
import { getDatamodel } from '../generated/pothos-types.js';
import type { Context } from '../context.js';

export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
  };
  DefaultFieldNullability: false;
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
  AuthScopes: { reader: boolean; reporter: boolean; editor: boolean; admin: boolean };
}>({
  // Scope auth first, so its checks wrap every other plugin's resolvers (an access failure is thrown,
  // never turned into a result type); errors before Prisma, as the errors plugin requires.
  plugins: [ScopeAuthPlugin, ErrorsPlugin, PrismaPlugin, RelayPlugin],
  errors: {
    defaultUnionOptions: { name: ({ fieldName }) => `${fieldName[0]!.toUpperCase()}${fieldName.slice(1)}Result` },
    defaultResultOptions: { name: ({ fieldName }) => `${fieldName[0]!.toUpperCase()}${fieldName.slice(1)}Success` },
  },
  scopeAuth: {
    // Refuse a subscription when it starts, not on its first event (which may never come).
    authorizeOnSubscribe: true,
    authScopes: (ctx) => ({
      reader: !ctx.readsRequireKey || hasRole(ctx.caller, 'reader'),
      reporter: hasRole(ctx.caller, 'reporter'),
      editor: hasRole(ctx.caller, 'editor'),
      admin: hasRole(ctx.caller, 'admin'),
    }),
    unauthorizedError: (_parent, ctx) =>
      ctx.caller.role === 'anonymous'
        ? new GraphQLError('this needs an API key (Authorization: Bearer <key>)', { extensions: { code: 'UNAUTHENTICATED' } })
        : new GraphQLError(`the key ${JSON.stringify(ctx.caller.name)} (${ctx.caller.role}) may not do this`, {
            extensions: { code: 'FORBIDDEN' },
          }),
  },
  defaultFieldNullability: false,
  prisma: {
    client: (ctx) => ctx.prisma,
    dmmf: getDatamodel(),
    exposeDescriptions: true,
    filterConnectionTotalCount: true,
    onUnusedQuery: process.env.NODE_ENV === 'production' ? null : 'warn',
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    edgesFieldOptions: { nullable: false },
    nodeFieldOptions: { nullable: false },
    pageInfoTypeOptions: { description: 'Where a page sits in the whole list; pass `endCursor` as `after` for the next page.' },
  },
});

builder.addScalarType('DateTime', DateTimeResolver);
builder.addScalarType('JSON', JSONResolver);

builder.queryType({
  description: 'Reads of the tool catalog. Public unless the service is configured to require a reader key.',
  authScopes: { reader: true },
});
builder.mutationType({
  description: 'Changes to the catalog, which need a key with the editor role or above; reportExecutions needs a reporter key or above.',
  authScopes: { editor: true },
});
