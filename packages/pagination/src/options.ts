/** One key of the order, e.g. `{ field: 'createdAt', column: 'created_at', direction: 'desc' }`. */
export interface OrderKey {
  /** Property of a row object (used by `fromArray`, and the name the node has). */
  field: string;
  /**
   * Column name in SQL (used by `fromPostgres`). A plain identifier (`[A-Za-z_][A-Za-z0-9_$]*`,
   * at most 63 bytes), always double-quoted, so it is case-sensitive.
   * @default field
   */
  column?: string;
  /** @default 'asc' */
  direction?: 'asc' | 'desc';
  /**
   * Declares the key nullable and where NULLs sort (Postgres `NULLS FIRST` / `NULLS LAST`).
   * Leave it out for NOT NULL keys: a NULL then raises `NullSortKeyError` instead of silently
   * losing rows. The last key (the unique tie-breaker) cannot be nullable.
   */
  nulls?: 'first' | 'last';
}

/** Options of {@link createPaginator}. */
export interface PaginatorOptions {
  /**
   * The sort order. The last key must be unique (e.g. the primary key) so the order is total:
   * `[{ field: 'createdAt', column: 'created_at', direction: 'desc' }, { field: 'id', column: 'id', direction: 'desc' }]`.
   */
  orderBy: readonly OrderKey[];
  /** Largest page served; a larger `first`/`last` is clamped to it. @default 100 */
  maxPageSize?: number;
  /** Page size when neither `first` nor `last` is given. @default 20 (or `maxPageSize` if smaller) */
  defaultPageSize?: number;
  /**
   * Secret(s) for HMAC-SHA256 signed cursors (at least 16 bytes; 32 random bytes recommended).
   * Give several to rotate: the first signs, all verify. Without a secret, cursors carry a
   * SHA-256 checksum: edits and foreign cursors are still refused, but a client who knows the
   * format could forge a position (a forged position only moves where its page starts).
   */
  secret?: string | Uint8Array | readonly (string | Uint8Array)[];
  /**
   * Also answer `hasPreviousPage` when paging forward with `after`, and `hasNextPage` when paging
   * backward with `before` (the spec lets a server return `false` there unless it can tell
   * cheaply). Costs one extra indexed `EXISTS` query per page in `fromPostgres`.
   * @default false
   */
  exactPageInfo?: boolean;
  /**
   * Send `fromPostgres` statements as named prepared statements (pg's `{ name, text, values }`,
   * the name derived from the SQL text), so each connection parses and plans a query shape once
   * instead of on every page. `db` must then accept that form as well as `query(text, params)`:
   * `pg.Pool`, `pg.Client` and @switchboard/db-router readers do. Leave it off behind a pooler
   * that does not support prepared statements (PgBouncer in transaction mode before 1.21). Each
   * connection keeps one statement per shape (source, which cursors are given and which of their
   * keys are NULL, direction, page size). A prepared `SELECT *` fails with "cached plan must not
   * change result type" once the table gains or loses a column, until its connection is
   * replaced: list the columns in `select`, or recycle the pool after such a migration.
   * @default false
   */
  preparedStatements?: boolean;
  /** Longest cursor accepted, in characters; longer ones are refused unread. @default 1024 */
  maxCursorLength?: number;
}

/** An order key as the paginator uses it, defaults filled in (`paginator.orderBy`). */
export interface OrderKeyInfo {
  readonly field: string;
  readonly column: string;
  readonly direction: 'asc' | 'desc';
  readonly nulls?: 'first' | 'last';
}

/** A key with every default filled in. */
export interface ResolvedKey {
  field: string;
  column: string;
  /** Whether `column` (explicit or defaulted) is a valid SQL identifier. */
  columnValid: boolean;
  direction: 'asc' | 'desc';
  nulls: 'first' | 'last' | undefined;
}

export interface ResolvedOptions {
  keys: readonly ResolvedKey[];
  maxPageSize: number;
  defaultPageSize: number;
  secrets: readonly Buffer[];
  exactPageInfo: boolean;
  preparedStatements: boolean;
  maxCursorLength: number;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]*$/;

