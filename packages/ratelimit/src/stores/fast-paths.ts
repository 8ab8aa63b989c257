// The internal protocol between the stores and the limiter: symbol-keyed, non-enumerable
// methods that let a limiter skip the general store entry for its most common checks. A store
// without them (a custom store, an older version) gets the general path.
import type { Algorithm, RateLimitResult, RateLimitStore } from '../types.ts';

/** What a limiter tells the Redis store about its fixed-window consumes. */
export interface RedisConsumeHooks {
  /** A check never waits longer than this for Redis; then `failed` answers it. */
  timeoutMs: number;
  /** Answers a check that Redis did not (an error or the timeout): the limiter's `onStoreError` policy. */
  failed(error: unknown, key: string, cost: number): Promise<RateLimitResult>;
  /** Redis answered a check of this limiter. */
  answered(): void;
}

/** One fixed-window consume of `cost` for an encoded key, answered as the limiter answers. */
export type RedisConsume = (key: string, cost: number) => Promise<RateLimitResult>;

export const REDIS_FIXED_WINDOW = Symbol.for('@switchboard/ratelimit/redis-fixed-window@2');

/**
 * The single-key fixed-window consume of a limiter with this prefix, algorithm and block
 * duration, if `store` is a Redis store of this copy of the package and `algorithm` a fixed window.
 */
export function redisFixedWindowOf(
  store: RateLimitStore,
  prefix: string,
  algorithm: Algorithm,
  blockDurationMs: number,
  hooks: RedisConsumeHooks,
): RedisConsume | undefined {
  const make = (store as { [REDIS_FIXED_WINDOW]?: unknown })[REDIS_FIXED_WINDOW];
  if (typeof make !== 'function' || algorithm.kind !== 'fixed-window') return undefined;
  return (
    make as (prefix: string, algorithm: Algorithm, blockDurationMs: number, hooks: RedisConsumeHooks) => RedisConsume
  )(prefix, algorithm, blockDurationMs, hooks);
}
