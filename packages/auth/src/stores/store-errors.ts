import { AuthError } from '../errors.ts';
import type { Queryable } from './postgres.ts';

/** Runs one statement, by its text, in its span (see `statementTracing`). */
export type TraceStatement = <R>(text: string, query: () => Promise<R>) => Promise<R>;

/**
 * `pool` whose failures (connection refused, timeout, a missing table, a deadlock) reject with
 * an `AuthError` code `STORE_UNAVAILABLE`, the driver's error kept as `cause`: callers of auth
 * handle one error type, and the error table answers 503 without exposing the SQL or the
 * database's message to clients.
 */
export function withStoreErrors(pool: Queryable, storeName: string, trace?: TraceStatement): Queryable {
  const query = async (text: string, values?: unknown[]) => {
    try {
      // The span sees the driver's error (and its SQLSTATE), the caller the AuthError.
      return await (trace ? trace(text, () => pool.query(text, values)) : pool.query(text, values));
    } catch (cause) {
      const code = (cause as { code?: unknown } | null)?.code;
      const detail = typeof code === 'string' ? ` (${code})` : '';
      throw new AuthError('STORE_UNAVAILABLE', `${storeName} failed${detail}`, { cause });
    }
  };
  // The rows are whatever the caller's statement selects: the row type is the caller's to name.
  return { query: query as Queryable['query'] };
}
