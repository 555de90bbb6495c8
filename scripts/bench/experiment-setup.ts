// Sets up the running experiment the bench's experiment scenarios (select-unit, assignment) decide
// under, in the database the environment names (DATA_DIR or DATABASE_URL), before any server starts.
// Two tools on one platform offering the capability; the first gets a newer version, so its arm pins
// an older version (the path where experiments hold a version the in-memory catalog does not).
// Prints one JSON line: { key, capability, platform }.
// Usage: node --import tsx scripts/bench/experiment-setup.ts <capability>
import { updateTool } from '../../src/catalog/toolCommands.js';
import { withCliDatabase } from '../../src/cli/database.js';
import { createExperiment, startExperiment } from '../../src/experiments/commands.js';

const capability = (process.argv[2] ?? 'text_search').toLowerCase();
const KEY = 'bench-experiment';
const origin = { actor: 'bench', trigger: 'cli', reason: 'benchmark of selection under a running experiment' };

const setup = await withCliDatabase(async (db) => {
  const prisma = db.prisma;
  const rows = await prisma.tool.findMany({
    where: { isLatest: true, deletedAt: null, enabled: true, status: 'ACTIVE', capabilities: { some: { name: { equals: capability, mode: 'insensitive' } } } },
    select: { name: true, platform: true, version: true, revision: true },
    orderBy: [{ platform: 'asc' }, { name: 'asc' }],
  });
  const byPlatform = new Map<string, typeof rows>();
  for (const row of rows) byPlatform.set(row.platform, [...(byPlatform.get(row.platform) ?? []), row]);
  const pair = [...byPlatform.values()].find((tools) => tools.length >= 2);
  if (!pair) throw new Error(`no platform has two tools offering ${capability}`);
  const [pinned, latest] = pair as [(typeof rows)[0], (typeof rows)[0]];
  await updateTool(prisma, { name: pinned.name, platform: pinned.platform, revision: pinned.revision }, { description: 'bench: a newer version' }, {}, origin);
  await createExperiment(
    prisma,
    {
      key: KEY,
      capability,
      metric: 'DURATION',
      arms: [
        { key: 'pinned', tool: { name: pinned.name, platform: pinned.platform, version: pinned.version }, weight: 0.5 },
        { key: 'latest', tool: { name: latest.name, platform: latest.platform }, weight: 0.5 },
      ],
    },
    origin,
  );
  await startExperiment(prisma, KEY, origin);
  return { key: KEY, capability, platform: pinned.platform };
});
console.log(JSON.stringify(setup));
