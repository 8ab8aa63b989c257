import type { Algorithm, Step } from '../types.ts';
import { optionsOf, share, windowLimit } from './validate.ts';

export interface SlidingWindowLogOptions {
  /** Requests (cost units) in any window of `windowMs`. */
  limit: number;
  windowMs: number;
}

/**
 * Sliding-window log: remembers the time of every admitted request and admits a new one only
 * if fewer than `limit` fall within the last `windowMs`. Exact at every instant; memory grows
 * with `limit` per key (Redis: a list). State: admitted timestamps, oldest first.
 */
export function slidingWindowLog(options: SlidingWindowLogOptions): Algorithm {
  const { limit, windowMs } = windowLimit(
    'slidingWindowLog',
    optionsOf('slidingWindowLog', options, 'slidingWindowLog({ limit: 100, windowMs: 60_000 })'),
  );
  return {
    kind: 'sliding-window-log',
    limit,
    windowMs,
    params: [limit, windowMs, 0],
    step(state, now, cost): Step {
      const cutoff = now - windowMs;
      const log = state ? state.filter((at) => at > cutoff) : [];
      const count = log.length;
      const allowed = count + cost <= limit;
      // Refused: wait until enough of the oldest entries have left the window.
      const mustExpire = count + cost - limit;
      const newest = allowed && cost > 0 ? now : log[count - 1];
      const next = log.slice();
      for (let i = 0; i < cost; i++) next.push(now);
      return {
        allowed,
        remaining: Math.max(0, limit - count - (allowed ? cost : 0)),
        resetMs: newest === undefined ? 0 : Math.ceil(newest + windowMs - now),
        retryAfterMs: allowed ? 0 : Math.ceil((log[mustExpire - 1] ?? now) + windowMs - now),
        next,
        ttlMs: windowMs,
      };
    },
    divide: (instances) => slidingWindowLog({ limit: share(limit, instances, true), windowMs }),
  };
}

// The log lives in a Redis list, not in the packed state string the other algorithms use.
export const SLIDING_WINDOW_LOG_LUA = `
local function sliding_window_log(key, now, cost, limit, window)
  local cutoff = now - window
  while true do
    local head = redis.call('LINDEX', key, 0)
    if not head or tonumber(head) > cutoff then break end
    redis.call('LPOP', key)
  end
  local count = redis.call('LLEN', key)
  local allowed = count + cost <= limit
  local remaining = limit - count
  if allowed then remaining = remaining - cost end
  local retry, reset = 0, 0
  if not allowed then retry = math.ceil(tonumber(redis.call('LINDEX', key, count + cost - limit - 1)) + window - now) end
  if allowed and cost > 0 then reset = window
  elseif count > 0 then reset = math.ceil(tonumber(redis.call('LINDEX', key, -1)) + window - now) end
  return allowed, math.max(0, remaining), reset, retry
end
`;
