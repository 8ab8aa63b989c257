/** Every `code` a @switchboard/cache error can carry. */
/** Bad options are a `TypeError` at construction, not a `CacheError`. */
export type CacheErrorCode = 'FETCH_TIMEOUT';

/** Base class of this package's errors; compare `code`, not the class. */
export class CacheError extends Error {
  constructor(
    readonly code: CacheErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The fetcher did not finish within `hardTimeoutMs` and no stale value could stand in. */
export class FetchTimeoutError extends CacheError {
  constructor(
    readonly key: string,
    readonly timeoutMs: number,
  ) {
    super('FETCH_TIMEOUT', `fetching '${key}' took longer than ${timeoutMs} ms`);
  }
}

/** True for any error of this package, also across duplicate installs (checks `code`). */
export function isCacheError(error: unknown): error is CacheError {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && code === 'FETCH_TIMEOUT';
}
