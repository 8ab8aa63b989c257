import type { Algorithm, Step } from '../types.ts';
import { positive, share } from './validate.ts';

export interface FixedWindowOptions {
  /** Requests (cost units) per window. */
  limit: number;
  /** Window length in ms; a key's window starts with its first request. */
  windowMs: number;
}

/**
 * Fixed window: at most `limit` per window, the window starting at the key's first request.
 * Cheapest (one counter per key); allows up to 2× `limit` across a window boundary.
 * State: `[count, windowStart]`.
 */
export function fixedWindow(options: FixedWindowOptions): Algorithm {
  const limit = positive('fixedWindow limit', options.limit, { integer: true });
  const windowMs = positive('fixedWindow windowMs', options.windowMs);
  return {
    kind: 'fixed-window',
    limit,
    windowMs,
    params: [limit, windowMs, 0],
    step(state, now, cost): Step {
      let count = 0;
      let start = now;
      if (state && now < (state[1] ?? 0) + windowMs) {
        count = state[0] ?? 0;
        start = state[1] ?? now;
      }
      const resetMs = start + windowMs - now;
      const allowed = count + cost <= limit;
      return {
        allowed,
        remaining: Math.max(0, limit - count - (allowed ? cost : 0)),
        resetMs,
        retryAfterMs: allowed ? 0 : resetMs,
        next: [count + cost, start],
        ttlMs: resetMs,
      };
    },
    divide: (instances) => fixedWindow({ limit: share(limit, instances, true), windowMs }),
  };
}

export const FIXED_WINDOW_LUA = `
local function fixed_window(state, now, cost, limit, window)
  local count, start = 0, now
  if state and now < state[2] + window then count, start = state[1], state[2] end
  local reset = start + window - now
  local allowed = count + cost <= limit
  local remaining = limit - count
  if allowed then remaining = remaining - cost end
  local retry = 0
  if not allowed then retry = reset end
  return allowed, math.max(0, remaining), reset, retry, {count + cost, start}, reset
end
`;
