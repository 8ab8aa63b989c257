/** Every `code` a @switchboard/ratelimit error can carry. */
export type RateLimitErrorCode = 'RATE_LIMITED' | 'STORE_UNAVAILABLE' | 'STORE_TIMEOUT';

/** Base class of this package's errors; `code` is stable, compare it instead of the class. */
export class RateLimitError extends Error {
  constructor(
    readonly code: RateLimitErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * A request was refused. Carries what a client needs: `retryAfterMs` (map it to GraphQL
 * `extensions.retryAfterMs` and the HTTP `Retry-After` header) and the limit that refused.
 */
export class RateLimitedError extends RateLimitError {
  readonly retryAfterMs: number;
  readonly limit: number;
  constructor(details: { retryAfterMs: number; limit: number; message?: string }) {
    super('RATE_LIMITED', details.message ?? `Too many requests; retry in ${Math.ceil(details.retryAfterMs / 1000)} s`);
    this.retryAfterMs = details.retryAfterMs;
    this.limit = details.limit;
  }
}

/** The store failed (Redis unreachable, script error) and the policy was to surface it. */
export class StoreUnavailableError extends RateLimitError {
  /**
   * True when the store is up but could not decide this check: its keys hold data the script
   * cannot read (written by something else). Other checks are not affected, so the store is not
   * treated as down.
   */
  readonly keysOnly: boolean;
  constructor(message: string, options?: { cause?: unknown; keysOnly?: boolean }) {
    super('STORE_UNAVAILABLE', message, options);
    this.keysOnly = options?.keysOnly ?? false;
  }
}

/** The store did not answer within `timeoutMs`. */
export class StoreTimeoutError extends RateLimitError {
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super('STORE_TIMEOUT', `rate-limit store did not answer within ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/** True for any error of this package, also across duplicate installs (checks `code`). */
export function isRateLimitError(error: unknown): error is RateLimitError {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    error instanceof Error && (code === 'RATE_LIMITED' || code === 'STORE_UNAVAILABLE' || code === 'STORE_TIMEOUT')
  );
}

/** True when `error` is a refusal (a `RateLimitedError`, from any copy of this package). */
export function isRateLimitedError(error: unknown): error is RateLimitedError {
  return isRateLimitError(error) && error.code === 'RATE_LIMITED';
}
