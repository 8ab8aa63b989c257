import { withinDeadline } from '@switchboard/hot-path';
import { StoreTimeoutError } from './errors.ts';
import { hashTagOf, storageKey } from './keys.ts';
import { toResult } from './results.ts';
import type { Algorithm, BoundStore, Decision, RateLimitStore, StoreBindOptions, StoreEntry } from './types.ts';

/** The error a store call that did not answer in time fails with. */
export const storeTimeout = (timeoutMs: number): StoreTimeoutError => new StoreTimeoutError(timeoutMs);

/**
 * The bound consume every store has: `store.evaluate('consume', [entry])` under the limiter's
 * timeout, answered by its `onStoreError` policy (`options.fail`) when the store fails. A limiter
 * uses it for a store without `bind`; a store whose own `bind` covers only some algorithms can
 * return it for the others.
 *
 * @example
 * bind(prefix, algorithm, options) {
 *   return algorithm.kind === 'fixed-window' ? myCounter(prefix, algorithm, options) : bindStore(this, prefix, algorithm, options);
 * }
 */
export function bindStore(
  store: RateLimitStore,
  prefix: string,
  algorithm: Algorithm,
  options: StoreBindOptions,
): BoundStore {
  const { blockDurationMs, timeoutMs, hashTag } = options;
  return {
    consume(key, cost) {
      const stored = storageKey(prefix, key, hashTag === undefined ? undefined : hashTagOf(hashTag, key));
      const entry: StoreEntry = { key: stored, algorithm, cost, blockDurationMs };
      let decided: Promise<Decision[]>;
      try {
        decided = withinDeadline(store.evaluate('consume', [entry]), timeoutMs, storeTimeout);
      } catch (error) {
        decided = Promise.reject(error);
      }
      return decided.then(
        (decisions) => {
          options.answered();
          return toResult(decisions[0] as Decision, algorithm);
        },
        (error: unknown) => options.fail(error, key, cost),
      );
    },
  };
}
