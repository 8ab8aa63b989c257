import { redisSlot } from '@switchboard/hot-path';
import { drillClusterClient, startTestTopology, type Topology } from '@switchboard/infra';
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createRateLimiter, fixedWindow, type RateLimiter, slidingWindowLog } from '../src/index.ts';
import { createRedisStore } from '../src/redis.ts';

const TIMEOUT_MS = 300;

describe('Redis store on a Redis Cluster when a master dies', () => {
  let topology: Topology;
  let client: Cluster;
  let fixed: RateLimiter;
  let log: RateLimiter;

  beforeAll(async () => {
    topology = await startTestTopology({
      postgres: false,
      redis: false,
      redisCluster: { masters: 3, replicasPerMaster: 1 },
    });
    const nodes = topology.info.redisCluster?.nodes;
    if (!nodes) throw new Error('no redis cluster');
    client = drillClusterClient(nodes);
    const store = createRedisStore({ client });
    const common = {
      store,
      timeoutMs: TIMEOUT_MS,
      retryStoreAfterMs: 200,
      onStoreError: 'closed' as const,
      logger: { warn: () => {} },
    };
    fixed = createRateLimiter({
      ...common,
      algorithm: fixedWindow({ limit: 1000, windowMs: 3_600_000 }),
      prefix: 'fw',
    });
    log = createRateLimiter({
      ...common,
      algorithm: slidingWindowLog({ limit: 1000, windowMs: 3_600_000 }),
      prefix: 'log',
    });
  });

  afterAll(async () => {
    client?.disconnect();
    await topology?.stop();
  });

  test('checks answer by policy within the timeout while a master is down, then from Redis again within 5 s of the promotion', async () => {
    const cluster = topology.redisCluster;
    if (!cluster) throw new Error('no redis cluster');
    // A key on the master to kill, and one on another master.
    const victimSlot = redisSlot('fw|{victim}|fw');
    const master = await cluster.masterForSlot(victimSlot);
    let bystander = 'bystander-0';
    for (let i = 1; (await cluster.masterForSlot(redisSlot(`fw|{${bystander}}|fw`))) === master; i++)
      bystander = `bystander-${i}`;
    for (const limiter of [fixed, log]) {
      expect((await limiter.consume('victim')).degraded).toBeUndefined();
      expect((await limiter.consume(bystander)).degraded).toBeUndefined();
    }

    await master.kill();
    let promotedAt = 0;
    const failover = cluster.waitForFailover(master).then((node) => {
      promotedAt = Date.now();
      return node;
    });
    const bystanderAnswers: (string | undefined)[] = [];
    let slowest = 0;
    const timed = async (limiter: RateLimiter, key: string) => {
      const at = performance.now();
      const result = await limiter.consume(key);
      slowest = Math.max(slowest, performance.now() - at);
      return result;
    };
    let recoveredAt = 0;
    const startedAt = Date.now();
    while (Date.now() - startedAt < 30_000) {
      const [victim, victimLog, other] = await Promise.all([
        timed(fixed, 'victim'),
        timed(log, 'victim'),
        timed(fixed, bystander),
      ]);
      bystanderAnswers.push(other.degraded);
      if (promotedAt !== 0 && victim.degraded === undefined && victimLog.degraded === undefined) {
        recoveredAt = Date.now();
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const promoted = await failover;
    expect(promoted).not.toBe(master);
    expect(recoveredAt).toBeGreaterThan(0);
    // Same client, no restart: ioredis follows the new layout, the store reloads its scripts.
    expect(recoveredAt - promotedAt).toBeLessThan(5_000);
    process.stderr.write(
      `[ratelimit cluster failover] answered from Redis again ${recoveredAt - promotedAt} ms after the promotion; ${bystanderAnswers.filter((answer) => answer === undefined).length}/${bystanderAnswers.length} checks on another master answered by Redis meanwhile\n`,
    );
    // No check waited much longer than the timeout, whatever ioredis was doing meanwhile.
    expect(slowest).toBeLessThan(TIMEOUT_MS + 250);
  });
});
