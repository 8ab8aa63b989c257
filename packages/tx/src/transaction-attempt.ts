import type { AsyncLocalStorage } from 'node:async_hooks';
import type { QueryResult } from 'pg';
import { guardConnection } from './connection.ts';
import { CommitOutcomeUnknownError, TransactionAbortedError, TransactionTimeoutError } from './errors.ts';
import { isRetriable, isStatementTimeout, sqlStateOf } from './sql-state.ts';
import type { Transaction, TransactionHook, TransactionPool } from './transaction.ts';
import { runHooks } from './transaction-hooks.ts';
import { AttemptState, TransactionLevel } from './transaction-level.ts';
import type { ResolvedTransactionOptions } from './transaction-options.ts';
import type { TransactionTracing } from './transaction-tracing.ts';

/**
 * How one attempt ended. A failure carries the error for the caller, the SQLSTATE that makes it
 * worth another attempt (if any) and the afterRollback hooks the retry loop runs before deciding.
 */
export type AttemptOutcome<T> =
  | { ok: true; value: T }
  | { ok: false; error: unknown; retriable: string | undefined; hooksToRun: TransactionHook[] };

/**
 * One attempt of an outermost transaction on a connection of its own: BEGIN, the callback (under
 * the timeout), COMMIT or ROLLBACK, release. Never throws: the retry loop decides what an error
 * means.
 */
export async function runAttempt<T>(
  pool: TransactionPool,
  fn: (tx: Transaction) => Promise<T>,
  options: ResolvedTransactionOptions,
  number: number,
  storage: AsyncLocalStorage<TransactionLevel> | undefined,
  tracing: TransactionTracing | undefined,
): Promise<AttemptOutcome<T>> {
  const startedAt = performance.now();
  const client = await pool.connect();
  const unguard = guardConnection(client);
  const state = new AttemptState(client, pool, number, options, storage, tracing);
  const top = new TransactionLevel(state, 0);
  let timer: NodeJS.Timeout | undefined;
  let broken: Error | undefined;
  let stage: 'begin' | 'body' | 'commit' = 'begin';
  try {
    await client.query(options.beginSql);
    stage = 'body';
    const body = storage ? storage.run(top, fn, top) : fn(top);
    let value: T;
    if (options.timeoutMs === undefined) {
      value = await body;
    } else {
      const timeoutMs = options.timeoutMs;
      // The callback keeps running in the background after a timeout: its failures are expected.
      Promise.resolve(body).catch(() => {});
      value = await Promise.race([
        body,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            state.timedOut = true;
            state.controller.abort(new TransactionTimeoutError(timeoutMs));
            reject(new TransactionTimeoutError(timeoutMs));
          }, timeoutMs);
        }),
      ]);
    }
    if (state.doomed !== undefined) throw state.doomed;
    if (state.poisoned !== undefined) throw state.poisoned;
    top.closed = true;
    stage = 'commit';
    let result: QueryResult;
    try {
      result = await client.query('COMMIT');
    } catch (error) {
      if (sqlStateOf(error) === undefined) {
        broken = error instanceof Error ? error : new Error(String(error));
        throw new CommitOutcomeUnknownError(error);
      }
      throw error;
    }
    // COMMIT of an aborted transaction "succeeds" with the tag ROLLBACK.
    if (result.command === 'ROLLBACK') {
      stage = 'body';
      throw new TransactionAbortedError();
    }
    clearTimeout(timer);
    unguard();
    client.release();
    await runHooks([...top.commitHooks, ...state.orphanedRollbackHooks], 'afterCommit', options.onHookError);
    return { ok: true, value };
  } catch (error) {
    clearTimeout(timer);
    top.closed = true;
    if (error instanceof CommitOutcomeUnknownError) {
      unguard();
      client.release(broken);
      return { ok: false, error, retriable: undefined, hooksToRun: [] };
    }
    // After a failed COMMIT the server has already ended the transaction; ROLLBACK is harmless then.
    if (stage !== 'begin' || sqlStateOf(error) !== undefined) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      }
    } else {
      broken = error instanceof Error ? error : new Error(String(error));
    }
    // A broken connection is handed back with the error so the pool discards it.
    unguard();
    client.release(broken);
    const doomedBy = state.doomed ?? (isRetriable(error) ? error : undefined);
    let surfaced = error;
    // Our statement_timeout may fire before the timer does: the same timeout, reported alike (a
    // lower statement_timeout the callback set itself fires earlier and stays a plain pg error).
    if (
      options.timeoutMs !== undefined &&
      isStatementTimeout(error) &&
      performance.now() - startedAt >= options.timeoutMs
    ) {
      state.timedOut = true;
      state.controller.abort(new TransactionTimeoutError(options.timeoutMs, { cause: error }));
    }
    if (state.timedOut && !(error instanceof TransactionTimeoutError)) {
      surfaced = new TransactionTimeoutError(options.timeoutMs ?? 0, { cause: error });
    }
    return {
      ok: false,
      error: doomedBy !== undefined && !state.timedOut ? doomedBy : surfaced,
      retriable: doomedBy !== undefined && !state.timedOut ? sqlStateOf(doomedBy) : undefined,
      hooksToRun: [...top.rollbackHooks, ...state.orphanedRollbackHooks],
    };
  }
}