/** A plain SQL identifier that is safe to double-quote (no quotes, no dots, at most 63 bytes). */
export function isIdentifier(name: string): boolean {
  return IDENTIFIER.test(name) && Buffer.byteLength(name) <= 63;
}

export function resolveOptions(options: PaginatorOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') throw new TypeError('createPaginator: options are required');
  const { orderBy } = options;
  if (!Array.isArray(orderBy) || orderBy.length === 0) {
    throw new TypeError('createPaginator: orderBy must be a non-empty array of { field, column?, direction?, nulls? }');
  }
  const seen = new Set<string>();
  const keys = orderBy.map((key: OrderKey, index): ResolvedKey => {
    if (key === null || typeof key !== 'object' || typeof key.field !== 'string' || key.field === '') {
      throw new TypeError(`createPaginator: orderBy[${index}].field must be a non-empty string`);
    }
    if (key.column !== undefined && (typeof key.column !== 'string' || !isIdentifier(key.column))) {
      throw new TypeError(
        `createPaginator: orderBy[${index}].column ${JSON.stringify(key.column)} is not a plain SQL identifier ([A-Za-z_][A-Za-z0-9_$]*, at most 63 bytes)`,
      );
    }
    const direction = key.direction ?? 'asc';
    if (direction !== 'asc' && direction !== 'desc') {
      throw new TypeError(`createPaginator: orderBy[${index}].direction must be 'asc' or 'desc'`);
    }
    if (key.nulls !== undefined && key.nulls !== 'first' && key.nulls !== 'last') {
      throw new TypeError(`createPaginator: orderBy[${index}].nulls must be 'first', 'last' or left out`);
    }
    const column = key.column ?? key.field;
    if (seen.has(column)) throw new TypeError(`createPaginator: orderBy names "${column}" twice`);
    seen.add(column);
    return { field: key.field, column, columnValid: isIdentifier(column), direction, nulls: key.nulls };
  });
  const last = keys[keys.length - 1] as ResolvedKey;
  if (last.nulls !== undefined) {
    throw new TypeError(
      `createPaginator: the last orderBy key ("${last.field}") is the unique tie-breaker and cannot be nullable`,
    );
  }
  const maxPageSize = options.maxPageSize ?? 100;
  if (!Number.isSafeInteger(maxPageSize) || maxPageSize < 1) {
    throw new TypeError('createPaginator: maxPageSize must be a positive integer');
  }
  const defaultPageSize = options.defaultPageSize ?? Math.min(20, maxPageSize);
  if (!Number.isSafeInteger(defaultPageSize) || defaultPageSize < 1 || defaultPageSize > maxPageSize) {
    throw new TypeError('createPaginator: defaultPageSize must be an integer between 1 and maxPageSize');
  }
  const maxCursorLength = options.maxCursorLength ?? 1024;
  if (!Number.isSafeInteger(maxCursorLength) || maxCursorLength < 16) {
    throw new TypeError('createPaginator: maxCursorLength must be an integer of at least 16');
  }
  const secretList =
    options.secret === undefined ? [] : Array.isArray(options.secret) ? options.secret : [options.secret];
  const secrets = secretList.map((secret: unknown, index) => {
    if (typeof secret !== 'string' && !(secret instanceof Uint8Array)) {
      throw new TypeError(`createPaginator: secret[${index}] must be a string or a Uint8Array`);
    }
    const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
    if (bytes.length < 16)
      throw new TypeError('createPaginator: a secret must be at least 16 bytes (32 random bytes recommended)');
    return bytes;
  });
  if (options.secret !== undefined && secrets.length === 0) {
    throw new TypeError('createPaginator: secret is an empty list');
  }
  if (options.preparedStatements !== undefined && typeof options.preparedStatements !== 'boolean') {
    throw new TypeError('createPaginator: preparedStatements must be a boolean');
  }
  return {
    keys,
    maxPageSize,
    defaultPageSize,
    secrets,
    exactPageInfo: options.exactPageInfo ?? false,
    preparedStatements: options.preparedStatements ?? false,
    maxCursorLength,
  };
}
