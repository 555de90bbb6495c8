import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { exportCatalog } from '../catalog/exporter.js';
import { withCliDatabase } from './database.js';

/** Writes every tool as canonical YAML under `dir`. */
export async function exportCommand(dir: string, options: { force?: boolean }): Promise<number> {
  await mkdir(dir, { recursive: true });
  if (!options.force && (await readdir(dir)).length > 0) {
    console.error(`tool-catalog: ${dir} is not empty; pass --force to write into it`);
    return 2;
  }
  const files = await withCliDatabase((db) => exportCatalog(db.prisma));
  const root = path.resolve(dir);
  for (const file of files) {
    const target = path.resolve(root, file.path);
    // Paths come from safeFileName; this guards the invariant rather than trusting it.
    if (!target.startsWith(root + path.sep)) throw new Error(`refusing to write outside ${dir}: ${file.path}`);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, file.content);
  }
  console.log(`exported ${files.length} tool(s) to ${dir}`);
  return 0;
}
