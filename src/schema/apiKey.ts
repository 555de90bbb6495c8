import { createApiKey, revokeApiKey, ROLES, type Role } from '../auth/keys.js';
import { CatalogValidationError, ConflictError, NotFoundError } from '../catalog/errors.js';
import { changeOrigin } from '../context.js';
import { builder } from './builder.js';
import './errors.js';

const ApiKeyRoleEnum = builder.enumType('ApiKeyRole', {
  description: 'What a key may do: reader < reporter (report runs) < editor (change the catalog) < admin (manage keys).',
  values: Object.fromEntries(ROLES.map((role) => [role.toUpperCase(), { value: role }])) as Record<Uppercase<Role>, { value: Role }>,
});

const ApiKeyRef = builder.prismaObject('ApiKey', {
  description: 'A credential. Only a hash of the key is stored; the key itself is shown once, when created.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Name, recorded as the actor in the audit log.' }),
    role: t.field({ type: ApiKeyRoleEnum, resolve: (key) => key.role as Role, description: 'What the key may do.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    lastUsedAt: t.expose('lastUsedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it last authenticated a request (written at most once a minute per key and instance); null if never used.',
    }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true, description: 'When it was revoked; a revoked key stops working within 10 s.' }),
  }),
});

const CreatedApiKey = builder.objectRef<{ key: string; name: string; role: Role }>('CreatedApiKey').implement({
  description: 'A new key. `key` is shown this once; store it now.',
  fields: (t) => ({
    key: t.exposeString('key', { description: 'The key, for `Authorization: Bearer <key>`.' }),
    name: t.exposeString('name', { description: 'Its name.' }),
    role: t.expose('role', { type: ApiKeyRoleEnum, description: 'Its role.' }),
  }),
});

builder.queryField('apiKeys', (t) =>
  t.prismaField({
    type: [ApiKeyRef],
    authScopes: { admin: true },
    description: 'Every key, active or revoked, by name (never the keys themselves). Needs an admin key.',
    resolve: (query, _root, _args, ctx) => ctx.prisma.apiKey.findMany({ ...query, orderBy: { name: 'asc' } }),
  }),
);

builder.mutationFields((t) => ({
  createApiKey: t.field({
    type: CreatedApiKey,
    authScopes: { admin: true },
    errors: { types: [CatalogValidationError, ConflictError], directResult: true },
    description: 'Creates a key and returns it once. Needs an admin key.',
    args: {
      name: t.arg.string({ required: true, description: 'Unique name: letters, digits, `. _ -`, up to 128.' }),
      role: t.arg({ type: ApiKeyRoleEnum, required: true, description: 'What it may do.' }),
      reason: t.arg.string({ description: 'Why, for the audit log.' }),
    },
    resolve: async (_root, args, ctx) => ({
      key: await createApiKey(ctx.prisma, args.name, args.role, changeOrigin(ctx, args.reason)),
      name: args.name,
      role: args.role,
    }),
  }),
  revokeApiKey: t.prismaField({
    type: ApiKeyRef,
    authScopes: { admin: true },
    errors: { types: [NotFoundError], directResult: true },
    description: 'Revokes a key; it stops working within 10 s. Needs an admin key.',
    args: {
      name: t.arg.string({ required: true, description: 'The key to revoke.' }),
      reason: t.arg.string({ description: 'Why, for the audit log.' }),
    },
    resolve: async (query, _root, args, ctx) => {
      await revokeApiKey(ctx.prisma, args.name, changeOrigin(ctx, args.reason));
      return ctx.prisma.apiKey.findUniqueOrThrow({ ...query, where: { name: args.name } });
    },
  }),
}));
