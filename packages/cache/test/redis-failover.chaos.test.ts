import { setTimeout as sleep } from 'node:timers/promises';
import { sentinelClientOptions, startTestTopology, type Topology } from '@switchboard/infra';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Cache, createCache } from '../src/index.ts';
import { createRedisBus, createRedisTier } from '../src/redis.ts';

const L2_TIMEOUT_MS = 200;

describe('cache when the Redis master dies', () => {
  let topology: Topology;
  const clients: Redis[] = [];
  let a: Cache;
  let b: Cache;

  beforeAll(async () => {
    topology = await startTestTopology({ postgres: false, redis: { replicas: 2, sentinels: 3 } });
    const info = topology.info.redis;
    if (!info) throw new Error('no redis');
    const client = () => {
      const created = new Redis(sentinelClientOptions(info));
      created.on('error', () => {});
      clients.push(created);
      return created;
    };
    const instance = () =>
      createCache({
        l2: createRedisTier({ client: client(), prefix: 'chaos' }),
        bus: createRedisBus({ publisher: client(), subscriber: client() }),
        ttlMs: 60_000,
        l2TimeoutMs: L2_TIMEOUT_MS,
        l2RetryAfterMs: 300,
      });
    a = instance();
    b = instance();
  });

  afterAll(async () => {
    for (const created of clients) created.disconnect();
    await topology?.stop();
  });

  test('reads never fail and stay fast during the outage, and L2 is used again after failover', async () => {
    const group = topology.redis;
    if (!group) throw new Error('no redis group');
    expect(await a.getOrSet('warm', async () => 'cached before')).toBe('cached before');

    const master = await group.currentMaster();
    await master.kill();
    // An invalidation L2 cannot take now: queued, replayed once Redis answers again. It does
    // not wait for the failover (neither the L2 delete nor the bus publish).
    const deleteStartedAt = performance.now();
    await a.delete('warm');
    expect(performance.now() - deleteStartedAt).toBeLessThan(2 * L2_TIMEOUT_MS + 200);

    const durations: number[] = [];
    let fetched = 0;
    for (let i = 0; i < 60; i++) {
      const startedAt = performance.now();
      expect(await a.getOrSet('warm', async () => 'refetched')).toBe('refetched');
      expect(
        await b.getOrSet(`during-${i % 5}`, async () => {
          fetched++;
          return i;
        }),
      ).toBeTypeOf('number');
      durations.push(performance.now() - startedAt);
    }
    // Degraded to L1 + fetcher: never an error, never much longer than the L2 timeout.
    expect(Math.max(...durations)).toBeLessThan(L2_TIMEOUT_MS + 200);
    // The in-process tier still shields the origin: each key fetched about once.
    expect(fetched).toBeLessThanOrEqual(10);
    expect(b.stats().errors).toBeGreaterThan(0);

    await group.waitForFailover(master, 30_000);
    // Same processes, same clients: A's new values reach B through L2 again.
    const deadline = Date.now() + 15_000;
    let sharedAgain = false;
    for (let attempt = 0; !sharedAgain && Date.now() < deadline; attempt++) {
      const key = `after-${attempt}`;
      await a.getOrSet(key, async () => 'from a');
      sharedAgain = (await b.getOrSet(key, async () => 'from b')) === 'from a';
      if (!sharedAgain) await sleep(200);
    }
    expect(sharedAgain).toBe(true);
    // The delete made during the outage reached L2: nobody reads the old value from it.
    const reader = createCache({ l1: false, l2: createRedisTier({ client: clients[0] as Redis, prefix: 'chaos' }) });
    expect(await reader.getOrSet('warm', async () => 'after replay')).not.toBe('cached before');
  });
});
