import type { Algorithm, Step } from '../types.ts';
import { count, optionsOf, positive, share } from './validate.ts';

export interface GcraOptions {
  /** Requests per `periodMs`: the sustained rate. */
  limit: number;
  periodMs: number;
  /** How many requests may arrive at once. @default limit */
  burst?: number;
}

// Float slack for "now >= allowAt": emission intervals like 1000/3 ms are not exact in binary.
const EPSILON = 1e-6;

/**
 * GCRA (generic cell rate algorithm): the token bucket's behaviour with one number of state, the
 * theoretical arrival time. `limit` per `periodMs` sustained, `burst` at once. Spreads requests
 * evenly; the best choice for "N per period, but not all at once". State: `[tat]`.
 */
export function gcra(options: GcraOptions): Algorithm {
  optionsOf('gcra', options, 'gcra({ limit: 10, periodMs: 1_000 })');
  const limit = count('gcra', 'limit', options.limit);
  const periodMs = positive('gcra', 'periodMs', options.periodMs);
  const burst = count('gcra', 'burst', options.burst ?? limit);
  const interval = periodMs / limit;
  return {
    kind: 'gcra',
    limit: burst,
    windowMs: Math.ceil(interval * burst),
    params: [interval, burst, 0],
    step(state, now, cost): Step {
      const tat = Math.max(state?.[0] ?? now, now);
      const nextTat = tat + cost * interval;
      const allowAt = nextTat - burst * interval;
      const allowed = now + EPSILON >= allowAt;
      const horizon = allowed ? nextTat : tat;
      return {
        allowed,
        remaining: Math.max(0, Math.floor((burst * interval - (horizon - now)) / interval + EPSILON)),
        resetMs: Math.ceil(horizon - now),
        retryAfterMs: allowed ? 0 : Math.ceil(allowAt - now),
        next: [nextTat],
        ttlMs: Math.max(1, Math.ceil(nextTat - now)),
      };
    },
    divide: (instances) =>
      gcra({ limit: share(limit, instances, true), periodMs, burst: share(burst, instances, true) }),
  };
}

export const GCRA_LUA = `
local function gcra(state, now, cost, interval, burst)
  local tat = now
  if state and state[1] > now then tat = state[1] end
  local next_tat = tat + cost * interval
  local allow_at = next_tat - burst * interval
  local allowed = now + 1e-6 >= allow_at
  local horizon = tat
  if allowed then horizon = next_tat end
  local retry = 0
  if not allowed then retry = math.ceil(allow_at - now) end
  return allowed, math.max(0, math.floor((burst * interval - (horizon - now)) / interval + 1e-6)),
    math.ceil(horizon - now), retry, {next_tat}, math.max(1, math.ceil(next_tat - now))
end
`;
