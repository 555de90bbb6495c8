import { realpath, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { FileReport } from './diagnostics.js';
import { KNOWN_PLATFORMS } from './vocabulary.js';
import { parseYamlText, readYamlFile, type YamlSource } from './yamlSource.js';

export interface SourceFile {
  /** Absolute path after resolving links. */
  absolute: string;
  /** What diagnostics show: the path relative to the directory given, or as given. */
  display: string;
  /** Platform implied by the first directory under the root (`linux/grep.yaml`). */
  directoryPlatform?: string;
}

export interface CollectedSources {
  files: SourceFile[];
  /** Files not read as tools, with why (templates). */
  skipped: Array<{ display: string; reason: string }>;
  /** Paths that could not be used at all (missing, outside the directory given). */
  problems: FileReport[];
}

const YAML_FILE = /\.ya?ml$/i;
/** Legacy catalogs keep a tool template among the tools; it is an example, not a tool. */
const TEMPLATE_DIR = 'templates';

function platformOf(relative: string): string | undefined {
  const first = relative.split(path.sep)[0]?.toLowerCase();
  return first && KNOWN_PLATFORMS.has(first) ? first : undefined;
}

/**
 * The YAML files named by `paths` (files, or directories searched recursively). Every file must
 * resolve, links included, inside the file or directory it was found through.
 */
export async function collectSources(paths: string[]): Promise<CollectedSources> {
  const result: CollectedSources = { files: [], skipped: [], problems: [] };
  const seen = new Set<string>();
  for (const given of paths) {
    let root: string;
    try {
      root = await realpath(given);
    } catch {
      result.problems.push(FileReport.rejected(given, 'no such file or directory'));
      continue;
    }
    const info = await stat(root);
    const candidates = info.isDirectory()
      ? (await readdir(root, { recursive: true, withFileTypes: true }))
          .filter((e) => (e.isFile() || e.isSymbolicLink()) && YAML_FILE.test(e.name))
          .map((e) => path.join(e.parentPath, e.name))
          .sort()
      : [root];
    // Resolved all at once rather than one await (one turn of a busy event loop) per file.
    const resolved = await Promise.all(candidates.map((candidate) => realpath(candidate).catch(() => undefined)));
    for (const [index, candidate] of candidates.entries()) {
      const relative = info.isDirectory() ? path.relative(root, candidate) : path.basename(candidate);
      const display = info.isDirectory() ? path.join(given, relative) : given;
      const absolute = resolved[index];
      if (absolute === undefined) {
        result.problems.push(FileReport.rejected(display, 'broken link'));
        continue;
      }
      if (info.isDirectory() && absolute !== root && !absolute.startsWith(root + path.sep)) {
        result.problems.push(FileReport.rejected(display, `resolves to ${absolute}, outside ${given}; refused`));
        continue;
      }
      if (seen.has(absolute)) continue;
      seen.add(absolute);
      if (relative.split(path.sep).slice(0, -1).includes(TEMPLATE_DIR)) {
        result.skipped.push({ display, reason: 'template, not a tool' });
        continue;
      }
      result.files.push({ absolute, display, directoryPlatform: info.isDirectory() ? platformOf(relative) : undefined });
    }
  }
  return result;
}

export function readSource(file: SourceFile): Promise<YamlSource> {
  return readYamlFile(file.absolute, file.display);
}

/** Documents given as text (the importCatalog mutation): the name is shown in diagnostics. */
export function parseDocumentText(name: string, content: string): YamlSource {
  return parseYamlText(name, content);
}
