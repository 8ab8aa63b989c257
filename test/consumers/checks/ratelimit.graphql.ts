import { strictEqual } from 'node:assert/strict';
import { RateLimitedError } from '@switchboard/ratelimit';
import { toGraphQLError } from '@switchboard/ratelimit/graphql';

export async function check(): Promise<void> {
  const error = toGraphQLError(new RateLimitedError({ retryAfterMs: 1000, limit: 10 }));
  strictEqual(error.extensions.code, 'RATE_LIMITED');
}
