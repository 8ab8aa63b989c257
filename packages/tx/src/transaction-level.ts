import type { AsyncLocalStorage } from 'node:async_hooks';
import type { PoolClient, QueryConfig, QueryResult, QueryResultRow } from 'pg';
import { ConcurrentSavepointError, TransactionClosedError, TransactionTimeoutError } from './errors.ts';
import { isRetriable } from './sql-state.ts';
import type { Transaction, TransactionHook, TransactionPool } from './transaction.ts';
import type { ResolvedTransactionOptions } from './transaction-options.ts';
import type { TransactionTracing } from './transaction-tracing.ts';

/**
 * Marks the objects {@link TransactionLevel} creates. A registered symbol, so that `isTransaction`
 * recognizes a transaction made by another copy of this package.
 */
export const TRANSACTION_BRAND = Symbol.for('@switchboard/tx.transaction');

/** State shared by every level of one attempt of an outermost transaction. */
export class AttemptState {
  savepoints = 0;
  /** The first serialization failure / deadlock seen: the transaction is doomed and will be retried. */
  doomed: unknown;
  timedOut = false;
  /** A `ROLLBACK TO SAVEPOINT` failed (broken connection): the transaction must not commit. */
  poisoned: unknown;
  /** afterRollback hooks of savepoints that rolled back: run once the transaction ends. */
  readonly orphanedRollbackHooks: TransactionHook[] = [];
  readonly controller = new AbortController();

  constructor(
    readonly client: PoolClient,
    readonly pool: TransactionPool,
    readonly number: number,
    readonly options: ResolvedTransactionOptions,
    readonly storage: AsyncLocalStorage<TransactionLevel> | undefined,
    /** The savepoint spans, when the transaction is traced. */
    readonly tracing: TransactionTracing | undefined,
  ) {}
}

/**
 * The {@link Transaction} handed to callbacks: depth 0 is the transaction itself, each savepoint
 * a level below it. Hooks stay with the level that registered them until its outcome is known.
 */
export class TransactionLevel implements Transaction {
  readonly [TRANSACTION_BRAND] = true;
  closed = false;
  savepointOpen = false;
  readonly commitHooks: TransactionHook[] = [];
  readonly rollbackHooks: TransactionHook[] = [];

  constructor(
    readonly attemptState: AttemptState,
    readonly depth: number,
  ) {}

  get client(): PoolClient {
    return this.attemptState.client;
  }

  get attempt(): number {
    return this.attemptState.number;
  }

  get signal(): AbortSignal {
    return this.attemptState.controller.signal;
  }

  query<R extends QueryResultRow = QueryResultRow>(
    textOrConfig: string | QueryConfig,
    values?: unknown[],
  ): Promise<QueryResult<R>> {
    const state = this.attemptState;
    if (state.timedOut) return Promise.reject(new TransactionTimeoutError(state.options.timeoutMs ?? 0));
    if (this.closed) return Promise.reject(new TransactionClosedError());
    const pending =
      typeof textOrConfig === 'string'
        ? state.client.query<R>(textOrConfig, values)
        : state.client.query<R>(textOrConfig as QueryConfig);
    return pending.catch((error: unknown) => {
      if (state.doomed === undefined && isRetriable(error)) state.doomed = error;
      throw error;
    });
  }

  afterCommit(hook: TransactionHook): void {
    if (typeof hook !== 'function') throw new TypeError('afterCommit needs a function');
    if (this.closed) throw new TransactionClosedError();
    this.commitHooks.push(hook);
  }

  afterRollback(hook: TransactionHook): void {
    if (typeof hook !== 'function') throw new TypeError('afterRollback needs a function');
    if (this.closed) throw new TransactionClosedError();
    this.rollbackHooks.push(hook);
  }

  savepoint<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    const { tracing } = this.attemptState;
    if (tracing) return tracing.savepoint(this.depth + 1, () => this.runSavepoint(fn));
    return this.runSavepoint(fn);
  }

  private async runSavepoint<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    if (this.closed) throw new TransactionClosedError();
    if (this.savepointOpen) throw new ConcurrentSavepointError();
    const state = this.attemptState;
    const name = `switchboard_sp_${++state.savepoints}`;
    this.savepointOpen = true;
    try {
      await this.query(`SAVEPOINT ${name}`);
      const child = new TransactionLevel(state, this.depth + 1);
      let result: T;
      try {
        result = await (state.storage ? state.storage.run(child, fn, child) : fn(child));
        if (state.doomed !== undefined) throw state.doomed;
        await this.query(`RELEASE SAVEPOINT ${name}`);
      } catch (error) {
        child.closed = true;
        // A doomed or timed-out transaction is rolled back as a whole by the outermost level.
        if (state.doomed === undefined && !state.timedOut) {
          try {
            await this.query(`ROLLBACK TO SAVEPOINT ${name}`);
          } catch (rollbackError) {
            // The caller gets the error that failed the savepoint; the outermost level refuses to commit.
            state.poisoned ??= rollbackError;
          }
        }
        state.orphanedRollbackHooks.push(...child.rollbackHooks);
        throw error;
      }
      child.closed = true;
      this.commitHooks.push(...child.commitHooks);
      this.rollbackHooks.push(...child.rollbackHooks);
      return result;
    } finally {
      this.savepointOpen = false;
    }
  }
}
