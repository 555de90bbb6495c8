import { catalogStats, type CatalogStatsShape, type CountBucket as Bucket } from '../memoryCatalog/toolQueries.js';
import { builder } from './builder.js';
import { currentCatalog } from './memoryRows.js';

const CountBucket = builder.objectRef<Bucket>('CountBucket').implement({
  description: 'A value and how many tools have it.',
  fields: (t) => ({
    key: t.exposeString('key', { description: 'The value counted.' }),
    count: t.exposeInt('count', { description: 'How many latest, non-deleted tools have it.' }),
  }),
});

const CatalogStats = builder.objectRef<CatalogStatsShape>('CatalogStats').implement({
  description: 'Counts over the latest, non-deleted version of every tool.',
  fields: (t) => ({
    tools: t.exposeInt('tools', { description: 'Tools (name + platform) that are not deleted.' }),
    versions: t.exposeInt('versions', { description: 'All stored versions of those tools.' }),
    capabilities: t.exposeInt('capabilities', { description: 'Capabilities of the latest versions.' }),
    patterns: t.exposeInt('patterns', { description: 'Patterns of the latest versions.' }),
    byPlatform: t.field({ type: [CountBucket], resolve: (s) => s.byPlatform, description: 'Tools per platform.' }),
    byCategory: t.field({ type: [CountBucket], resolve: (s) => s.byCategory, description: 'Tools per category.' }),
    byStatus: t.field({ type: [CountBucket], resolve: (s) => s.byStatus, description: 'Tools per status.' }),
  }),
});

builder.queryField('catalogStats', (t) =>
  t.field({
    type: CatalogStats,
    description: 'Catalog counts by platform, category and status.',
    // Counted once per in-memory revision (the version count is read when memory is rebuilt).
    resolve: async (_root, _args, ctx) => catalogStats((await currentCatalog(ctx)).snapshot),
  }),
);
