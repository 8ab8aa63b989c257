/**
 * Rejects with `error()` if `promise` has not settled within `timeoutMs`; no timer without a
 * finite timeout. Used for the fetcher's hard timeout: a timer per fetch is affordable there
 * (fetches are rare next to L2 reads, which share one deadline ticker instead).
 */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number | undefined, error?: () => Error): Promise<T> {
  if (timeoutMs === undefined || !Number.isFinite(timeoutMs)) return promise;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(error ? error() : new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (reason: unknown) => {
        clearTimeout(timer);
        reject(reason);
      },
    );
  });
}
