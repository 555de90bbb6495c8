import { open } from 'node:fs/promises';
import { CST, isCollection, isMap, isScalar, LineCounter, Parser, parseDocument, visit, type Document } from 'yaml';
import { FileReport, type Diagnostic, type SourcePath } from './diagnostics.js';

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

/** A node of the parser's concrete syntax tree, with what locating a syntax error needs. */
interface SyntaxNode {
  type: string;
  offset: number;
  source?: string;
  /** For a flow collection: its opening bracket. */
  open?: string;
  /** For a flow collection: whether the matching closing bracket ends it. */
  closed?: boolean;
}

/** Every key and value of the concrete syntax tree, in document order (built only when a file has errors). */
function syntaxNodes(text: string): SyntaxNode[] {
  const nodes: SyntaxNode[] = [];
  for (const token of new Parser().parse(text)) {
    if (token.type !== 'document') continue;
    CST.visit(token, (item) => {
      for (const node of [item.key, item.value]) {
        if (!node) continue;
        if (node.type === 'flow-collection') {
          const open = node.start.source;
          const close = open === '[' ? ']' : '}';
          nodes.push({ type: node.type, offset: node.offset, open, closed: node.end.some((t) => t.source === close) });
        } else {
          nodes.push({ type: node.type, offset: node.offset, ...('source' in node ? { source: node.source } : {}) });
        }
      }
    });
  }
  return nodes;
}

/**
 * Where an unclosed quoted scalar starts. The parser reports a missing closing quote where it ran
 * out of text (often the end of the file); a person needs the line where the quote was opened.
 */
