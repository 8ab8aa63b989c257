import type { Algorithm, Step } from '../types.ts';
import { count, optionsOf, positive, share } from './validate.ts';

export interface TokenBucketOptions {
  /** Tokens the bucket holds: the largest burst. A new key starts full. */
  capacity: number;
  /** Tokens added per second, continuously: the sustained rate. */
  refillPerSecond: number;
}

/**
 * Token bucket: bursts up to `capacity`, then `refillPerSecond` sustained. Smooth, O(1) per key.
 * State: `[tokens, updatedAt]`.
 */
export function tokenBucket(options: TokenBucketOptions): Algorithm {
  optionsOf('tokenBucket', options, 'tokenBucket({ capacity: 20, refillPerSecond: 5 })');
  const capacity = count('tokenBucket', 'capacity', options.capacity);
  const refillPerSecond = positive('tokenBucket', 'refillPerSecond', options.refillPerSecond);
  const perMs = refillPerSecond / 1000;
  return {
    kind: 'token-bucket',
    limit: capacity,
    windowMs: Math.ceil(capacity / perMs),
    params: [capacity, perMs, 0],
    step(state, now, cost): Step {
      const tokens = state
        ? Math.min(capacity, (state[0] ?? 0) + Math.max(0, now - (state[1] ?? now)) * perMs)
        : capacity;
      const allowed = tokens >= cost;
      const left = allowed ? tokens - cost : tokens;
      return {
        allowed,
        remaining: Math.floor(left),
        resetMs: Math.ceil((capacity - left) / perMs),
        retryAfterMs: allowed ? 0 : Math.ceil((cost - tokens) / perMs),
        next: [tokens - cost, now],
        ttlMs: Math.max(1, Math.ceil((capacity - (tokens - cost)) / perMs)),
      };
    },
    divide: (instances) =>
      tokenBucket({
        capacity: share(capacity, instances, true),
        refillPerSecond: share(refillPerSecond, instances, false),
      }),
  };
}

export const TOKEN_BUCKET_LUA = `
local function token_bucket(state, now, cost, capacity, per_ms)
  local tokens = capacity
  if state then tokens = math.min(capacity, state[1] + math.max(0, now - state[2]) * per_ms) end
  local allowed = tokens >= cost
  local left = tokens
  if allowed then left = tokens - cost end
  local retry = 0
  if not allowed then retry = math.ceil((cost - tokens) / per_ms) end
  return allowed, math.floor(left), math.ceil((capacity - left) / per_ms), retry,
    {tokens - cost, now}, math.max(1, math.ceil((capacity - (tokens - cost)) / per_ms))
end
`;
