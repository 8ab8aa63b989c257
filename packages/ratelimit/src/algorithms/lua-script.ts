import { defineScript, NON_LOCAL_KEY_LUA } from '@switchboard/hot-path';
import type { AlgorithmKind } from '../types.ts';
import { FIXED_WINDOW_BATCH_LUA, FIXED_WINDOW_LUA } from './fixed-window.ts';
import { GCRA_LUA } from './gcra.ts';
import { SLIDING_WINDOW_COUNTER_LUA } from './sliding-window-counter.ts';
import { SLIDING_WINDOW_LOG_LUA } from './sliding-window-log.ts';
import { TOKEN_BUCKET_LUA } from './token-bucket.ts';

/** Algorithm numbers in ARGV (the log is special: its state is a list). */
export const KIND_CODE: Record<AlgorithmKind, number> = {
  'fixed-window': 1,
  'sliding-window-log': 2,
  'sliding-window-counter': 3,
  'token-bucket': 4,
  gcra: 5,
};

/** ARGV values per entry after the mode: kind, cost, blockMs, p1, p2, p3. */
export const ARGS_PER_ENTRY = 6;

/**
 * One script for every check, and for every check of one event-loop turn at once. A check is a
 * group of entries decided together: phase 1 decides every entry from the stored state and the
 * server's clock (TIME); phase 2 writes only if the mode says so (consume: all allowed; force:
 * always). So a multi-limit check is all-or-nothing, in one round trip; the groups of one run are
 * independent and run in order, as if sent one by one.
 *
 * KEYS: (state, block) per entry, group after group. ARGV[1]: the number of groups; then per
 * group its mode, its entry count n, and ARGS_PER_ENTRY values per entry; then the keys of the
 * groups KEYS does not hold (on a Redis Cluster a batch declares its first group's keys only:
 * cluster-node-batches.ts in the hot-path kit). Reply: per group, one row per entry (allowed
 * 1/0, remaining, resetMs, retryAfterMs), -1 for a group whose keys the node does not hold
 * (refused before any read: send it again to its slot), or the error text of a group whose
 * keys hold what its steps cannot read (written by something else: a Lua error or WRONGTYPE,
 * raised before any write): its decisions are not made, the other groups' are. Any other error
 * (READONLY, OOM, ...) fails the whole run.
 */
