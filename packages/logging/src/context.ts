import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What every log line written inside `runWithLogContext` carries. The named fields map to their
 * Elastic Common Schema names (`requestId` → `http.request.id`, `userId` → `user.id`,
 * `operationName` / `operationType` → `graphql.operation.name` / `.type`); any other field is
 * written as it is.
 */
export interface LogContext {
  /** The request's id (`x-request-id`, or one made for it). */
  requestId?: string;
  /** The authenticated user, once known. */
  userId?: string;
  /** The GraphQL operation's name. */
  operationName?: string;
  /** `query`, `mutation` or `subscription`. */
  operationType?: string;
  [field: string]: unknown;
}

// One store per process even when the package is loaded twice (its ESM and its CommonJS build,
// or two installed copies): a context set through one copy is seen by loggers of the other.
const STORE_KEY = Symbol.for('@switchboard/logging.context');
const globals = globalThis as { [STORE_KEY]?: AsyncLocalStorage<LogContext> };
const storage: AsyncLocalStorage<LogContext> = globals[STORE_KEY] ?? new AsyncLocalStorage<LogContext>();
globals[STORE_KEY] = storage;

/**
 * Runs `fn` with `fields` added to the current log context (an outer context's fields stay
 * unless `fields` replaces them). Everything `fn` starts, awaits, schedules or streams carries
 * the context, and every log line written there includes it.
 *
 * @example
 * runWithLogContext({ requestId: randomUUID() }, () => handle(request));
 */
export function runWithLogContext<R>(fields: LogContext, fn: () => R): R {
  if (fields === null || typeof fields !== 'object') {
    throw new TypeError('runWithLogContext: fields must be an object');
  }
  if (typeof fn !== 'function') throw new TypeError('runWithLogContext: fn must be a function');
  const outer = storage.getStore();
  return storage.run(outer === undefined ? { ...fields } : { ...outer, ...fields }, fn);
}

/** The current log context (a copy), or `undefined` outside any `runWithLogContext`. */
export function logContext(): Readonly<LogContext> | undefined {
  const current = storage.getStore();
  return current === undefined ? undefined : { ...current };
}

/**
 * Adds fields to the current context, for the rest of the work it covers (e.g. the user id,
 * known once the request is authenticated). Returns `false`, changing nothing, outside any
 * context.
 */
export function setLogContext(fields: LogContext): boolean {
  if (fields === null || typeof fields !== 'object') throw new TypeError('setLogContext: fields must be an object');
  const current = storage.getStore();
  if (current === undefined) return false;
  Object.assign(current, fields);
  return true;
}

/**
 * `fn`, bound to the current context: for callbacks that a queue, a pool or an event emitter runs
 * later, outside the work that registered them.
 */
export function bindLogContext<F extends (...args: never[]) => unknown>(fn: F): F {
  if (typeof fn !== 'function') throw new TypeError('bindLogContext: fn must be a function');
  const current = storage.getStore();
  if (current === undefined) return fn;
  return ((...args: Parameters<F>) => storage.run(current, () => fn(...args))) as F;
}

/**
 * The context object itself, not a copy, for the logger's mixin (read once per line): internal.
 */
export const currentLogContext = (): LogContext | undefined => storage.getStore();
