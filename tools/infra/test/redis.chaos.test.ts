import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sentinelClientOptions, startTestTopology, type Topology } from '../src/index.ts';
import { waitFor } from './wait-for.ts';

function fail(message: string): never {
  throw new Error(message);
}

describe('Redis Sentinel failover', () => {
  let topology: Topology;
  let client: Redis;

  beforeAll(async () => {
    topology = await startTestTopology({ postgres: false, redis: { replicas: 2, sentinels: 3 } });
    client = new Redis(sentinelClientOptions(topology.info.redis ?? fail('no redis')));
    client.on('error', () => {
      // Connection errors during the failover are expected; failed commands are what we count.
    });
  });

  afterAll(async () => {
    client?.disconnect();
    await topology?.stop();
  });

  test('killing the master makes Sentinel promote a replica, and the client keeps writing', async () => {
    const group = topology.redis;
    if (!group) throw new Error('no redis group');
    const key = 'failover:counter';
    await client.set(key, '0');
    const oldMaster = await group.currentMaster();
    expect(oldMaster.name).toBe('redis-master');

    let acknowledged = 0;
    let failed = 0;
    let acknowledgedAfterFailover = 0;
    let failoverDone = false;
    let writing = true;
    const writer = (async () => {
      while (writing) {
        try {
          await client.incr(key);
          acknowledged++;
          if (failoverDone) acknowledgedAfterFailover++;
        } catch {
          failed++;
        }
        await sleep(2);
      }
    })();

    let newMaster: Awaited<ReturnType<typeof group.waitForFailover>>;
    let failoverMs: number;
    try {
      await waitFor(async () => (acknowledged >= 50 ? true : undefined), { timeoutMs: 5_000 });
      await oldMaster.kill();
      const killedAt = Date.now();
      newMaster = await group.waitForFailover(oldMaster, 30_000);
      failoverDone = true;
      failoverMs = Date.now() - killedAt;
      await waitFor(async () => (acknowledgedAfterFailover >= 50 ? true : undefined), { timeoutMs: 15_000 });
    } finally {
      // Never leave the writer spinning (it would loop on a disconnected client forever).
      writing = false;
      await writer;
    }

    expect(newMaster).not.toBe(oldMaster);
    expect(group.dataNodes).toContain(newMaster);
    // Sentinel cannot act before down-after-milliseconds has passed.
    expect(failoverMs).toBeGreaterThanOrEqual(group.downAfterMilliseconds);
    expect(failed).toBe(0);
    expect(acknowledgedAfterFailover).toBeGreaterThanOrEqual(50);
    // Every acknowledged INCR is on the new master.
    expect(Number(await newMaster.command('GET', key))).toBeGreaterThanOrEqual(acknowledged);
    expect(Number(await client.get(key))).toBeGreaterThanOrEqual(acknowledged);

    // The old master comes back as a replica of the new one and catches up.
    await group.restart(oldMaster);
    const role = (await oldMaster.command('ROLE')) as unknown[];
    expect(role[0]).toBe('slave');
    expect(Number(role[2])).toBe(newMaster.port);
    const copied = await waitFor(
      async () => {
        const value = await oldMaster.command('GET', key);
        return value === null ? undefined : Number(value);
      },
      { timeoutMs: 10_000 },
    );
    expect(copied).toBe(Number(await newMaster.command('GET', key)));
  });

  test('a paused node answers nothing until resumed', async () => {
    const group = topology.redis;
    if (!group) throw new Error('no redis group');
    const replica = (await group.currentReplicas()).find((node) => node.isRunning());
    if (!replica) throw new Error('no replica');
    replica.pause();
    try {
      await expect(replica.command('PING')).rejects.toThrow(/did not answer/);
    } finally {
      replica.resume();
    }
    expect(await replica.command('PING')).toBe('PONG');
  });
});
