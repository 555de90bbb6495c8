import { CatalogClock } from '../cache/catalogClock.js';
import { MemoryCatalog } from '../memoryCatalog/memoryCatalog.js';
import { profilesOf } from '../profiles/profiles.js';
import { writeFileAtomically } from '../profiles/profilesFile.js';
import { pino } from 'pino';
import { withCliDatabase } from './database.js';

/** Prints (or writes to `out`, atomically) the optimization profiles of the catalog as JSON. */
export async function exportProfilesCommand(options: { platform?: string; out?: string }): Promise<number> {
  const bytes = await withCliDatabase(async (db) => {
    const memory = new MemoryCatalog(db.prisma, { clock: new CatalogClock(), log: pino({ level: 'silent' }) });
    try {
      const { snapshot } = await memory.read();
      return profilesOf(snapshot, options.platform).bytes;
    } finally {
      memory.stop();
    }
  });
  if (options.out) {
    await writeFileAtomically(options.out, Buffer.concat([bytes, Buffer.from('\n')]));
    console.error(`wrote the profiles to ${options.out}`);
  } else {
    process.stdout.write(bytes);
    process.stdout.write('\n');
  }
  return 0;
}