function unclosedQuoteOffset(nodes: SyntaxNode[]): number | undefined {
  for (const node of nodes) {
    if (node.type !== 'double-quoted-scalar' && node.type !== 'single-quoted-scalar') continue;
    const quote = node.type === 'double-quoted-scalar' ? '"' : "'";
    const body = (node.source ?? '').trimEnd();
    const closed = body.length > 1 && body.endsWith(quote) && (quote === "'" || !/(^|[^\\])(\\\\)*\\"$/.test(body.slice(0, -1) + '"'));
    if (!closed) return node.offset;
  }
  return undefined;
}

/**
 * Where an unclosed `[` or `{` opens. The parser notices the missing bracket only where the
 * collection should have ended (the next line, or the end of the file): the innermost unclosed
 * collection of that kind that opens before the reported place is where the problem starts.
 */
function unclosedFlowOffset(nodes: SyntaxNode[], open: string, reportedAt: number): number | undefined {
  let found: number | undefined;
  for (const node of nodes) {
    if (node.type === 'flow-collection' && node.open === open && !node.closed && node.offset <= reportedAt) found = node.offset;
  }
  return found;
}

/**
 * Where a plain scalar that ran on into an implicit key goes wrong: `owner: me` followed by a line
 * indented deeper (`    extra: 1`) reads as one scalar `me extra` used as a key. The parser reports
 * the scalar's start; the problem is the last line of it, where the unexpected `key:` is.
 */
function runOnKeyOffset(nodes: SyntaxNode[], text: string, reportedAt: number): number | undefined {
  const node = nodes.find((n) => n.type === 'scalar' && n.source !== undefined && n.offset <= reportedAt && reportedAt < n.offset + n.source.length);
  if (!node?.source?.includes('\n')) return undefined;
  const lastLine = node.offset + node.source.lastIndexOf('\n') + 1;
  const firstChar = text.slice(lastLine).search(/[^ \t]/);
  return lastLine + Math.max(0, firstChar);
}

/** First character that is not indentation on the line of `offset`. */
function lineContentOffset(text: string, offset: number): number {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  const firstChar = text.slice(lineStart).search(/[^ ]/);
  return firstChar < 0 ? offset : lineStart + firstChar;
}

interface SyntaxProblem {
  code: string;
  message: string;
  pos: [number, number];
}

/**
 * The offset where a syntax problem starts, and a message for that place. The parser reports some
 * problems where it noticed them (the next line, the end of the file); a person fixing the file
 * needs the line where the construct that is wrong begins.
 */
function locateSyntaxProblem(problem: SyntaxProblem, text: string, nodes: () => SyntaxNode[]): { offset: number; message?: string } {
  const reportedAt = problem.pos[0];
  if (problem.code === 'MISSING_CHAR' && /quote/i.test(problem.message)) {
    const start = unclosedQuoteOffset(nodes());
    if (start !== undefined) return { offset: start, message: 'Missing closing quote (the quoted text starts here)' };
  }
  const flow = /^Flow (sequence|map) in block collection must be sufficiently indented and end with a/.exec(problem.message);
  if (flow) {
    const [open, close, kind] = flow[1] === 'sequence' ? ['[', ']', 'list'] : ['{', '}', 'map'];
    const start = unclosedFlowOffset(nodes(), open, reportedAt);
    if (start !== undefined) {
      return { offset: start, message: `Unclosed flow ${kind}: this \`${open}\` has no matching \`${close}\` (or a line of it is not indented enough)` };
    }
  }
  if (problem.code === 'MULTILINE_IMPLICIT_KEY' || problem.code === 'BLOCK_AS_IMPLICIT_KEY') {
    const start = runOnKeyOffset(nodes(), text, reportedAt);
    if (start !== undefined) {
      return { offset: start, message: 'Unexpected `key:` in the text of the line above (is this line indented too deeply, or does the text above need quotes?)' };
    }
  }
  if (problem.code === 'BLOCK_AS_IMPLICIT_KEY') {
    return { offset: reportedAt, message: 'A `: ` inside unquoted text starts a nested key here: quote the whole text (or fix the indentation)' };
  }
  // A misaligned mapping item is reported at its line's first column: point at the key itself.
  if (problem.code === 'BAD_INDENT' && /must start at the same column/.test(problem.message)) return { offset: lineContentOffset(text, reportedAt) };
  return { offset: reportedAt };
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
  const locate = (path: SourcePath, key = false) => {
    if (!document) return undefined;
    // A finding about a key (an unknown one) points at the key, not at its value.
    if (key && path.length) {
      const parent = document.getIn(path.slice(0, -1), true);
      const name = String(path[path.length - 1]);
      const pair = isMap(parent) ? parent.items.find((item) => isScalar(item.key) && String(item.key.value) === name) : undefined;
      const range = pair && isScalar(pair.key) ? pair.key.range : undefined;
      if (range) {
        const { line, col } = lineCounter.linePos(range[0]);
        return { line, column: col };
      }
    }
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
  const sourceText = (path: SourcePath) => {
    const node = document?.getIn(path, true);
    return isScalar(node) && typeof node.source === 'string' ? node.source : undefined;
  };
  const report = new FileReport(file, locate, sourceText);
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
  let nodes: SyntaxNode[] | undefined;
  const syntaxTree = () => (nodes ??= syntaxNodes(text));
  const lines = text.split(/\r?\n/);
  const located: Diagnostic[] = [];
  for (const problem of [...document.errors, ...document.warnings]) {
    // An unresolved tag (`!!python/object`, `!custom`, `!!binary`) is an error: its meaning is unknown.
    const severity = document.errors.includes(problem as never) || problem.code === 'TAG_RESOLVE_FAILED' ? 'error' : 'warning';
    const place = locateSyntaxProblem(problem, text, syntaxTree);
    const { line, col } = lineCounter.linePos(place.offset);
    located.push({
      severity,
      file,
      line,
      column: col,
      message: place.message ?? parserMessage(problem.message),
      ...(lines[line - 1] !== undefined ? { excerpt: lines[line - 1] } : {}),
    });
  }
  // Earliest first: the first problem in a file is the one to fix, and later ones often follow from
  // it. Two reports of one place (a run-on key is reported twice) say the same thing once.
  located.sort((a, b) => a.line! - b.line! || a.column! - b.column!);
  for (const diagnostic of located) {
    const previous = report.diagnostics.at(-1);
    if (previous && previous.line === diagnostic.line && previous.column === diagnostic.column) continue;
    report.diagnostics.push(diagnostic);
  }
  if (report.hasErrors) return { file, value: undefined, report };
  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: YAML_LIMITS.maxAliasCount });
  } catch (error) {
    const message = (error as Error).message;
    const unresolved = /^Unresolved alias[^:]*: (.+)$/.exec(message);
    if (unresolved) {
      // An alias whose anchor is not set (before it): point at the alias, as at any syntax error.
      let offset: number | undefined;
      visit(document, {
        Alias(_key, node) {
          if (node.source !== unresolved[1] || !node.range) return undefined;
          offset = node.range[0];
          return visit.BREAK;
        },
      });
      const pos = offset === undefined ? undefined : lineCounter.linePos(offset);
      report.diagnostics.push({
        severity: 'error',
        file,
        ...(pos ? { line: pos.line, column: pos.col, excerpt: lines[pos.line - 1] } : {}),
        message: `Unresolved alias *${unresolved[1]}: no anchor &${unresolved[1]} is set before it`,
      });
      return { file, value: undefined, report };
    }
    report.error(undefined, `rejected: ${message} (aliases are limited to ${YAML_LIMITS.maxAliasCount})`);
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
