import {
  type Attributes,
  failSpan,
  inSpan,
  type OpenTelemetryApi,
  resolveTelemetry,
  SPAN_KIND,
  type SpanLike,
  type TracerLike,
} from '@switchboard/hot-path';
import type { Telemetry } from './outbox-tracing.ts';
import { sqlStateOf } from './sql-state.ts';
import type { ResolvedTransactionOptions } from './transaction-options.ts';

/**
 * The spans of transactions and sagas:
 * - `transaction` around an outermost `withTransaction` (isolation level, read-only, attempts);
 *   each retry is a `retry` event on it with the SQLSTATE that caused it;
 * - `transaction attempt` per attempt, its child (the callback's own spans are its children); a
 *   failed attempt ends in error with its SQLSTATE (`db.response.status_code`);
 * - `savepoint` around a nested transaction;
 * - `saga`, with a `saga step <name>` per executed step and `saga compensate <name>` per
 *   compensation.
 */
export class TransactionTracing {
  readonly #api: OpenTelemetryApi;
  readonly #tracer: TracerLike;

  constructor(api: OpenTelemetryApi) {
    this.#api = api;
    this.#tracer = api.trace.getTracer('@switchboard/tx');
  }

  /** Runs an outermost transaction (all its attempts) in its span. */
  transaction<T>(options: ResolvedTransactionOptions, fn: (span: SpanLike) => Promise<T>): Promise<T> {
    const attributes: Attributes = {
      'db.system.name': 'postgresql',
      'switchboard.tx.isolation_level': options.isolation ?? 'default',
      'switchboard.tx.read_only': options.readOnly,
      'switchboard.tx.max_retries': options.retries,
    };
    if (options.timeoutMs !== undefined) attributes['switchboard.tx.timeout_ms'] = options.timeoutMs;
    return this.#span('transaction', attributes, fn);
  }

  /**
   * Runs one attempt in its span. An attempt reports failure as a value (`ok: false`), not a
   * throw: that failure ends the span in error.
   */
  attempt<O extends { ok: boolean; error?: unknown }>(number: number, fn: () => Promise<O>): Promise<O> {
    return this.#span('transaction attempt', { 'switchboard.tx.attempt': number }, async (span) => {
      const outcome = await fn();
      if (!outcome.ok) fail(span, outcome.error);
      return outcome;
    });
  }

  /** A failed attempt is run again after `delayMs`. */
  retrying(span: SpanLike, attempt: number, sqlState: string, delayMs: number): void {
    span.addEvent('retry', {
      'switchboard.tx.attempt': attempt,
      'db.response.status_code': sqlState,
      'switchboard.tx.retry_delay_ms': Math.round(delayMs),
    });
  }

  /** How many attempts the transaction took, once known. */
  attempts(span: SpanLike, count: number): void {
    span.setAttribute('switchboard.tx.attempts', count);
  }

  /** Runs a savepoint at `depth` (1 for the first level of nesting) in its span. */
  savepoint<T>(depth: number, fn: () => Promise<T>): Promise<T> {
    return this.#span('savepoint', { 'switchboard.tx.depth': depth }, fn);
  }

  /** Runs a saga of `steps` steps in its span. */
  saga<T>(steps: number, fn: () => Promise<T>): Promise<T> {
    return this.#span('saga', { 'switchboard.tx.saga.steps': steps }, fn);
  }

  /** Runs a saga step's `execute` or `compensate` in its span. */
  step<T>(phase: 'step' | 'compensate', name: string, fn: () => T): T {
    return inSpan(
      this.#api,
      this.#tracer,
      `saga ${phase} ${name}`,
      { kind: SPAN_KIND.internal, attributes: { 'switchboard.tx.saga.step': name } },
      fn,
    );
  }

  #span<T>(name: string, attributes: Attributes, fn: (span: SpanLike) => Promise<T>): Promise<T> {
    return inSpan(this.#api, this.#tracer, name, { kind: SPAN_KIND.internal, attributes }, (span) =>
      fn(span).catch((error: unknown) => {
        const code = sqlStateOf(error) ?? sqlStateOf((error as { cause?: unknown } | null)?.cause);
        if (code !== undefined) span.setAttribute('db.response.status_code', code);
        throw error;
      }),
    );
  }
}

function fail(span: SpanLike, error: unknown): void {
  const code = sqlStateOf(error);
  if (code !== undefined) span.setAttribute('db.response.status_code', code);
  failSpan(span, error);
}

let defaultApi: OpenTelemetryApi | undefined;
let defaultTracing: TransactionTracing | undefined;

/**
 * Sets the package's default `telemetry`: the one `withTransaction`, transaction contexts and
 * `runSaga` use (they are plain functions, with no factory to take an option), and the one
 * `createOutbox` / `createOutboxRelay` fall back to when their own `telemetry` option is not given
 * (`telemetry: false` there still turns it off). Factories read it when they are called: set it
 * at startup, before creating them. `true` for the global `@opentelemetry/api` (an optional peer
 * dependency), or the API object; `false` turns it off again. A bad value is a `TypeError`.
 *
 * @example
 * import { setDefaultTelemetry, withTransaction } from '@switchboard/tx';
 *
 * setDefaultTelemetry(true); // once, at startup, after the OpenTelemetry SDK is registered
 * await withTransaction(pool, async (tx) => {
 *   await tx.query('UPDATE counters SET n = n + 1 WHERE id = $1', [id]); // inside a `transaction` span
 * });
 */
export function setDefaultTelemetry(telemetry: Telemetry): void {
  const api = resolveTelemetry('setDefaultTelemetry', telemetry);
  defaultApi = api;
  defaultTracing = api ? new TransactionTracing(api) : undefined;
}

/** The default API (for the factories' fallback), `undefined` when telemetry is off. */
export function defaultTelemetry(): OpenTelemetryApi | undefined {
  return defaultApi;
}

/** The transaction spans of the default `telemetry`, `undefined` when it is off. */
export function transactionTracing(): TransactionTracing | undefined {
  return defaultTracing;
}
