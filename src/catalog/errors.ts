/**
 * Expected outcomes of catalog changes. The GraphQL layer returns them as schema types (through
 * @pothos/plugin-errors); the CLI prints them. Anything else thrown by a write is a bug or an outage.
 */

/** One problem with one field of the input, `path` in dotted form (`capabilities.0.patterns.1.complexityScore`). */
export interface FieldProblem {
  path: string;
  message: string;
}

export class CatalogValidationError extends Error {
  override name = 'CatalogValidationError';
  constructor(
    message: string,
    readonly fieldErrors: FieldProblem[] = [],
  ) {
    super(message);
  }

  static of(problems: FieldProblem[]): CatalogValidationError {
    const first = problems[0];
    const summary = first ? `${first.path ? `${first.path}: ` : ''}${first.message}` : 'invalid input';
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
    return new CatalogValidationError(`${summary}${more}`, problems);
  }
}

export class NotFoundError extends Error {
  override name = 'NotFoundError';
  constructor(
    message: string,
    readonly entity: string,
  ) {
    super(message);
  }
}

/**
 * The change was based on an outdated view, or collides with a concurrent one. `currentRevision`
 * is the tool's revision now (null when the tool does not exist or the conflict is catalog-wide).
 */
export class ConflictError extends Error {
  override name = 'ConflictError';
  constructor(
    message: string,
    readonly currentRevision: number | null = null,
  ) {
    super(message);
  }
}

/** True for the errors above: an expected refusal to report plainly, not a failure to investigate. */
export function isExpectedError(error: unknown): error is CatalogValidationError | NotFoundError | ConflictError {
  return error instanceof CatalogValidationError || error instanceof NotFoundError || error instanceof ConflictError;
}
