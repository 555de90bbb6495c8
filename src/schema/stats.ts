import { latestVisible } from '../catalog/visibility.js';
import { builder } from './builder.js';

interface Bucket {
  key: string;
  count: number;
}

interface CatalogStatsShape {
  tools: number;
  versions: number;
  capabilities: number;
  patterns: number;
  byPlatform: Bucket[];
  byCategory: Bucket[];
  byStatus: Bucket[];
}

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

function buckets<K extends string>(rows: Array<Record<K, unknown> & { _count: { _all: number } }>, key: K): Bucket[] {
  return rows
    .map((row) => ({ key: String(row[key]), count: row._count._all }))
    .sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
}

builder.queryField('catalogStats', (t) =>
  t.field({
    type: CatalogStats,
    description: 'Catalog counts by platform, category and status.',
    resolve: async (_root, _args, { prisma }) => {
      const [tools, versions, capabilities, patterns, byPlatform, byCategory, byStatus] = await Promise.all([
        prisma.tool.count({ where: latestVisible }),
        prisma.tool.count({ where: { deletedAt: null } }),
        prisma.capability.count({ where: { tool: latestVisible } }),
        prisma.pattern.count({ where: { capability: { tool: latestVisible } } }),
        prisma.tool.groupBy({ by: ['platform'], where: latestVisible, _count: { _all: true } }),
        prisma.tool.groupBy({ by: ['category'], where: latestVisible, _count: { _all: true } }),
        prisma.tool.groupBy({ by: ['status'], where: latestVisible, _count: { _all: true } }),
      ]);
      return {
        tools,
        versions,
        capabilities,
        patterns,
        byPlatform: buckets(byPlatform, 'platform'),
        byCategory: buckets(byCategory, 'category'),
        byStatus: buckets(byStatus, 'status'),
      };
    },
  }),
);
