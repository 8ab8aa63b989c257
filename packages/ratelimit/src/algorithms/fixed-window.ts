import { NON_LOCAL_KEY_LUA } from '@switchboard/hot-path';
import type { Algorithm, Step } from '../types.ts';
import { optionsOf, share, windowLimit } from './validate.ts';

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
  const { limit, windowMs } = windowLimit(
    'fixedWindow',
    optionsOf('fixedWindow', options, 'fixedWindow({ limit: 100, windowMs: 60_000 })'),
  );
  return {
    kind: 'fixed-window',
    limit,
    windowMs,
    params: [limit, Math.ceil(windowMs), 0],
    step(state, now, cost): Step {
      const open = openWindowCount(state, now, windowMs);
      const count = Math.max(open, 0);
      const start = open < 0 ? now : ((state as readonly number[])[1] as number);
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

/**
 * The count of the window `state` (`[count, windowStart]`) holds at `now`, or -1 when it holds
 * no window open then (no state, a window that has ended, or another algorithm's state): a new
 * window starts at `now`. The one rule `step` and the memory store's in-place consume share.
 */
export function openWindowCount(state: readonly number[] | undefined, now: number, windowMs: number): number {
  return state !== undefined && state.length === 2 && now < (state[1] as number) + windowMs ? (state[0] as number) : -1;
}

// In Redis the state is a plain integer counter whose TTL is the rest of the window: no clock
// read and no parsing, as cheap as a script can be (it runs on Redis' single thread). A counter
// that INCRBY would not take (not written the way Redis writes integers: "5.0", "007", "1e3")
// or that has lost its TTL was written by something else: it counts as no state and is
// overwritten with a fresh window, so paying can never fail halfway through a script:
// fixed_window's fifth answer, fresh, tells fixed_window_pay to SET a new window, not INCRBY.
export const FIXED_WINDOW_LUA = `
local function counter_value(raw)
  if #raw > 15 then return nil end
  if raw ~= '0' and not string.match(raw, '^[1-9]%d*$') then return nil end
  return tonumber(raw)
end
local function fixed_window(state_key, raw, cost, limit, window)
  local count, reset = nil, window
  if raw then count = counter_value(raw) end
  if count ~= nil then
    local ttl = redis.call('PTTL', state_key)
    if ttl > 0 then reset = ttl else count = nil end
  end
  local fresh = count == nil
  if fresh then count, reset = 0, window end
  local allowed = count + cost <= limit
  local remaining = limit - count
  if allowed then remaining = remaining - cost end
  local retry = 0
  if not allowed then retry = reset end
  return allowed, math.max(0, remaining), reset, retry, fresh
end
local function fixed_window_pay(state_key, fresh, cost, window)
  if fresh then redis.call('SET', state_key, cost, 'PX', math.ceil(window))
  else redis.call('INCRBY', state_key, cost) end
end
`;

/**
 * Many independent single-key consumes in one script run: the checks of one event-loop turn,
 * sent together (one command for the client to encode and send, one for Redis to read and
 * answer). Each check is decided and paid on its own, in order, as if sent alone.
 *
 * ARGV[1]: the number N of checks; ARGV[2]: the number P of parameter sets; then P sets of
 * (limit, windowMs, blockMs); then per check (set number, cost); then the keys KEYS does not
 * hold. A check's keys are its state key and block key: checks 1 to #KEYS/2 take theirs from
 * KEYS, the rest from the end of ARGV. Reply: per check (allowed 1/0, remaining, resetMs); a
 * refusal's wait is its resetMs. Same key format as the general script.
 *
 * Keys in ARGV are how one run serves checks of many slots on a Redis Cluster (see
 * cluster-node-batches.ts in the hot-path kit): a script that declares one slot's keys may use keys of other
 * slots its node holds. A check whose keys the node does not hold (the client's slot table was
 * stale) fails alone, before reading anything: its reply is (-1, 0, 0), "send it again to its
 * own slot". Any other error fails the run, as it would without pcall.
 */
export const FIXED_WINDOW_BATCH_LUA = `${FIXED_WINDOW_LUA}${NON_LOCAL_KEY_LUA}
local n, sets = tonumber(ARGV[1]), tonumber(ARGV[2])
local limits, windows, blocks = {}, {}, {}
for s = 1, sets do
  local a = 3 * s
  limits[s], windows[s], blocks[s] = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
end
local base = 3 * sets + 2
local declared = #KEYS
local tail = base + 2 * n - declared
local out = {}
local function check(i, state_key, block_key)
  local s, cost = tonumber(ARGV[base + 2 * i - 1]), tonumber(ARGV[base + 2 * i])
  local window = windows[s]
  local values = redis.call('MGET', state_key, block_key)
  local blocked = 0
  if values[2] then blocked = redis.call('PTTL', block_key) end
  if blocked > 0 then
    out[3 * i - 2], out[3 * i - 1], out[3 * i] = 0, 0, blocked
  else
    local allowed, remaining, reset, _, fresh = fixed_window(state_key, values[1], cost, limits[s], window)
    local flag = 0
    if allowed then
      flag = 1
      fixed_window_pay(state_key, fresh, cost, window)
    elseif blocks[s] > 0 then
      redis.call('SET', block_key, '1', 'PX', blocks[s])
    end
    out[3 * i - 2], out[3 * i - 1], out[3 * i] = flag, remaining, reset
  end
end
for i = 1, n do
  local k = 2 * i
  if k <= declared then check(i, KEYS[k - 1], KEYS[k])
  else
    local ok, err = pcall(check, i, ARGV[tail + k - 1], ARGV[tail + k])
    if not ok then
      if not non_local(err) then return redis.error_reply(error_text(err)) end
      out[3 * i - 2], out[3 * i - 1], out[3 * i] = -1, 0, 0
    end
  end
end
return out
`;
