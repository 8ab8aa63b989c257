import type { AsyncLocalStorage } from 'node:async_hooks';
import type { SpanLike } from '@switchboard/hot-path';
import { RetriesExhaustedError } from './errors.ts';
import type { Transaction, TransactionPool } from './transaction.ts';
import { runAttempt } from './transaction-attempt.ts';
import { runHooks } from './transaction-hooks.ts';
import type { TransactionLevel } from './transaction-level.ts';
import type { ResolvedTransactionOptions } from './transaction-options.ts';
import { type TransactionTracing, transactionTracing } from './transaction-tracing.ts';

/**
 * Runs an outermost transaction: attempts until one commits, fails for good, or the retries are
 * used up. A failed attempt's afterRollback hooks run before the next attempt starts, so they can
 * undo what that attempt did outside the database.
 */
export function runWithRetries<T>(
  pool: TransactionPool,
  fn: (tx: Transaction) => Promise<T>,
  options: ResolvedTransactionOptions,
  storage: AsyncLocalStorage<TransactionLevel> | undefined,
): Promise<T> {
  // The package's default telemetry, read once per transaction.
  const tracing = transactionTracing();
  if (tracing) return tracing.transaction(options, (span) => retryLoop(pool, fn, options, storage, tracing, span));
  return retryLoop(pool, fn, options, storage, undefined, undefined);
}

async function retryLoop<T>(
  pool: TransactionPool,
  fn: (tx: Transaction) => Promise<T>,
  options: ResolvedTransactionOptions,
  storage: AsyncLocalStorage<TransactionLevel> | undefined,
  tracing: TransactionTracing | undefined,
  span: SpanLike | undefined,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const outcome = tracing
      ? await tracing.attempt(attempt, () => runAttempt(pool, fn, options, attempt, storage, tracing))
      : await runAttempt(pool, fn, options, attempt, storage, undefined);
    if (span) tracing?.attempts(span, attempt);
    if (outcome.ok) return outcome.value;
    await runHooks(outcome.hooksToRun, 'afterRollback', options.onHookError);
    if (outcome.retriable === undefined) throw outcome.error;
    if (attempt > options.retries) throw new RetriesExhaustedError(attempt, outcome.retriable, outcome.error);
    options.onRetry?.(outcome.error, attempt);
    // Full jitter: contenders that failed together spread out instead of colliding again.
    const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** (attempt - 1));
    const delay = Math.random() * ceiling;
    if (span) tracing?.retrying(span, attempt, outcome.retriable, delay);
    if (delay >= 1) await new Promise((resolve) => setTimeout(resolve, delay));
  }
}
