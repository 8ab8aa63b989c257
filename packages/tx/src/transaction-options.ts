import { wholeNumberOption } from '@switchboard/hot-path';
import type { HookPhase, IsolationLevel, TransactionOptions } from './transaction.ts';
import { warnHookError } from './transaction-hooks.ts';

/** {@link TransactionOptions} checked, with defaults filled in and the BEGIN statement built. */
export interface ResolvedTransactionOptions {
  beginSql: string;
  /** As given (for the transaction span); `undefined`: the server's default. */
  isolation: IsolationLevel | undefined;
  readOnly: boolean;
  retries: number;
  initialMs: number;
  maxMs: number;
  timeoutMs: number | undefined;
  onRetry: ((error: unknown, attempt: number) => void) | undefined;
  onHookError: (error: unknown, phase: HookPhase) => void;
}

const ISOLATIONS = new Set<string>(['read uncommitted', 'read committed', 'repeatable read', 'serializable']);

function resolve(options: TransactionOptions): ResolvedTransactionOptions {
  const { isolation, readOnly = false, deferrable = false, retries = 3, timeoutMs } = options;
  if (isolation !== undefined && !ISOLATIONS.has(isolation)) {
    throw new TypeError(`isolation must be one of ${[...ISOLATIONS].join(', ')}; got ${String(isolation)}`);
  }
  wholeNumberOption('withTransaction', 'retries', retries, { min: 0 });
  const initialMs = options.backoff?.initialMs ?? 5;
  const maxMs = options.backoff?.maxMs ?? 500;
  if (!(initialMs >= 0) || !(maxMs >= initialMs)) throw new TypeError('backoff needs 0 <= initialMs <= maxMs');
  if (timeoutMs !== undefined) wholeNumberOption('withTransaction', 'timeoutMs', timeoutMs, { min: 1 });
  let beginSql = 'BEGIN';
  if (isolation) beginSql += ` ISOLATION LEVEL ${isolation.toUpperCase()}`;
  if (readOnly) beginSql += ' READ ONLY';
  if (deferrable) beginSql += ' DEFERRABLE';
  // One round trip: the simple query protocol accepts several statements.
  if (timeoutMs !== undefined) beginSql += `; SET LOCAL statement_timeout = ${timeoutMs}`;
  return {
    beginSql,
    isolation,
    readOnly,
    retries,
    initialMs,
    maxMs,
    timeoutMs,
    onRetry: options.onRetry,
    onHookError: options.onHookError ?? warnHookError,
  };
}

const DEFAULTS = resolve({});
// Callers usually pass the same options object on every call (a module constant): check it once.
const resolved = new WeakMap<TransactionOptions, ResolvedTransactionOptions>();

/** Resolves `options`, once per options object; throws a `TypeError` for a bad option. */
export function resolveTransactionOptions(options: TransactionOptions | undefined): ResolvedTransactionOptions {
  if (!options) return DEFAULTS;
  let result = resolved.get(options);
  if (!result) {
    result = resolve(options);
    resolved.set(options, result);
  }
  return result;
}
