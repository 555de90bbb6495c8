import { profilesOf } from '../profiles/profiles.js';
import { builder } from './builder.js';

builder.queryFields((t) => ({
  profiles: t.field({
    type: 'JSON',
    description:
      'The enabled catalog in the legacy optimization-profiles shape: `{version, revision, platform, tools: {<name>: {description, defaults, ' +
      'capabilities: {<capability>: {patterns: {<pattern>: {…}}}}}}}`, each tool\'s `defaults` filling what a pattern leaves empty. ' +
      'With `platform`, that platform\'s tools keyed by name; without, names found on several platforms are keyed `<platform>/<name>`. ' +
      'Served from the in-memory catalog (no SQL), also while the database is unreachable (`stale: true`). Also as `GET /profiles`.',
    args: { platform: t.arg.string({ description: 'Only tools of this platform (case-insensitive).' }) },
    resolve: async (_root, args, ctx) => {
      const { snapshot, stale } = await ctx.memory.read();
      if (stale) ctx.selection.countStale();
      return { ...profilesOf(snapshot, args.platform).profiles, stale };
    },
  }),
  catalogRevision: t.int({
    description:
      'The current catalog revision (the event log\'s newest): every change makes a larger one. Selections and profiles carry the revision ' +
      'they were computed on. Answered from memory; while the database is unreachable, the last revision this instance knew.',
    resolve: async (_root, _args, ctx) => Number((await ctx.memory.read()).snapshot.revision),
  }),
}));
