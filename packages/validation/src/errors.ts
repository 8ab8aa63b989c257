/** Every `code` a @switchboard/validation error can carry. */
export type ValidationErrorCode = 'VALIDATION_FAILED';

/** One problem with the input, in words a client can show next to the field. */
export interface ValidationIssue {
  /**
   * Where in the input: object keys and array indexes from the root, e.g.
   * `['attachments', 2]`. Empty when the input as a whole is wrong.
   */
  readonly path: readonly (string | number)[];
  /** What is wrong, for a person: `'must be at least 15 characters'`. */
  readonly message: string;
}

/**
 * The input does not match its schema. Thrown by `parseInput`; `issues` lists every problem
 * found (not only the first), each with its `path`. The yoga adapter
 * (`@switchboard/validation/yoga`) maps it to a GraphQL error with
 * `extensions.code = 'BAD_USER_INPUT'` and the issues beside it.
 */
export class ValidationError extends Error {
  /** Always `'VALIDATION_FAILED'`. */
  readonly code: ValidationErrorCode = 'VALIDATION_FAILED';
  /** At least one issue. */
  readonly issues: readonly ValidationIssue[];

  constructor(issues: readonly ValidationIssue[], options?: { message?: string; cause?: unknown }) {
    super(options?.message ?? describe(issues), options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.issues = Object.freeze(
      issues.map((issue) => Object.freeze({ path: Object.freeze([...issue.path]), message: issue.message })),
    );
  }

  /** JSON form for logs and HTTP bodies: `{ name, code, message, issues }`. */
  toJSON(): { name: string; code: ValidationErrorCode; message: string; issues: readonly ValidationIssue[] } {
    return { name: this.name, code: this.code, message: this.message, issues: this.issues };
  }
}

function describe(issues: readonly ValidationIssue[]): string {
  if (issues.length === 0) return 'invalid input';
  const first = issues[0] as ValidationIssue;
  const where = first.path.length > 0 ? `${first.path.join('.')}: ` : '';
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return `invalid input: ${where}${first.message}${more}`;
}

/**
 * True for errors of this package, also across duplicate installs (checks `code` and the
 * shape of `issues`, not the class).
 */
export function isValidationError(error: unknown): error is ValidationError {
  if (!(error instanceof Error)) return false;
  const { code, issues } = error as { code?: unknown; issues?: unknown };
  return code === 'VALIDATION_FAILED' && Array.isArray(issues);
}
