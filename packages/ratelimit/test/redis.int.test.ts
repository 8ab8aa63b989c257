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

  test("a limiter's single-key fixed-window consume answers like the general store path", async () => {
    // The same store without its internal fast path: the limiter goes through `evaluate`.
    const general: typeof store = {
      evaluate: (mode, entries) => store.evaluate(mode, entries),
      reset: (keys) => store.reset(keys),
      block: (key, durationMs) => store.block(key, durationMs),
    };
    const stamp = Date.now();
    for (const blockDurationMs of [0, 60_000]) {
      const make = (target: typeof store, name: string) =>
        createRateLimiter({
          store: target,
          algorithm: fixedWindow({ limit: 3, windowMs: 60_000 }),
          prefix: `${name}-${blockDurationMs}-${stamp}`,
          blockDurationMs,
        });
      const fast = make(store, 'fast');
      const slow = make(general, 'general');
      const keys = ['alice', 'b|c', 'é', 'k'.repeat(250)];
      for (let round = 0; round < 5; round++) {
        for (const [index, key] of keys.entries()) {
          const cost = (round + index) % 2 === 0 ? undefined : { cost: 2 };
          const ours = await fast.consume(key, cost);
          const theirs = await slow.consume(key, cost);
          // Both windows started within this test: the resets differ by the time between calls.
          expect({ ...ours, resetMs: 0, retryAfterMs: ours.retryAfterMs > 0 }).toEqual({
            ...theirs,
            resetMs: 0,
            retryAfterMs: theirs.retryAfterMs > 0,
          });
          expect(Math.abs(ours.resetMs - theirs.resetMs)).toBeLessThan(5_000);
        }
      }
      await expect(fast.consume('')).rejects.toThrow(TypeError);
      await expect(fast.consume('x', { cost: 4 })).rejects.toThrow(TypeError);
    }
  });
});
