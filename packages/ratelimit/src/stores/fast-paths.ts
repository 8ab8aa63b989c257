// The internal protocol between the stores and the limiter: symbol-keyed, non-enumerable
// methods that let a limiter skip the general store entry for its most common checks. A store
// without them (a custom store, an older version) gets the general path.
import type { Algorithm, Decision, RateLimitStore } from '../types.ts';

/** Sends one fixed-window consume of `cost` for an encoded key; answers its decision. */
export type RedisConsume = (key: string, cost: number) => Promise<Decision>;

export const REDIS_FIXED_WINDOW = Symbol.for('@switchboard/ratelimit/redis-fixed-window@1');

/**
 * The single-key fixed-window consume of a limiter with this prefix, algorithm and block
 * duration, if `store` is a Redis store of this copy of the package and `algorithm` a fixed window.
 */
export function redisFixedWindowOf(
  store: RateLimitStore,
  prefix: string,
  algorithm: Algorithm,
  blockDurationMs: number,
): RedisConsume | undefined {
  const make = (store as { [REDIS_FIXED_WINDOW]?: unknown })[REDIS_FIXED_WINDOW];
  if (typeof make !== 'function' || algorithm.kind !== 'fixed-window') return undefined;
  return (make as (prefix: string, algorithm: Algorithm, blockDurationMs: number) => RedisConsume)(
    prefix,
    algorithm,
    blockDurationMs,
  );
}
