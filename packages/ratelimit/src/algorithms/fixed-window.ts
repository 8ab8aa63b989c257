import type { Algorithm, Step } from '../types.ts';
import { share, windowLimit } from './validate.ts';

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
  const { limit, windowMs } = windowLimit('fixedWindow', options);
  const algorithm: Algorithm = {
    kind: 'fixed-window',
    limit,
    windowMs,
    params: [limit, Math.ceil(windowMs), 0],
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
  genuine.add(algorithm);
  return algorithm;
}

// Made by `fixedWindow()` here, so `limit` and `windowMs` are what `step` uses: the memory store
// may run the step written out (a hand-made object with kind 'fixed-window' goes the general way).
const genuine = new WeakSet<Algorithm>();

/** Whether `algorithm` came from this module's `fixedWindow()`. */
export const isFixedWindow = (algorithm: Algorithm): boolean => genuine.has(algorithm);

// In Redis the state is a plain integer counter whose TTL is the rest of the window: no clock
// read and no parsing, as cheap as a script can be (it runs on Redis' single thread).
export const FIXED_WINDOW_LUA = `
local function fixed_window(state_key, raw, cost, limit, window)
  local count, reset = 0, window
  if raw then
    count = tonumber(raw)
    reset = redis.call('PTTL', state_key)
    if reset < 0 then reset = window end
  end
  local allowed = count + cost <= limit
  local remaining = limit - count
  if allowed then remaining = remaining - cost end
  local retry = 0
  if not allowed then retry = reset end
  return allowed, math.max(0, remaining), reset, retry
end
local function fixed_window_pay(state_key, raw, cost, window)
  if raw then redis.call('INCRBY', state_key, cost)
  else redis.call('SET', state_key, cost, 'PX', math.ceil(window)) end
end
`;

/**
 * The single-key consume, alone (the hot path): KEYS = state, block; ARGV[1] = "cost limit
 * windowMs blockMs" in one string (each argument costs the client more to encode than Redis
 * to split). Same key format as the general script.
 */
export const FIXED_WINDOW_CONSUME_LUA = `
local c, l, w, b = string.match(ARGV[1], '^(%d+) (%d+) (%d+) (%d+)$')
local cost, limit, window, block_ms = tonumber(c), tonumber(l), tonumber(w), tonumber(b)
local values = redis.call('MGET', KEYS[1], KEYS[2])
if values[2] then
  local blocked = redis.call('PTTL', KEYS[2])
  if blocked > 0 then return {0, 0, blocked, blocked} end
end
local count, reset = 0, window
if values[1] then
  count = tonumber(values[1])
  reset = redis.call('PTTL', KEYS[1])
  if reset < 0 then reset = window end
end
if count + cost > limit then
  if block_ms > 0 then redis.call('SET', KEYS[2], '1', 'PX', block_ms) end
  return {0, math.max(0, limit - count), reset, reset}
end
if values[1] then redis.call('INCRBY', KEYS[1], cost)
else redis.call('SET', KEYS[1], cost, 'PX', window) end
return {1, limit - count - cost, reset, 0}
`;
