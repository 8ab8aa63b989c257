import type * as pg from 'pg';

/** A result row: `pg`'s own constraint (`{ [column: string]: any }`). */
export type Row = pg.QueryResultRow;

/** A statement: SQL text, or a `pg` query config (`{ text, values, name, types }`). */
export type Statement = string | pg.QueryConfig;

/**
 * Anything with a pg-style `query(text, values)`: what `router.reader()` returns, and what
 * @switchboard/pagination or your own data-access code can take instead of a `pg.Pool`.
 */
export interface DbReader {
  /** Runs a read where the reader's options say; resolves to a plain `pg` result. */
  query<R extends Row = Row>(statement: Statement, values?: readonly unknown[]): Promise<pg.QueryResult<R>>;
}

/**
 * Where a read may run.
 * - `'replica'` (default): a healthy replica, or the primary when none is in rotation; with a
 *   `token`, only a replica that has replayed it (else the primary).
 * - `'primary'`: always the primary (read-modify-write flows, admin screens).
 */
export type ReadConsistency = 'replica' | 'primary';

/** Per-read routing options. */
export interface ReadOptions {
  /**
   * A causal token from `router.captureToken()` (or a header/cookie carrying one): the read sees
   * at least everything committed before it was captured. `null`, `undefined` and `''` mean none.
   */
  token?: string | null | undefined;
  /** @default 'replica' */
  consistency?: ReadConsistency;
}

/**
 * Where causal tokens are kept per user, so that a user's next request, on any instance, reads
 * at least as fresh as their last write. `createMemoryTokenStore()` (one process) or
 * `createRedisTokenStore()` from `@switchboard/db-router/redis` (all instances).
 */
export interface CausalTokenStore {
  /** The latest token stored for `key`, or `undefined`. */
  get(key: string): Promise<string | undefined>;
  /**
   * Stores `token` for `key` unless the stored one is newer or equal (compares WAL positions:
   * a token never goes back, also when two instances write at once).
   *
   * @throws {InvalidCausalTokenError} when `token` is not a valid token.
   */
  advance(key: string, token: string): Promise<void>;
}
