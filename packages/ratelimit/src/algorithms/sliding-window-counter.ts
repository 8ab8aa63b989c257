import type { Algorithm, Step } from '../types.ts';
import { optionsOf, share, windowLimit } from './validate.ts';

export interface SlidingWindowCounterOptions {
  /** Requests (cost units) per sliding window. */
  limit: number;
  windowMs: number;
}

/**
 * Sliding-window counter: weighs the previous fixed window's count by how much of it still
 * overlaps the sliding window. O(1) memory per key, smooth at window edges; approximate (it
 * assumes the previous window's requests were evenly spread). State: `[windowIndex, current, previous]`.
 */
export function slidingWindowCounter(options: SlidingWindowCounterOptions): Algorithm {
  const { limit, windowMs } = windowLimit(
    'slidingWindowCounter',
    optionsOf('slidingWindowCounter', options, 'slidingWindowCounter({ limit: 100, windowMs: 60_000 })'),
  );
  return {
    kind: 'sliding-window-counter',
    limit,
    windowMs,
    params: [limit, windowMs, 0],
    step(state, now, cost): Step {
      const index = Math.floor(now / windowMs);
      let current = 0;
      let previous = 0;
      if (state && state[0] === index) {
        current = state[1] ?? 0;
        previous = state[2] ?? 0;
      } else if (state && state[0] === index - 1) {
        previous = state[1] ?? 0;
      }
      const elapsed = now - index * windowMs;
      const toWindowEnd = windowMs - elapsed;
      const estimate = previous * (1 - elapsed / windowMs) + current;
      const allowed = estimate + cost <= limit;
      let retryAfterMs = 0;
      if (!allowed) {
        // Within this window the estimate falls only as the previous window slides out.
        const excess = estimate + cost - limit;
        const inThisWindow = previous > 0 ? (excess / previous) * windowMs : Number.POSITIVE_INFINITY;
        retryAfterMs =
          inThisWindow <= toWindowEnd
            ? inThisWindow
            : toWindowEnd + (current > 0 ? Math.max(0, ((current + cost - limit) / current) * windowMs) : 0);
      }
      return {
        allowed,
        remaining: Math.max(0, Math.floor(limit - estimate - (allowed ? cost : 0))),
        resetMs: toWindowEnd + (current + (allowed ? cost : 0) > 0 ? windowMs : 0),
        retryAfterMs: Math.ceil(retryAfterMs),
        next: [index, current + cost, previous],
        ttlMs: toWindowEnd + windowMs,
      };
    },
    divide: (instances) => slidingWindowCounter({ limit: share(limit, instances, true), windowMs }),
  };
}

export const SLIDING_WINDOW_COUNTER_LUA = `
local function sliding_window_counter(state, now, cost, limit, window)
  local index = math.floor(now / window)
  local current, previous = 0, 0
  if state and state[1] == index then current, previous = state[2], state[3]
  elseif state and state[1] == index - 1 then previous = state[2] end
  local elapsed = now - index * window
  local to_end = window - elapsed
  local estimate = previous * (1 - elapsed / window) + current
  local allowed = estimate + cost <= limit
  local retry = 0
  if not allowed then
    local excess = estimate + cost - limit
    local in_this = math.huge
    if previous > 0 then in_this = excess / previous * window end
    if in_this <= to_end then retry = in_this
    else
      retry = to_end
      if current > 0 then retry = retry + math.max(0, (current + cost - limit) / current * window) end
    end
  end
  local remaining = limit - estimate
  if allowed then remaining = remaining - cost end
  local used = current
  if allowed then used = used + cost end
  local reset = to_end
  if used > 0 then reset = reset + window end
  return allowed, math.max(0, math.floor(remaining)), reset, math.ceil(retry), {index, current + cost, previous}, to_end + window
end
`;
