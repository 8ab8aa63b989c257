import { type CompensationFailure, SagaError } from './errors.ts';
import { type TransactionTracing, transactionTracing } from './transaction-tracing.ts';

/** One step of a saga: an action and, optionally, how to undo it. */
export interface SagaStep<Context = unknown, Result = unknown> {
  /** Unique within the saga; named in {@link SagaError}. */
  name: string;
  /** Does the work. Runs at most once per saga. */
  execute(context: Context): Promise<Result> | Result;
  /**
   * Undoes the work after a later step failed; receives what `execute` returned. Runs at most once,
   * and only if `execute` completed. Make it idempotent if you retry compensations yourself.
   */
  compensate?(context: Context, result: Result): Promise<unknown> | unknown;
}

/** Options of {@link runSaga}. */
export interface SagaOptions<Context> {
  /** Passed to every `execute` and `compensate`. @default {} */
  context?: Context;
}

/** What a successful saga returns. */
export interface SagaResult<Context> {
  /** What each step's `execute` returned, by step name. */
  results: Record<string, unknown>;
  context: Context;
}

/**
 * Runs `steps` in order. If one fails, the steps that completed are compensated in reverse order,
 * each once (a compensation that throws does not stop the others), and a {@link SagaError} names
 * the failed step, its cause, and the compensations that failed. No step is ever executed twice.
 *
 * In-process and not durable: if the process dies mid-saga, nothing resumes or compensates it.
 * For work that must survive a crash, record progress in Postgres (e.g. drive steps from outbox
 * events) instead.
 *
 * With the package's default telemetry on (`setDefaultTelemetry`), the saga runs in a `saga`
 * span with a `saga step <name>` span per step and a `saga compensate <name>` per compensation.
 *
 * @example
 * await runSaga([
 *   { name: 'reserve', execute: () => stock.reserve(sku), compensate: (_, id) => stock.release(id) },
 *   { name: 'charge', execute: () => payments.charge(card, amount), compensate: (_, id) => payments.refund(id) },
 *   { name: 'ship', execute: () => shipping.book(order) },
 * ]);
 */
export async function runSaga<Context = Record<string, unknown>>(
  // biome-ignore lint/suspicious/noExplicitAny: each step has its own result type.
  steps: readonly SagaStep<Context, any>[],
  options: SagaOptions<Context> = {},
): Promise<SagaResult<Context>> {
  if (!Array.isArray(steps)) throw new TypeError('runSaga needs an array of steps');
  const names = new Set<string>();
  for (const step of steps) {
    if (typeof step?.name !== 'string' || step.name === '') throw new TypeError('every saga step needs a name');
    if (names.has(step.name)) throw new TypeError(`duplicate saga step name "${step.name}"`);
    names.add(step.name);
    if (typeof step.execute !== 'function') throw new TypeError(`saga step "${step.name}" needs an execute function`);
    if (step.compensate !== undefined && typeof step.compensate !== 'function') {
      throw new TypeError(`saga step "${step.name}" has a compensate that is not a function`);
    }
  }
  const context = (options.context ?? {}) as Context;
  const tracing = transactionTracing();
  if (tracing) return tracing.saga(steps.length, () => runSteps(steps, context, tracing));
  return runSteps(steps, context, undefined);
}

async function runSteps<Context>(
  // biome-ignore lint/suspicious/noExplicitAny: each step has its own result type.
  steps: readonly SagaStep<Context, any>[],
  context: Context,
  tracing: TransactionTracing | undefined,
): Promise<SagaResult<Context>> {
  const completed: { step: SagaStep<Context, unknown>; result: unknown }[] = [];
  const results: Record<string, unknown> = {};
  for (const step of steps) {
    let result: unknown;
    try {
      result = await (tracing ? tracing.step('step', step.name, () => step.execute(context)) : step.execute(context));
    } catch (cause) {
      const compensated: string[] = [];
      const failures: CompensationFailure[] = [];
      for (const done of completed.reverse()) {
        if (!done.step.compensate) continue;
        try {
          await (tracing
            ? tracing.step('compensate', done.step.name, () => done.step.compensate?.(context, done.result))
            : done.step.compensate(context, done.result));
          compensated.push(done.step.name);
        } catch (error) {
          failures.push({ step: done.step.name, error });
        }
      }
      throw new SagaError(step.name, cause, compensated, failures);
    }
    completed.push({ step, result });
    results[step.name] = result;
  }
  return { results, context };
}
