/**
 * @switchboard/tx: Postgres transactions that retry and nest, a transactional outbox with a relay
 * that keeps per-key order across instances, and in-process sagas. Migrations for the outbox table
 * are in `@switchboard/tx/postgres`.
 * @packageDocumentation
 */
export {
  CommitOutcomeUnknownError,
  type CompensationFailure,
  ConcurrentSavepointError,
  isTxError,
  PublishTimeoutError,
  RetriesExhaustedError,
  SagaError,
  TransactionAbortedError,
  TransactionClosedError,
  TransactionTimeoutError,
  TxError,
  type TxErrorCode,
} from './errors.ts';
export {
  createOutbox,
  type Outbox,
  type OutboxEvent,
  type OutboxInsertFields,
  type OutboxMessage,
  type OutboxOptions,
  type OutboxStats,
  type Queryable,
  uuidv7,
} from './outbox.ts';
export { ENQUEUE_TRACEPARENT, type Telemetry } from './outbox-tracing.ts';
export {
  type BatchResult,
  createOutboxRelay,
  type DeliveryFailure,
  type OutboxRelay,
  type OutboxRelayEvents,
  type OutboxRelayOptions,
  type RelayPool,
} from './relay.ts';
export { runSaga, type SagaOptions, type SagaResult, type SagaStep } from './saga.ts';
export {
  type HookPhase,
  type IsolationLevel,
  isTransaction,
  type Transaction,
  type TransactionHook,
  type TransactionOptions,
  type TransactionPool,
  withTransaction,
} from './transaction.ts';
export { createTransactionContext, type TransactionContext } from './transaction-context.ts';
export { setDefaultTelemetry } from './transaction-tracing.ts';
