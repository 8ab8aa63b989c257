import type { Algorithm, Decision, RateLimitResult } from './types.ts';

/** What a caller sees of a store's decision: the decision plus the limit it was made against. */
export function toResult(decision: Decision, algorithm: Algorithm): RateLimitResult {
  return {
    allowed: decision.allowed,
    limit: algorithm.limit,
    remaining: decision.remaining,
    resetMs: decision.resetMs,
    retryAfterMs: decision.retryAfterMs,
  };
}
