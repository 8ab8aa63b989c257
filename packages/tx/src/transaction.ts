import type { PoolClient, QueryConfig, QueryResult, QueryResultRow } from 'pg';
import { TRANSACTION_BRAND } from './transaction-level.ts';
import { resolveTransactionOptions } from './transaction-options.ts';
import { runWithRetries } from './transaction-retries.ts';

/** What `withTransaction` needs of a pool: a `pg.Pool` (or anything whose `connect` hands out a `pg.PoolClient`). */
export interface TransactionPool {
  connect(): Promise<PoolClient>;
}

/** SQL isolation levels, as written after `BEGIN ISOLATION LEVEL`. */
export type IsolationLevel = 'read uncommitted' | 'read committed' | 'repeatable read' | 'serializable';

/** When a hook threw: after a commit or after a rollback. */
export type HookPhase = 'afterCommit' | 'afterRollback';

/** Options of {@link withTransaction}. Only the outermost call uses them; nested calls become savepoints. */
export interface TransactionOptions {
  /** `BEGIN ISOLATION LEVEL ...`. @default the server's default (normally 'read committed') */
  isolation?: IsolationLevel;
  /** `READ ONLY`. @default false */
  readOnly?: boolean;
  /** `DEFERRABLE` (useful with `serializable` + `readOnly`: never fails, may wait). @default false */
  deferrable?: boolean;
  /**
   * How many times the whole callback is run again after a serialization failure (`40001`) or a
   * deadlock (`40P01`), including when one surfaces at COMMIT. `0` disables retrying.
   * @default 3
   */
  retries?: number;
  /**
   * Jittered exponential backoff between attempts: attempt n waits a random time in
   * `[0, min(maxMs, initialMs * 2^(n-1))]` ms ("full jitter").
   * @default { initialMs: 5, maxMs: 500 }
   */
  backoff?: { initialMs?: number; maxMs?: number };
  /**
   * Upper bound for the whole transaction, in ms. Every statement runs under
   * `SET LOCAL statement_timeout = timeoutMs`; when the deadline passes, the transaction is rolled
   * back, further `tx.query` calls reject, and the caller gets a {@link TransactionTimeoutError}.
   * Not retried. @default none
   */
  timeoutMs?: number;
  /** Called before each retry (monitoring). `attempt` is the attempt that failed, from 1. */
  onRetry?: (error: unknown, attempt: number) => void;
  /**
   * Receives errors thrown by `afterCommit` / `afterRollback` hooks: they never reach the caller
   * (its transaction already has its outcome). @default `process.emitWarning`
   */
  onHookError?: (error: unknown, phase: HookPhase) => void;
}

/** A hook run once the transaction's outcome is known; it may be async (it is awaited). */
export type TransactionHook = () => unknown;

/**
 * A transaction (or a savepoint inside one) on a single pooled connection. Pass it explicitly to
 * the code that must take part in it.
 */
export interface Transaction {
  /** Runs a statement on the transaction's connection; same arguments and result as `pg`'s `client.query`. */
  query<R extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
  query<R extends QueryResultRow = QueryResultRow>(config: QueryConfig): Promise<QueryResult<R>>;
  /**
   * Runs `fn` inside `SAVEPOINT`: on success `RELEASE`, on error `ROLLBACK TO SAVEPOINT` (the
   * outer work is kept) and the error is rethrown unchanged. Savepoints nest; open one at a time
   * per level.
   */
  savepoint<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
  /**
   * Runs `hook` after the outermost transaction commits. A hook registered in a savepoint that
   * rolls back is dropped. Errors go to `onHookError`, never to the caller.
   */
  afterCommit(hook: TransactionHook): void;
  /**
   * Runs `hook` after the work it belongs to is rolled back: the whole transaction (also each
   * failed attempt before a retry), or the savepoint it was registered in (then once the
   * outermost transaction has ended, whatever its outcome).
   */
  afterRollback(hook: TransactionHook): void;
  /** The raw `pg` client, for APIs that need one (COPY streams, cursors). Never run BEGIN/COMMIT on it. */
  readonly client: PoolClient;
  /** 0 for the transaction itself, 1 for a savepoint in it, and so on. */
  readonly depth: number;
  /** Which attempt of the outermost transaction this is, from 1. */
  readonly attempt: number;
  /** Aborted when the transaction times out: pass it to work that should stop then. */
  readonly signal: AbortSignal;
}

/** True when `value` is a transaction object of this package (also across duplicate installs). */
export function isTransaction(value: unknown): value is Transaction {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[TRANSACTION_BRAND] === true;
}

/** Throws the `TypeError` for a call that could never work, before anything is opened. */
export function checkArguments(poolOrTx: unknown, fn: unknown): void {
  if (typeof fn !== 'function') throw new TypeError('withTransaction needs a callback');
  if (!isTransaction(poolOrTx) && typeof (poolOrTx as TransactionPool | null)?.connect !== 'function') {
    throw new TypeError('withTransaction needs a pg.Pool (or a transaction to nest in)');
  }
}

/**
 * Runs `fn` in a transaction on one connection of `pool`: BEGIN, your statements, COMMIT; on an
 * error ROLLBACK and the error is rethrown unchanged (the same object). The connection is always
 * released (and discarded by the pool if it broke). A serialization failure (`40001`) or deadlock
 * (`40P01`), also at COMMIT, reruns the whole callback after a jittered backoff, up to `retries`
 * times; then {@link RetriesExhaustedError}. Keep side effects that must happen once out of the
 * callback: register them with `tx.afterCommit`.
 *
 * Given a transaction instead of a pool, runs `fn` in a savepoint of it (options are ignored
 * there: only the outermost level decides isolation, timeout and retries).
 *
 * With the package's default telemetry on (`setDefaultTelemetry`), the transaction runs in a
 * `transaction` span with a `transaction attempt` span per attempt and a `savepoint` span per
 * nested level.
 *
 * @example
 * const total = await withTransaction(pool, async (tx) => {
 *   await tx.query('UPDATE counters SET n = n + 1 WHERE id = $1', [id]);
 *   tx.afterCommit(() => metrics.increment('counter'));
 *   return (await tx.query<{ n: number }>('SELECT n FROM counters WHERE id = $1', [id])).rows[0]?.n;
 * }, { isolation: 'serializable', retries: 10 });
 */
export function withTransaction<T>(
  poolOrTx: TransactionPool | Transaction,
  fn: (tx: Transaction) => Promise<T>,
  options?: TransactionOptions,
): Promise<T> {
  try {
    checkArguments(poolOrTx, fn);
    if (isTransaction(poolOrTx)) return poolOrTx.savepoint(fn);
    return runWithRetries(poolOrTx, fn, resolveTransactionOptions(options), undefined);
  } catch (error) {
    return Promise.reject(error);
  }
}
