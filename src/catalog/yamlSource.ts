import { open } from 'node:fs/promises';
import { CST, isCollection, isScalar, LineCounter, Parser, parseDocument, type Document } from 'yaml';
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
  if (typeof value === 'number' && !Number.isFinite(value)) return `number ${value}`;
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

function oversized(file: string, bytes: number): YamlSource {
  return { file, value: undefined, report: FileReport.rejected(file, `rejected: file is ${bytes} bytes; the limit is ${YAML_LIMITS.maxFileBytes}`) };
}

/** The parser's first line, without the position it repeats (we report line and column apart). */
function parserMessage(message: string): string {
  const first = message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  return /Maximum call stack size exceeded/.test(first) ? `rejected: nested deeper than ${YAML_LIMITS.maxDepth} levels` : first;
}

/**
 * Deepest bracket nesting of flow collections, found without parsing: thousands of `[` would
 * exhaust the parser's stack before the depth of the parsed value could be checked.
 */
/** At top level a bracket opens a collection only where a value starts (`key: [`, `- {`, line start). */
function opensValue(text: string, at: number): boolean {
  for (let j = at - 1; j >= 0; j--) {
    const ch = text[j]!;
    if (ch === ' ' || ch === '\t') continue;
    return ch === ':' || ch === '-' || ch === '\n' || ch === '?';
  }
  return true;
}

function flowDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === '\\' && quote === '"') i++;
      else if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") {
      // Only a quote that opens a scalar, not an apostrophe inside a plain word.
      if (i === 0 || /[\s:[{,]/.test(text[i - 1]!)) quote = ch;
    } else if (ch === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      const end = text.indexOf('\n', i);
      i = end < 0 ? text.length : end;
    } else if ((ch === '[' || ch === '{') && (depth > 0 || opensValue(text, i))) {
      max = Math.max(max, ++depth);
    } else if ((ch === ']' || ch === '}') && depth > 0) {
      depth--;
    }
  }
  return max;
}

/**
 * Where an unclosed quoted scalar starts. The parser reports a missing closing quote where it ran
 * out of text (often the end of the file); a person needs the line where the quote was opened.
 */
function unclosedQuoteOffset(text: string): number | undefined {
  let found: number | undefined;
  for (const token of new Parser().parse(text)) {
    if (token.type !== 'document') continue;
    CST.visit(token, (item) => {
      for (const node of [item.key, item.value]) {
        if (found !== undefined || !node || (node.type !== 'double-quoted-scalar' && node.type !== 'single-quoted-scalar')) continue;
        const quote = node.type === 'double-quoted-scalar' ? '"' : "'";
        const body = node.source.trimEnd();
        const closed = body.length > 1 && body.endsWith(quote) && (quote === "'" || !/(^|[^\\])(\\\\)*\\"$/.test(body.slice(0, -1) + '"'));
        if (!closed) found = node.offset;
      }
      return found === undefined ? undefined : CST.visit.BREAK;
    });
    if (found !== undefined) break;
  }
  return found;
}

/** Parses YAML text into a value, with positions for diagnostics; never evaluates custom tags. */
export function parseYamlText(file: string, text: string): YamlSource {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > YAML_LIMITS.maxFileBytes) {
    return oversized(file, bytes);
  }
  if (flowDepth(text) > YAML_LIMITS.maxDepth) {
    return { file, value: undefined, report: FileReport.rejected(file, `rejected: nested deeper than ${YAML_LIMITS.maxDepth} levels`) };
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
    // Only the YAML 1.2 core schema: no !!binary, !!set, !!omap, !!timestamp or language tags.
    schema: 'core',
    resolveKnownTags: false,
    merge: false,
  });
  for (const problem of [...document.errors, ...document.warnings]) {
    // An unresolved tag (`!!python/object`, `!custom`, `!!binary`) is an error: its meaning is unknown.
    const severity = document.errors.includes(problem as never) || problem.code === 'TAG_RESOLVE_FAILED' ? 'error' : 'warning';
    let pos = problem.linePos?.[0];
    if (problem.code === 'MISSING_CHAR' && /quote/i.test(problem.message)) {
      const start = unclosedQuoteOffset(text);
      if (start !== undefined) pos = lineCounter.linePos(start);
    }
    const excerpt = pos ? text.split(/\r?\n/)[pos.line - 1] : undefined;
    report.diagnostics.push({
      severity,
      file,
      line: pos?.line,
      column: pos?.col,
      message: parserMessage(problem.message).replace(/^Missing closing ["']?quote/, 'Missing closing quote (the quoted text starts here)'),
      ...(excerpt !== undefined ? { excerpt } : {}),
    });
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
      return oversized(displayName, size);
    }
    return parseYamlText(displayName, await handle.readFile('utf8'));
  } finally {
    await handle.close();
  }
}
