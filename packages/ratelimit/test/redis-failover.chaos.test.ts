import { sentinelClientOptions, startTestTopology, type Topology } from '@switchboard/infra';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createRateLimiter, fixedWindow, type RateLimiter, type RateLimitResult } from '../src/index.ts';
import { createRedisStore } from '../src/redis.ts';

const TIMEOUT_MS = 300;

describe('Redis store when the master dies', () => {
  let topology: Topology;
  let client: Redis;
  let limiters: Record<'closed' | 'open' | 'insurance', RateLimiter>;

  beforeAll(async () => {
    topology = await startTestTopology({ postgres: false, redis: { replicas: 2, sentinels: 3 } });
    const info = topology.info.redis;
    if (!info) throw new Error('no redis');
    client = new Redis(sentinelClientOptions(info));
    client.on('error', () => {});
    const store = createRedisStore({ client });
    const common = {
      store,
      algorithm: fixedWindow({ limit: 100, windowMs: 3_600_000 }),
      timeoutMs: TIMEOUT_MS,
      retryStoreAfterMs: 500,
      logger: { warn: () => {} },
    };
    limiters = {
      closed: createRateLimiter({ ...common, prefix: 'closed', onStoreError: 'closed' }),
      open: createRateLimiter({ ...common, prefix: 'open', onStoreError: 'open' }),
      insurance: createRateLimiter({ ...common, prefix: 'insured', onStoreError: { insurance: { instances: 2 } } }),
    };
  });

  afterAll(async () => {
    client?.disconnect();
    await topology?.stop();
  });

  /** One check, timed. */
  async function timed(limiter: RateLimiter): Promise<RateLimitResult & { tookMs: number }> {
    const startedAt = performance.now();
    const result = await limiter.consume('user-1');
    return { ...result, tookMs: performance.now() - startedAt };
  }

  test('each policy answers as documented within the timeout, and Redis takes over again after failover', async () => {
    const group = topology.redis;
    if (!group) throw new Error('no redis group');
    for (const limiter of Object.values(limiters)) {
      expect((await limiter.consume('user-1')).degraded).toBeUndefined();
    }

    const master = await group.currentMaster();
    await master.kill();

    const outage: Record<string, (RateLimitResult & { tookMs: number })[]> = { closed: [], open: [], insurance: [] };
    for (let round = 0; round < 80; round++) {
      for (const [name, limiter] of Object.entries(limiters)) outage[name]?.push(await timed(limiter));
    }
    const all = Object.values(outage).flat();
    // No check waited much longer than the timeout, whatever ioredis was doing meanwhile.
    expect(Math.max(...all.map((result) => result.tookMs))).toBeLessThan(TIMEOUT_MS + 250);
    expect(outage.closed?.every((result) => !result.allowed && result.degraded === 'closed')).toBe(true);
    expect(outage.open?.every((result) => result.allowed && result.degraded === 'open')).toBe(true);
    const insured = outage.insurance ?? [];
    expect(insured.every((result) => result.degraded === 'insurance' && result.limit === 50)).toBe(true);
    expect(insured.filter((result) => result.allowed)).toHaveLength(50);

    await group.waitForFailover(master, 30_000);
    // Same process, same client: the store answers again by itself (the new master needs the
    // script loaded again, which the store does on NOSCRIPT).
    const deadline = Date.now() + 15_000;
    let recovered: RateLimitResult | undefined;
    while (Date.now() < deadline) {
      const result = await limiters.closed.consume('user-2');
      if (result.degraded === undefined) {
        recovered = result;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(recovered).toMatchObject({ allowed: true, limit: 100 });
    expect((await limiters.insurance.consume('user-1')).degraded).toBeUndefined();
  });
});
