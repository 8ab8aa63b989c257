/**
 * One link of an error's cause chain, or one error of an `AggregateError`: what identifies it,
 * without its stack (the head of the chain carries the stack that matters).
 */
export interface EcsErrorCause {
  /** The constructor's name (`TypeError`, `PostgresError`), else `name`; `typeof` for non-objects. */
  type: string;
  /** The error's own message (not joined with its causes'). */
  message: string;
  /** The error's `code` when it is a string (`ECONNREFUSED`, `23505`, `RATE_LIMITED`). */
  code?: string;
}

/**
 * An error as Elastic Common Schema's `error.*` fields, plus its causes.
 *
 * `cause` is a flat array, the direct cause first, rather than nested objects: Elasticsearch
 * maps `error.cause.type` / `error.cause.message` once, whatever the depth, and a search on
 * `error.cause.code: ECONNREFUSED` finds the line wherever that cause sits in the chain.
 */
export interface EcsError extends EcsErrorCause {
  /** `error.stack` as it is. */
  stack_trace?: string;
  /** The chain of `cause`s, direct cause first, at most 8; stops at a cycle. */
  cause?: EcsErrorCause[];
  /** An `AggregateError`'s (or any error's array of) `errors`, at most 8. */
  errors?: EcsErrorCause[];
}

/** Longest cause chain and `errors` list kept: enough to explain a failure, bounded per line. */
const MAX_LINKS = 8;

/**
 * Text for an object without a string `message`. Never the object's contents: they would reach
 * the log line around redaction (`{ password }` thrown as is).
 */
const NO_MESSAGE = '(no message)';

// Every read goes through here: a getter or a Proxy trap that throws must not turn a log call
// into a crash.
function read(target: object, key: PropertyKey): unknown {
  try {
    return (target as Record<PropertyKey, unknown>)[key];
  } catch {
    return undefined;
  }
}

function typeOf(value: object): string {
  const maker = read(value, 'constructor');
  if (typeof maker === 'function') {
    const name = read(maker, 'name');
    // A plain object's constructor says nothing; its `name` (`{ name: 'HttpError' }`) may.
    if (typeof name === 'string' && name !== '' && name !== 'Object') return name;
  }
  const name = read(value, 'name');
  return typeof name === 'string' && name !== '' ? name : 'Object';
}

function primitiveText(value: unknown): string {
  try {
    return String(value);
  } catch {
    return typeof value;
  }
}

function describe(value: unknown): EcsErrorCause {
  if (value === null) return { type: 'null', message: 'null' };
  // A thrown function is described by kind only: String(fn) would print its source.
  if (typeof value === 'function') return { type: 'function', message: NO_MESSAGE };
  if (typeof value !== 'object') {
    return { type: typeof value, message: primitiveText(value) };
  }
  const message = read(value, 'message');
  const described: EcsErrorCause = {
    type: typeOf(value),
    message: typeof message === 'string' ? message : NO_MESSAGE,
  };
  const code = read(value, 'code');
  if (typeof code === 'string') described.code = code;
  return described;
}

function causesOf(error: object): EcsErrorCause[] | undefined {
  const seen = new Set<unknown>([error]);
  let causes: EcsErrorCause[] | undefined;
  let current: unknown = error;
  for (let depth = 0; depth < MAX_LINKS; depth++) {
    if (current === null || (typeof current !== 'object' && typeof current !== 'function')) break;
    const cause = read(current, 'cause');
    if (cause === undefined || cause === null || seen.has(cause)) break;
    seen.add(cause);
    causes ??= [];
    causes.push(describe(cause));
    current = cause;
  }
  return causes;
}

function isArray(value: unknown): value is unknown[] {
  try {
    return Array.isArray(value);
  } catch {
    // A revoked Proxy.
    return false;
  }
}

function errorsOf(error: object): EcsErrorCause[] | undefined {
  const errors = read(error, 'errors');
  if (!isArray(errors)) return undefined;
  const length = read(errors, 'length');
  if (typeof length !== 'number' || length === 0) return undefined;
  const described: EcsErrorCause[] = [];
  for (let index = 0; index < Math.min(length, MAX_LINKS); index++) described.push(describe(read(errors, index)));
  return described;
}

/**
 * An error (or anything thrown) as ECS `error.*` fields: `type`, `message`, `stack_trace`,
 * `code` (when a string), `cause` (the chain, direct cause first) and `errors` (an
 * `AggregateError`'s). Never throws: getters and Proxy traps that throw are read as missing,
 * cycles end the chain, chains and lists stop at 8. Only these fields are read, so an error's
 * other properties (an HTTP client's request config with its headers) never reach the line.
 *
 * @example
 * serializeError(new Error('send failed', { cause: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }) }));
 * // { type: 'Error', message: 'send failed', stack_trace: 'Error: send failed\n    at …',
 * //   cause: [{ type: 'Error', message: 'refused', code: 'ECONNREFUSED' }] }
 */
export function serializeError(error: unknown): EcsError {
  const serialized: EcsError = describe(error);
  if (error === null || typeof error !== 'object') return serialized;
  const stack = read(error, 'stack');
  if (typeof stack === 'string') serialized.stack_trace = stack;
  const cause = causesOf(error);
  if (cause !== undefined) serialized.cause = cause;
  const errors = errorsOf(error);
  if (errors !== undefined) serialized.errors = errors;
  return serialized;
}

/** `instanceof Error` that survives a Proxy whose `getPrototypeOf` trap throws. */
export function isError(value: unknown): value is Error {
  try {
    return value instanceof Error;
  } catch {
    return false;
  }
}
