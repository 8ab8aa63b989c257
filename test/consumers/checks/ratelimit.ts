import { ok, strictEqual } from 'node:assert/strict';
import { createMemoryStore, createRateLimiter, fixedWindow, rateLimitHeaders } from '@switchboard/ratelimit';

export async function check(): Promise<void> {
  const limiter = createRateLimiter({
    store: createMemoryStore(),
    algorithm: fixedWindow({ limit: 2, windowMs: 60_000 }),
    prefix: 'consumer',
  });
  ok((await limiter.consume('user:1')).allowed);
  ok((await limiter.consume('user:1')).allowed);
  const refused = await limiter.consume('user:1');
  strictEqual(refused.allowed, false);
  ok(refused.retryAfterMs > 0);
  ok(typeof rateLimitHeaders === 'function');
}
