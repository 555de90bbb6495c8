/** One finding about a source file, precise enough for a person to fix it. */
export interface Diagnostic {
  severity: 'error' | 'warning';
  file: string;
  line?: number;
  column?: number;
  /** Dotted path of the field in the source document, e.g. `capabilities.text_search.patterns.p1.complexity_score`. */
  field?: string;
  message: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = [d.file, d.line, d.column].filter((part) => part !== undefined).join(':');
  return `${where}: ${d.severity}: ${d.field ? `${d.field}: ` : ''}${d.message}`;
}

export type SourcePath = ReadonlyArray<string | number>;

/** Collects diagnostics for one file, turning source paths into line and column. */
export class FileReport {
  readonly diagnostics: Diagnostic[] = [];
  constructor(
    readonly file: string,
    private locate: (path: SourcePath) => { line: number; column: number } | undefined = () => undefined,
  ) {}

  /** A report holding one error about the whole file (missing, too big, refused). */
  static rejected(file: string, message: string): FileReport {
    const report = new FileReport(file);
    report.error(undefined, message);
    return report;
  }

  /** A report on one part of this file (a tool of a profiles file): positions are looked up under `prefix`. */
  scoped(prefix: SourcePath): FileReport {
    const locate = this.locate;
    return new FileReport(this.file, (path) => locate([...prefix, ...path]));
  }

  /**
   * Lets go of the parsed document behind `locate`: an import of thousands of files keeps only
   * diagnostics, not every syntax tree. Later findings carry no line.
   */
  detach() {
    this.locate = () => undefined;
  }

  private add(severity: Diagnostic['severity'], path: SourcePath | undefined, message: string) {
    const position = path ? this.locate(path) : undefined;
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

  get hasErrors() {
    return this.diagnostics.some((d) => d.severity === 'error');
  }
}
