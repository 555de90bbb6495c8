import DataLoader from 'dataloader';
import type { Prisma, PrismaClient, Tool } from './generated/prisma/client.js';
import { latestVisible } from './catalog/visibility.js';

/** A Prisma selection for Tool as Pothos plans it (`include` or `select`), or nothing. */
export type ToolQuery = { include?: Prisma.ToolInclude; select?: Prisma.ToolSelect };

export interface Loaders {
  /**
   * Latest visible tools offering each capability name, batched over all names in a request.
   * The Prisma plugin cannot plan this (it is not a relation of a parent row); the selection it
   * planned for the Tool fields below is passed in, so nested fields still cost no extra query.
   */
  toolsOfferingCapability(query: ToolQuery): DataLoader<string, Tool[]>;
}

export function createLoaders(prisma: PrismaClient): Loaders {
  const capabilityLoaders = new Map<string, DataLoader<string, Tool[]>>();
  return {
    toolsOfferingCapability(query) {
      const key = JSON.stringify(query);
      let loader = capabilityLoaders.get(key);
      if (!loader) {
        loader = new DataLoader(async (names) => {
          const rows = await prisma.capability.findMany({
            where: { name: { in: [...names] }, tool: latestVisible },
            select: { name: true, tool: Object.keys(query).length > 0 ? query : true },
            orderBy: [{ tool: { name: 'asc' } }, { tool: { platform: 'asc' } }],
          });
          const byName = new Map<string, Tool[]>();
          for (const row of rows) {
            const list = byName.get(row.name) ?? [];
            list.push(row.tool as Tool);
            byName.set(row.name, list);
          }
          return names.map((name) => byName.get(name) ?? []);
        });
        capabilityLoaders.set(key, loader);
      }
      return loader;
    },
  };
}
