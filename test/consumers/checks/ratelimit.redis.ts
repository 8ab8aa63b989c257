import { ok } from 'node:assert/strict';
import { createRateLimiter, tokenBucket } from '@switchboard/ratelimit';
import { createRedisStore } from '@switchboard/ratelimit/redis';
import { Redis } from 'ioredis';

export async function check(): Promise<void> {
  const client = new Redis({ lazyConnect: true });
  const limiter = createRateLimiter({
    store: createRedisStore({ client }),
    algorithm: tokenBucket({ capacity: 10, refillPerSecond: 1 }),
    prefix: 'consumer',
  });
  ok(typeof limiter.consume === 'function');
  client.disconnect();
}
