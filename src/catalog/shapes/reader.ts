import { describeValue } from '../yamlSource.js';
import type { FileReport, SourcePath } from '../diagnostics.js';

export type Json = Record<string, unknown>;

export const isMap = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * Typed reads of one map in a source document. A value of the wrong type is reported with the
 * field's path, what was expected and what was found, and read as absent.
 */
export class MapReader {
  private readonly used = new Set<string>();
  constructor(
    readonly value: Json,
    readonly path: SourcePath,
    readonly report: FileReport,
  ) {}

  at(key: string): SourcePath {
    return [...this.path, key];
  }

  private take(key: string): unknown {
    this.used.add(key);
    return this.value[key];
  }

  private wrong(key: string, expected: string, found: unknown) {
    this.report.error(this.at(key), `expected ${expected}, found ${describeValue(found)}`);
  }

  /** Marks keys as handled elsewhere, so `rest()` leaves them out. */
  consume(...keys: string[]) {
    for (const key of keys) this.used.add(key);
  }

  has(key: string) {
    return this.value[key] !== undefined && this.value[key] !== null;
  }

  string(key: string, options: { required?: boolean } = {}): string | undefined {
    const value = this.take(key);
    if (value === undefined || value === null) {
      if (options.required) this.report.error(this.at(key), 'required field is missing');
      return undefined;
    }
    if (typeof value === 'string') return value;
    // YAML reads `version: 1.0` as the number 1; a version or expression is text as written, so
    // the file's own text (`1.0`) is kept where the file is at hand.
    if (typeof value === 'number') return this.report.sourceText(this.at(key)) ?? String(value);
    if (typeof value === 'boolean') return String(value);
    this.wrong(key, 'text', value);
    return undefined;
  }

  number(key: string): number | undefined {
    const value = this.take(key);
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'number' && Number.isFinite(value)) return value;
    this.wrong(key, 'a number', value);
    return undefined;
  }

  boolean(key: string): boolean | undefined {
    const value = this.take(key);
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'boolean') return value;
    this.wrong(key, 'true or false', value);
    return undefined;
  }

  stringList(key: string): string[] | undefined {
    const value = this.take(key);
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value)) {
      this.wrong(key, 'a list of text', value);
      return undefined;
    }
    const out: string[] = [];
    value.forEach((item, index) => {
      if (typeof item === 'string') out.push(item);
      else if (typeof item === 'number' || typeof item === 'boolean') out.push(String(item));
      else this.report.error([...this.at(key), index], `expected text, found ${describeValue(item)}`);
    });
    return out;
  }

  list(key: string): unknown[] | undefined {
    const value = this.take(key);
    if (value === undefined || value === null) return undefined;
    if (Array.isArray(value)) return value;
    this.wrong(key, 'a list', value);
    return undefined;
  }

  map(key: string): Json | undefined {
    const value = this.take(key);
    if (value === undefined || value === null) return undefined;
    if (isMap(value)) return value;
    this.wrong(key, 'a map', value);
    return undefined;
  }

  /** A nested map as a reader of its own, or undefined (reported) when it is not a map. */
  child(key: string): MapReader | undefined {
    const value = this.map(key);
    return value ? new MapReader(value, this.at(key), this.report) : undefined;
  }

  /** Keys not read so far: kept in metadata so nothing in a file is lost. */
  rest(): Json {
    return Object.fromEntries(Object.entries(this.value).filter(([key]) => !this.used.has(key)));
  }
}
