import { setTimeout as sleep } from 'node:timers/promises';
import { sentinelClientOptions } from '@switchboard/infra';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, test } from 'vitest';
import { consumeAll, createRateLimiter, fixedWindow, slidingWindowLog } from '../src/index.ts';
import { createRedisStore, type RedisCommandClient } from '../src/redis.ts';
import { storeContract } from '../src/testing.ts';

const redisInfo = inject('infra').redis;
if (!redisInfo) throw new Error('the shared topology has no Redis');
const clients = [new Redis(sentinelClientOptions(redisInfo)), new Redis(sentinelClientOptions(redisInfo))] as const;
const [mainClient, peerClient] = clients;
const store = createRedisStore({ client: mainClient });
const peerStore = createRedisStore({ client: peerClient });

afterAll(() => {
  for (const client of clients) client.disconnect();
});

storeContract({
  name: 'redis (Sentinel-managed master)',
  store: () => store,
  peerStore: () => peerStore,
  advance: (ms) => sleep(ms),
});

/** Counts the commands a store sends. */
function countingClient(client: Redis): RedisCommandClient & { commands: string[] } {
  const commands: string[] = [];
  return {
    commands,
    call: (command, ...args) => {
      commands.push(command);
      return client.call(command, ...args);
    },
  };
}

describe('createRedisStore', () => {
  test("changing a limiter's algorithm under the same prefix (a rolling deploy) never breaks checks", async () => {
    const prefix = `switch-${Date.now()}`;
    const before = createRateLimiter({ store, algorithm: slidingWindowLog({ limit: 5, windowMs: 60_000 }), prefix });
    const after = createRateLimiter({
      store,
      algorithm: fixedWindow({ limit: 5, windowMs: 60_000 }),
      prefix,
      logger: { warn: () => {} },
    });
    await before.consume('k');
    const result = await after.consume('k');
    expect(result.degraded).toBeUndefined();
    expect(result.allowed).toBe(true);
    await after.reset('k');
    expect(await before.peek('k')).toMatchObject({ remaining: 5 });
  });

  test('a check and a three-limit consumeAll are each one EVALSHA', async () => {
    const counting = countingClient(mainClient);
    const countingStore = createRedisStore({ client: counting });
    const limiters = ['a', 'b', 'c'].map((name) =>
      createRateLimiter({
        store: countingStore,
        algorithm: slidingWindowLog({ limit: 5, windowMs: 60_000 }),
        prefix: `rt-${name}-${Date.now()}`,
      }),
    );
    // Warm up: the first call may load the script.
    await limiters[0]?.consume('u');
    counting.commands.length = 0;
    await limiters[0]?.consume('u');
    await consumeAll(limiters.map((limiter) => ({ limiter, key: 'u' })));
    expect(counting.commands).toEqual(['EVALSHA', 'EVALSHA']);
  });

  test('recovers by itself when Redis forgets the script (restart, failover, SCRIPT FLUSH)', async () => {
    const limiter = createRateLimiter({
      store,
      algorithm: fixedWindow({ limit: 3, windowMs: 60_000 }),
      prefix: `flush-${Date.now()}`,
    });
    expect((await limiter.consume('k')).allowed).toBe(true);
    await mainClient.script('FLUSH');
    expect(await limiter.consume('k')).toMatchObject({ allowed: true, remaining: 1 });
  });

  test('keys expire by themselves', async () => {
    const prefix = `ttl-${Date.now()}`;
    const limiter = createRateLimiter({ store, algorithm: fixedWindow({ limit: 3, windowMs: 5_000 }), prefix });
    await limiter.consume('k');
    const ttl = await mainClient.pttl(`${prefix}|k|fw`);
    expect(ttl).toBeGreaterThan(4_000);
    expect(ttl).toBeLessThanOrEqual(5_000);
  });

  test('user keys cannot reach another key: separators are encoded', async () => {
    const prefix = `enc-${Date.now()}`;
    const limiter = createRateLimiter({ store, algorithm: fixedWindow({ limit: 1, windowMs: 60_000 }), prefix });
    await limiter.consume('alice');
    // "alice|fw" would collide with the state key of "alice" if '|' passed through.
    expect((await limiter.consume('alice|fw')).allowed).toBe(true);
    expect((await limiter.consume('alice')).allowed).toBe(false);
    const keys = await mainClient.keys(`${prefix}|*`);
    expect(keys.sort()).toEqual([`${prefix}|alice%7cfw|fw`, `${prefix}|alice|fw`]);
  });
});
