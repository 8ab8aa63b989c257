/** Every `code` a @switchboard/pagination error can carry. */
export type PaginationErrorCode =
  | 'INVALID_CURSOR'
  | 'INVALID_PAGINATION_ARGUMENT'
  | 'NULL_SORT_KEY'
  | 'DUPLICATE_SORT_KEY';

/** Base class of this package's errors; compare `code` (or use {@link isPaginationError}), not the class. */
export class PaginationError extends Error {
  constructor(
    readonly code: PaginationErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Why a cursor was refused. Logged for operators; never shown verbatim to clients by the GraphQL helpers. */
export type InvalidCursorReason =
  /** Not base64url, empty, or longer than `maxCursorLength`. */
  | 'malformed'
  /** A cursor format this version does not read. */
  | 'unsupported-version'
  /** The signature/checksum does not match: edited, truncated, signed with another secret, or taken from another query or order. */
  | 'mismatch'
  /** The key values do not fit the order (count, type, a NULL where the key is not nullable). */
  | 'bad-values'
  /** Postgres could not read a key value as the column's type (SQLSTATE class 22). */
  | 'rejected-by-database';

/**
 * An `after`/`before` cursor that this paginator did not issue for this query: malformed,
 * tampered with, signed with another secret, or taken from another query, filter or order.
 * A client error: the GraphQL helpers map it to `extensions.code = 'BAD_USER_INPUT'`.
 */
export class InvalidCursorError extends PaginationError {
  constructor(
    /** Which argument carried the cursor. */
    readonly argument: 'after' | 'before',
    /** Why it was refused (for logs). */
    readonly reason: InvalidCursorReason,
    options?: { cause?: unknown },
  ) {
    super('INVALID_CURSOR', `invalid cursor in "${argument}" (${reason})`, options);
  }
}

/**
 * `first`/`last` is negative, not an integer, or not a number. A client error: the GraphQL
 * helpers map it to `extensions.code = 'BAD_USER_INPUT'`.
 */
export class PaginationArgumentError extends PaginationError {
  constructor(
    /** The offending argument. */
    readonly argument: 'first' | 'last' | 'after' | 'before',
    /** The value received. */
    readonly value: unknown,
    message: string,
  ) {
    super('INVALID_PAGINATION_ARGUMENT', message);
  }
}

/**
 * A row has NULL (or no value) in a sort key that is not declared nullable. A server-side data
 * or configuration error: declare the key with `nulls: 'first' | 'last'`, or make the column NOT NULL.
 */
export class NullSortKeyError extends PaginationError {
  constructor(
    /** The `field` of the order key. */
    readonly field: string,
  ) {
    super(
      'NULL_SORT_KEY',
      `sort key "${field}" is null or missing but is not declared nullable (set nulls: 'first' | 'last')`,
    );
  }
}

/**
 * Two rows share the whole sort key, so the order is not total and pages could skip or repeat
 * rows. A server-side configuration error: end `orderBy` with a unique column (e.g. `id`).
 */
export class DuplicateSortKeyError extends PaginationError {
  constructor(
    /** The `field`s of the order keys. */
    readonly fields: readonly string[],
  ) {
    super(
      'DUPLICATE_SORT_KEY',
      `two rows share the same sort key (${fields.join(', ')}): the last key of orderBy must be unique`,
    );
  }
}

const codes: ReadonlySet<unknown> = new Set<PaginationErrorCode>([
  'INVALID_CURSOR',
  'INVALID_PAGINATION_ARGUMENT',
  'NULL_SORT_KEY',
  'DUPLICATE_SORT_KEY',
]);

/** True for any @switchboard/pagination error, also across duplicate installs (checks `code`). */
export function isPaginationError(error: unknown): error is PaginationError {
  return error instanceof Error && codes.has((error as { code?: unknown }).code);
}

/** True for the errors a client causes (bad cursor, bad `first`/`last`): report them as user input errors. */
export function isPaginationInputError(error: unknown): error is InvalidCursorError | PaginationArgumentError {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return code === 'INVALID_CURSOR' || code === 'INVALID_PAGINATION_ARGUMENT';
}
