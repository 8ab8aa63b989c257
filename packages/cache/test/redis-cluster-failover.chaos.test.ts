import { setTimeout as sleep } from 'node:timers/promises';
import { redisSlot } from '@switchboard/hot-path';
import { drillClusterClient, startTestTopology, type Topology } from '@switchboard/infra';
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Cache, createCache } from '../src/index.ts';
import { createRedisTier } from '../src/redis.ts';

const L2_TIMEOUT_MS = 200;

describe('cache on a Redis Cluster when a master dies', () => {
  let topology: Topology;
  const clients: Cluster[] = [];
  let a: Cache;
  let b: Cache;

  beforeAll(async () => {
    topology = await startTestTopology({
      postgres: false,
      redis: false,
      redisCluster: { masters: 3, replicasPerMaster: 1 },
    });
    const nodes = topology.info.redisCluster?.nodes;
    if (!nodes) throw new Error('no redis cluster');
    const client = () => {
      const created = drillClusterClient(nodes);
      clients.push(created);
      return created;
    };
    // No L1 on B: every read of B goes to Redis, so "shared again" means L2 answers.
    a = createCache({
      l2: createRedisTier({ client: client(), prefix: 'chaos' }),
      ttlMs: 60_000,
      l2TimeoutMs: L2_TIMEOUT_MS,
      l2RetryAfterMs: 300,
    });
    b = createCache({
      l1: false,
      l2: createRedisTier({ client: client(), prefix: 'chaos' }),
      ttlMs: 60_000,
      l2TimeoutMs: L2_TIMEOUT_MS,
      l2RetryAfterMs: 300,
    });
  });

  afterAll(async () => {
    for (const created of clients) created.disconnect();
    await topology?.stop();
  });

  test('reads never fail during the outage, and L2 answers again within 5 s of the promotion, same clients', async () => {
    const cluster = topology.redisCluster;
    if (!cluster) throw new Error('no redis cluster');
    // A key whose entry lives on the master to kill.
    const master = await cluster.masterForSlot(redisSlot('chaos|e|{k0}'));
    let victim = 'k0';
    for (let i = 1; (await cluster.masterForSlot(redisSlot(`chaos|e|{${victim}}`))) !== master; i++) victim = `k${i}`;
    expect(await a.getOrSet(victim, async () => 'cached before')).toBe('cached before');
    expect(await b.getOrSet(victim, async () => 'not this')).toBe('cached before');

    await master.kill();
    let promotedAt = 0;
    const failover = cluster.waitForFailover(master).then(() => {
      promotedAt = Date.now();
    });
    const slowest: number[] = [];
    let sharedAgainAt = 0;
    const startedAt = Date.now();
    for (let attempt = 0; sharedAgainAt === 0 && Date.now() - startedAt < 30_000; attempt++) {
      const key = `${victim}-${attempt}`;
      const at = performance.now();
      // Never an error: degraded to L1 + fetcher while Redis cannot answer.
      await a.getOrSet(key, async () => 'from a');
      const seen = await b.getOrSet(key, async () => 'from b');
      slowest.push(performance.now() - at);
      if (promotedAt !== 0 && seen === 'from a') sharedAgainAt = Date.now();
      else await sleep(50);
    }
    await failover;
    expect(sharedAgainAt).toBeGreaterThan(0);
    expect(sharedAgainAt - promotedAt).toBeLessThan(5_000);
    // Each read bounded by the L2 timeout (two reads per round, and a write).
    expect(Math.max(...slowest)).toBeLessThan(4 * L2_TIMEOUT_MS + 300);
    process.stderr.write(
      `[cache cluster failover] L2 shared again ${sharedAgainAt - promotedAt} ms after the promotion\n`,
    );
  });
});
