/** One finding about a source file, precise enough for a person to fix it. */
export interface Diagnostic {
  severity: 'error' | 'warning';
  file: string;
  line?: number;
  column?: number;
  /** Dotted path of the field in the source document, e.g. `capabilities.text_search.patterns.p1.complexity_score`. */
  field?: string;
  message: string;
  /** For a syntax error: the source line where the problem starts, shown with a caret under `column`. */
  excerpt?: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  // Over GraphQL a finding without a place has line and column null, not absent: both are left out.
  const where = [d.file, d.line, d.column].filter((part) => part !== undefined && part !== null).join(':');
  const head = `${where}: ${d.severity}: ${d.field ? `${d.field}: ` : ''}${d.message}`;
  if (d.excerpt === undefined) return head;
  const caret = `${' '.repeat(Math.max(0, (d.column ?? 1) - 1))}^`;
  return `${head}\n    ${d.excerpt}\n    ${caret}`;
}

export type SourcePath = ReadonlyArray<string | number>;

/** Collects diagnostics for one file, turning source paths into line and column. */
export class FileReport {
  readonly diagnostics: Diagnostic[] = [];
  /** Unknown keys are errors instead of warnings (`--strict`, `STRICT_IMPORT=true`). */
  strict = false;
  constructor(
    readonly file: string,
    /** Where `path` is in the source: its value, or with `key` the key that names it. */
    private locate: (path: SourcePath, key?: boolean) => { line: number; column: number } | undefined = () => undefined,
    private source: (path: SourcePath) => string | undefined = () => undefined,
  ) {}

  /**
   * The text of the plain scalar at `path` exactly as the file writes it (`1.0`, where the parsed
   * value is the number 1), when the file is still at hand.
   */
  sourceText(path: SourcePath): string | undefined {
    return this.source(path);
  }

  /** A report holding one error about the whole file (missing, too big, refused). */
  static rejected(file: string, message: string): FileReport {
    const report = new FileReport(file);
    report.error(undefined, message);
    return report;
  }

  /** A report on one part of this file (a tool of a profiles file): positions are looked up under `prefix`. */
  scoped(prefix: SourcePath): FileReport {
    const { locate, source } = this;
    return new FileReport(this.file, (path, key) => locate([...prefix, ...path], key), (path) => source([...prefix, ...path]));
  }

  /**
   * Lets go of the parsed document behind `locate`: an import of thousands of files keeps only
   * diagnostics, not every syntax tree. Later findings carry no line.
   */
  detach() {
    this.locate = () => undefined;
    this.source = () => undefined;
  }

  private add(severity: Diagnostic['severity'], path: SourcePath | undefined, message: string, atKey = false) {
    const position = path ? this.locate(path, atKey) : undefined;
    this.diagnostics.push({
      severity,
      file: this.file,
      ...(position ?? {}),
      ...(path && path.length ? { field: path.join('.') } : {}),
      message,
    });
  }

  error(path: SourcePath | undefined, message: string) {
    this.add('error', path, message);
  }

  warn(path: SourcePath | undefined, message: string) {
    this.add('warning', path, message);
  }

  /** A key the model does not know: a warning (kept in metadata), or an error when strict. */
  unknownKey(path: SourcePath, message: string) {
    this.add(this.strict ? 'error' : 'warning', path, message, true);
  }

  get hasErrors() {
    return this.diagnostics.some((d) => d.severity === 'error');
  }
}
