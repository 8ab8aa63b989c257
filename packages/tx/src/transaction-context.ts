import { AsyncLocalStorage } from 'node:async_hooks';
import {
  checkArguments,
  isTransaction,
  type Transaction,
  type TransactionOptions,
  type TransactionPool,
} from './transaction.ts';
import type { TransactionLevel } from './transaction-level.ts';
import { resolveTransactionOptions } from './transaction-options.ts';
import { runWithRetries } from './transaction-retries.ts';

/**
 * Ambient transactions, opt-in: inside `context.withTransaction(pool, fn)`, code that calls
 * `context.withTransaction(pool, ...)` again (with the same pool) joins the running transaction as
 * a savepoint instead of opening a second connection, and `context.current()` returns the
 * innermost open transaction. Built on AsyncLocalStorage.
 */
export interface TransactionContext {
  /**
   * Like {@link withTransaction}; joins the ambient transaction (as a savepoint) when one is open
   * on the same pool, otherwise starts a new one that becomes ambient inside `fn`.
   */
  withTransaction<T>(
    poolOrTx: TransactionPool | Transaction,
    fn: (tx: Transaction) => Promise<T>,
    options?: TransactionOptions,
  ): Promise<T>;
  /** The innermost open transaction of this context in the current async flow, if any. */
  current(): Transaction | undefined;
}

/**
 * Creates an ambient transaction context. Explicit `tx` passing stays the default of this package;
 * use a context where threading `tx` through layers you do not own is impractical.
 *
 * @example
 * const transactions = createTransactionContext();
 * await transactions.withTransaction(pool, async () => {
 *   await repository.save(user); // calls transactions.withTransaction(pool, ...) itself: joins
 * });
 */
export function createTransactionContext(): TransactionContext {
  const storage = new AsyncLocalStorage<TransactionLevel>();
  const current = (): TransactionLevel | undefined => {
    const level = storage.getStore();
    // A finished savepoint or transaction is no longer ambient (e.g. in work it left running).
    return level?.closed ? undefined : level;
  };
  return {
    withTransaction<T>(
      poolOrTx: TransactionPool | Transaction,
      fn: (tx: Transaction) => Promise<T>,
      options?: TransactionOptions,
    ): Promise<T> {
      try {
        checkArguments(poolOrTx, fn);
        if (isTransaction(poolOrTx)) {
          return poolOrTx.savepoint((tx) => storage.run(tx as TransactionLevel, fn, tx));
        }
        const ambient = current();
        if (ambient && ambient.attemptState.pool === poolOrTx) {
          return ambient.savepoint((tx) => storage.run(tx as TransactionLevel, fn, tx));
        }
        return runWithRetries(poolOrTx, fn, resolveTransactionOptions(options), storage);
      } catch (error) {
        return Promise.reject(error);
      }
    },
    current,
  };
}
