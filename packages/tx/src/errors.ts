/** Every `code` a @switchboard/tx error can carry. */
export type TxErrorCode =
  | 'RETRIES_EXHAUSTED'
  | 'TRANSACTION_TIMEOUT'
  | 'TRANSACTION_CLOSED'
  | 'TRANSACTION_ABORTED'
  | 'COMMIT_OUTCOME_UNKNOWN'
  | 'CONCURRENT_SAVEPOINT'
  | 'PUBLISH_TIMEOUT'
  | 'SAGA_FAILED';

const CODES = new Set<string>([
  'RETRIES_EXHAUSTED',
  'TRANSACTION_TIMEOUT',
  'TRANSACTION_CLOSED',
  'TRANSACTION_ABORTED',
  'COMMIT_OUTCOME_UNKNOWN',
  'CONCURRENT_SAVEPOINT',
  'PUBLISH_TIMEOUT',
  'SAGA_FAILED',
]);

/** Base class of this package's errors; compare `code`, not the class. */
export class TxError extends Error {
  constructor(
    readonly code: TxErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * A serialization failure (`40001`) or deadlock (`40P01`) aborted the transaction on every
 * attempt. `cause` is the last `pg` error; `sqlState` its code.
 */
export class RetriesExhaustedError extends TxError {
  constructor(
    /** How many times the callback ran (retries + 1). */
    readonly attempts: number,
    /** `40001` or `40P01`. */
    readonly sqlState: string,
    cause: unknown,
  ) {
    super('RETRIES_EXHAUSTED', `transaction failed ${attempts} time(s) with SQLSTATE ${sqlState}; giving up`, {
      cause,
    });
  }
}

/** The transaction ran longer than `timeoutMs` and was rolled back. */
export class TransactionTimeoutError extends TxError {
  constructor(
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super('TRANSACTION_TIMEOUT', `transaction exceeded its ${timeoutMs} ms timeout and was rolled back`, options);
  }
}

/** A transaction (or savepoint) object was used after it finished. */
export class TransactionClosedError extends TxError {
  constructor(message = 'the transaction is finished: it cannot run queries or register hooks any more') {
    super('TRANSACTION_CLOSED', message);
  }
}

/**
 * The callback returned normally, but an earlier statement had failed and aborted the
 * transaction (the callback caught the error without a savepoint), so COMMIT rolled it back.
 * Catch errors inside `tx.savepoint(...)` to recover from them and keep the transaction.
 */
export class TransactionAbortedError extends TxError {
  constructor() {
    super(
      'TRANSACTION_ABORTED',
      'the transaction was aborted by an earlier error the callback caught; COMMIT rolled it back',
    );
  }
}

/**
 * The connection failed while COMMIT was in flight: the transaction may or may not have been
 * committed. Neither `afterCommit` nor `afterRollback` hooks ran. Make the work idempotent (or
 * check its effect) before retrying.
 */
export class CommitOutcomeUnknownError extends TxError {
  constructor(cause: unknown) {
    super('COMMIT_OUTCOME_UNKNOWN', 'the connection failed during COMMIT: the outcome is unknown', { cause });
  }
}

/** Two savepoints were opened concurrently on one transaction level; nest them or await each. */
export class ConcurrentSavepointError extends TxError {
  constructor() {
    super(
      'CONCURRENT_SAVEPOINT',
      'a savepoint is already open on this transaction level: await it before opening another',
    );
  }
}

/** `publish` did not settle within the relay's `publishTimeoutMs`; the event will be retried. */
export class PublishTimeoutError extends TxError {
  constructor(
    readonly eventId: string,
    readonly timeoutMs: number,
  ) {
    super('PUBLISH_TIMEOUT', `publishing event ${eventId} took longer than ${timeoutMs} ms`);
  }
}

/** One compensation that threw while a saga was being undone. */
export interface CompensationFailure {
  /** The step whose `compensate` threw. */
  step: string;
  error: unknown;
}

/**
 * A saga step failed. The completed steps were compensated in reverse order, each once;
 * `compensated` lists those that succeeded, `compensationFailures` those that threw (their
 * effects are still in place: repair them by hand or by a later job).
 */
export class SagaError extends TxError {
  constructor(
    /** The name of the step whose `execute` threw. */
    readonly failedStep: string,
    cause: unknown,
    /** Steps compensated successfully, in the order they were compensated. */
    readonly compensated: readonly string[],
    /** Compensations that threw, in the order they were attempted. */
    readonly compensationFailures: readonly CompensationFailure[],
  ) {
    const tail =
      compensationFailures.length === 0
        ? 'all completed steps were compensated'
        : `compensation failed for ${compensationFailures.map((failure) => failure.step).join(', ')}`;
    super('SAGA_FAILED', `saga step "${failedStep}" failed; ${tail}`, { cause });
  }
}

/** True for errors of this package, also across duplicate installs (checks `code`). */
export function isTxError(error: unknown): error is TxError {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === 'string' && CODES.has(code);
}