export const RATE_LIMIT_LUA = `
local function parse(raw)
  local state = {}
  for field in string.gmatch(raw, '%S+') do state[#state + 1] = tonumber(field) end
  return state
end
local function pack(state)
  local fields = {}
  for i = 1, #state do fields[i] = string.format('%.17g', state[i]) end
  return table.concat(fields, ' ')
end
${FIXED_WINDOW_LUA}
${SLIDING_WINDOW_COUNTER_LUA}
${TOKEN_BUCKET_LUA}
${GCRA_LUA}
${SLIDING_WINDOW_LOG_LUA}
${NON_LOCAL_KEY_LUA}
local STEPS = { [3] = sliding_window_counter, [4] = token_bucket, [5] = gcra }

-- Keys past #KEYS ride at the end of ARGV, after the last group's values: the checks after the
-- first in a per-node batch on a Redis Cluster.
local groups = tonumber(ARGV[1])
local declared = #KEYS
local tail = 1
for _ = 1, groups do tail = tail + 2 + tonumber(ARGV[tail + 2]) * ${ARGS_PER_ENTRY} end
local function key(j)
  if j <= declared then return KEYS[j] end
  return ARGV[tail + j - declared]
end

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000

local function decide(kind, state_key, raw, cost, p1, p2, p3)
  if kind == 1 then return fixed_window(state_key, raw, cost, p1, p2) end
  if kind == 2 then return sliding_window_log(state_key, now, cost, p1, p2) end
  local state = nil
  if raw then state = parse(raw) end
  return STEPS[kind](state, now, cost, p1, p2, p3)
end

local function pay(plan)
  local kind, state_key, cost, window, next_state, ttl = plan[1], plan[2], plan[4], plan[6], plan[7], plan[8]
  -- A fixed window's "next state" is whether paying starts a fresh window.
  if kind == 1 then fixed_window_pay(state_key, next_state, cost, window)
  elseif kind == 2 then
    local stamp = string.format('%.3f', now)
    for _ = 1, cost do redis.call('RPUSH', state_key, stamp) end
    redis.call('PEXPIRE', state_key, math.ceil(window))
  else
    redis.call('SET', state_key, pack(next_state), 'PX', math.max(1, math.ceil(ttl)))
  end
end

-- One check: entries 1..n with keys from key(k0 + 1) and values from ARGV[a0 + 1].
local function check(k0, a0, n, mode)
  local results, plans = {}, {}
  local all_allowed = true
  for i = 1, n do
    local state_key, block_key = key(k0 + 2 * i - 1), key(k0 + 2 * i)
    local a = a0 + (i - 1) * ${ARGS_PER_ENTRY}
    local kind, cost, block_ms = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
    local p1, p2, p3 = tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5]), tonumber(ARGV[a + 6])
    local raw, block_until = false, false
    -- One read for state and block (the log's state is a list, read by its own step).
    if kind == 2 then block_until = redis.call('GET', block_key)
    else
      local values = redis.call('MGET', state_key, block_key)
      raw, block_until = values[1], values[2]
    end
    -- A block is a key that expires when the block ends.
    local blocked = 0
    if block_until then blocked = redis.call('PTTL', block_key) end
    local allowed, remaining, reset, retry, next_state, ttl
    if blocked > 0 and mode ~= 'force' then
      allowed, remaining, reset, retry = false, 0, blocked, blocked
    elseif mode == 'peek' then
      -- What is left now (cost 0), and whether one more would pass (cost 1).
      local _a, _r
      _a, remaining, reset = decide(kind, state_key, raw, 0, p1, p2, p3)
      allowed, _r, _a, retry = decide(kind, state_key, raw, 1, p1, p2, p3)
    else
      allowed, remaining, reset, retry, next_state, ttl = decide(kind, state_key, raw, cost, p1, p2, p3)
    end
    if not allowed then all_allowed = false end
    local flag = 0
    if allowed then flag = 1 end
    results[i] = { flag, remaining, math.ceil(reset), math.ceil(retry) }
    plans[i] = { kind, state_key, block_key, cost, block_ms, p2, next_state, ttl, allowed, blocked }
  end
  if mode == 'force' or (mode == 'consume' and all_allowed) then
    for i = 1, n do pay(plans[i]) end
  elseif mode == 'consume' then
    for i = 1, n do
      local plan = plans[i]
      if not plan[9] and plan[5] > 0 and plan[10] <= 0 then
        redis.call('SET', plan[3], '1', 'PX', plan[5])
      end
    end
  end
  return results
end

local replies = {}
local k0, a0 = 0, 1
for g = 1, groups do
  local mode, n = ARGV[a0 + 1], tonumber(ARGV[a0 + 2])
  local ok, reply = pcall(check, k0, a0 + 2, n, mode)
  if ok then replies[g] = reply
  -- Keys its node does not hold (a per-node batch on a cluster): refused before any read.
  elseif non_local(reply) then replies[g] = -1
  else
    local text = error_text(reply)
    -- This check's own data: a key of another type, or a step failing on state it cannot read
    -- (a Lua error, "<chunk>:<line>: ..."). Both happen before any write.
    if string.find(text, '^WRONGTYPE') or string.find(text, '^@?[%w_]+:%d+: ') then replies[g] = text
    -- The server (READONLY after a failover, OOM, ...): the whole run fails with the error the
    -- client knows (ioredis reconnects on READONLY), as a script without pcall would.
    else return redis.error_reply(text) end
  end
  k0, a0 = k0 + 2 * n, a0 + 2 + n * ${ARGS_PER_ENTRY}
end
return replies
`;

export const GENERAL_SCRIPT = defineScript(RATE_LIMIT_LUA);
export const FIXED_WINDOW_BATCH_SCRIPT = defineScript(FIXED_WINDOW_BATCH_LUA);
