import { open } from 'node:fs/promises';
import { isCollection, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { FileReport, type SourcePath } from './diagnostics.js';

/** Limits that keep a hostile file from exhausting memory or time. */
export const YAML_LIMITS = {
  maxFileBytes: 1024 * 1024,
  maxAliasCount: 50,
  maxDepth: 40,
} as const;

export interface YamlSource {
  file: string;
  /** The plain JavaScript value of the document, or undefined when the file was rejected. */
  value: unknown;
  report: FileReport;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return `${typeof value} ${JSON.stringify(value)}`;
}

export { describe as describeValue };

function depthOf(value: unknown, limit: number, depth = 0): number {
  if (depth > limit || value === null || typeof value !== 'object') return depth;
  let max = depth;
  for (const child of Object.values(value)) {
    max = Math.max(max, depthOf(child, limit, depth + 1));
    if (max > limit) break;
  }
  return max;
}

/** Parses YAML text into a value, with positions for diagnostics; never evaluates custom tags. */
export function parseYamlText(file: string, text: string): YamlSource {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > YAML_LIMITS.maxFileBytes) {
    const report = new FileReport(file);
    report.error(undefined, `rejected: file is ${bytes} bytes; the limit is ${YAML_LIMITS.maxFileBytes}`);
    return { file, value: undefined, report };
  }
  const lineCounter = new LineCounter();
  let document: Document | undefined;
  const locate = (path: SourcePath) => {
    if (!document) return undefined;
    // The nearest node that exists: a missing field is reported at its parent.
    for (let n = path.length; n >= 0; n--) {
      const node = document.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node && (isScalar(node) || isCollection(node)) && node.range) {
        const { line, col } = lineCounter.linePos(node.range[0]);
        return { line, column: col };
      }
    }
    return undefined;
  };
  const report = new FileReport(file, locate);
  document = parseDocument(text, {
    lineCounter,
    prettyErrors: true,
    uniqueKeys: true,
    strict: true,
    // Only the YAML 1.2 core schema: no !!binary, !!set, !!omap or language-specific tags.
    schema: 'core',
    merge: false,
  });
  for (const error of document.errors) {
    const [line, column] = error.linePos?.[0] ? [error.linePos[0].line, error.linePos[0].col] : [undefined, undefined];
    report.diagnostics.push({ severity: 'error', file, line, column, message: error.message.split('\n')[0]! });
  }
  for (const warning of document.warnings) {
    // An unresolved tag (`!!python/object`, `!custom`) is an error: its meaning is unknown.
    const severity = warning.code === 'TAG_RESOLVE_FAILED' ? 'error' : 'warning';
    const pos = warning.linePos?.[0];
    report.diagnostics.push({ severity, file, line: pos?.line, column: pos?.col, message: warning.message.split('\n')[0]! });
  }
  if (report.hasErrors) return { file, value: undefined, report };
  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: YAML_LIMITS.maxAliasCount });
  } catch (error) {
    report.error(undefined, `rejected: ${(error as Error).message} (aliases are limited to ${YAML_LIMITS.maxAliasCount})`);
    return { file, value: undefined, report };
  }
  if (depthOf(value, YAML_LIMITS.maxDepth) > YAML_LIMITS.maxDepth) {
    report.error(undefined, `rejected: nested deeper than ${YAML_LIMITS.maxDepth} levels`);
    return { file, value: undefined, report };
  }
  return { file, value, report };
}

/** Reads and parses one file, refusing files over the size limit before reading them whole. */
export async function readYamlFile(file: string, displayName = file): Promise<YamlSource> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    // Refuse before reading: a huge file must not be loaded into memory to be measured.
    if (size > YAML_LIMITS.maxFileBytes) {
      const report = new FileReport(displayName);
      report.error(undefined, `rejected: file is ${size} bytes; the limit is ${YAML_LIMITS.maxFileBytes}`);
      return { file: displayName, value: undefined, report };
    }
    return parseYamlText(displayName, await handle.readFile('utf8'));
  } finally {
    await handle.close();
  }
}
