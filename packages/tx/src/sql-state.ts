/** Serialization failure and deadlock: the server gave up on the transaction, a rerun may succeed. */
const RETRIABLE = new Set(['40001', '40P01']);

/**
 * The SQLSTATE of a server error, or `undefined` for anything else (a lost connection, a bug in
 * the callback): only an error the server answered with tells us the transaction's fate.
 */
export function sqlStateOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** True for the errors after which the whole transaction is rerun. */
export function isRetriable(error: unknown): boolean {
  return RETRIABLE.has(sqlStateOf(error) ?? '');
}

/** `57014` is also a user's `pg_cancel_backend`; only the message tells a statement timeout apart. */
export function isStatementTimeout(error: unknown): boolean {
  return sqlStateOf(error) === '57014' && /statement timeout/.test((error as Error).message ?? '');
}
