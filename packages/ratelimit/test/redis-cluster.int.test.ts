import { redisSlot } from '@switchboard/hot-path';
import { Cluster } from 'ioredis';
import { describe, expect, inject, test } from 'vitest';
import {
  consumeAll,
  createRateLimiter,
  fixedWindow,
  slidingWindowCounter,
  slidingWindowLog,
  storageKey,
} from '../src/index.ts';
import { createRedisStore, type RedisCommandClient } from '../src/redis.ts';
import { redisContract } from './redis-contract.ts';

const clusterInfo = inject('infra').redisCluster;
if (!clusterInfo) throw new Error('the shared topology has no Redis Cluster');
const { store, mainClient } = redisContract(
  'redis (Cluster, 3 masters)',
  () => new Cluster(clusterInfo.nodes, { scaleReads: 'master' }),
);

let prefixes = 0;
const uniquePrefix = (label: string) => `${label}-${Date.now().toString(36)}-${prefixes++}`;

describe('createRedisStore on a Redis Cluster', () => {
  test('the slot computed for batching is the slot Redis gives (CLUSTER KEYSLOT)', async () => {
    const keys = [
      'plain',
      storageKey('rl', 'user-1'),
      storageKey('rl', 'user-1:chat-9', 'user-1'),
      `rl|{${'x'.repeat(300)}}|fw`,
      'rl|{é}|b',
      'a{}b',
    ];
    for (const key of keys) expect(redisSlot(key)).toBe(Number(await mainClient.cluster('KEYSLOT', key)));
  });

  test("a key's state and block share a slot; keys spread over every master, and a turn's checks spanning slots all succeed", async () => {
    const limiter = createRateLimiter({
      store,
      algorithm: fixedWindow({ limit: 5, windowMs: 60_000 }),
      prefix: uniquePrefix('spread'),
      blockDurationMs: 60_000,
      // A CROSSSLOT error would be a store failure: closed, the check would be refused.
      onStoreError: 'closed',
      logger: { warn: () => {} },
    });
    const general = createRateLimiter({
      store,
      algorithm: slidingWindowLog({ limit: 5, windowMs: 60_000 }),
      prefix: uniquePrefix('spread-log'),
      onStoreError: 'closed',
      logger: { warn: () => {} },
    });
    // 10,000 users, a thousand per event-loop turn: each turn's batches span hundreds of slots.
    // Fixed windows first, then the general script (a check of one kind sends the other's waiting
    // batch: alternating them would make batches of one).
    for (let from = 0; from < 10_000; from += 1000) {
      const results = await Promise.all(
        Array.from({ length: 1000 }, (_, i) => (i < 500 ? limiter : general).consume(`user-${from + i}`)),
      );
      expect(results.filter((result) => !result.allowed || result.degraded)).toEqual([]);
    }
    const masters = mainClient.nodes('master');
    expect(masters.length).toBe(3);
    const counts = await Promise.all(masters.map((node) => node.dbsize()));
    for (const count of counts) expect(count).toBeGreaterThan(1000);
    // A refused key writes its block next to its state: the same slot.
    for (let i = 0; i < 6; i++) await limiter.consume('blocked-user');
    const keys = await Promise.all(masters.map((node) => node.keys(`${limiter.prefix}|{blocked-user}*`)));
    const found = keys.flat().sort();
    expect(found).toEqual([`${limiter.prefix}|{blocked-user}|b`, `${limiter.prefix}|{blocked-user}|fw`]);
    expect(new Set(found.map((key) => redisSlot(key))).size).toBe(1);
  });

  test('consumeAll over limiters sharing a hashTag is one atomic script: a refused entry leaves the others unpaid', async () => {
    const byUser = { hashTag: (key: string) => key.split(':')[0] as string };
    const perUser = createRateLimiter({
      store,
      algorithm: fixedWindow({ limit: 100, windowMs: 60_000 }),
      prefix: uniquePrefix('user'),
      ...byUser,
    });
    const perChat = createRateLimiter({
      store,
      algorithm: slidingWindowLog({ limit: 3, windowMs: 60_000 }),
      prefix: uniquePrefix('chat'),
      ...byUser,
    });
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, () =>
        consumeAll([
          { limiter: perUser, key: 'u7' },
          { limiter: perChat, key: 'u7:c1' },
        ]),
      ),
    );
    expect(outcomes.filter((outcome) => outcome.allowed)).toHaveLength(3);
    expect((await perUser.peek('u7')).remaining).toBe(97);
    expect(redisSlot(storageKey(perUser.prefix, 'u7', 'u7'))).toBe(
      redisSlot(storageKey(perChat.prefix, 'u7:c1', 'u7')),
    );
  });

  test('consumeAll over keys in different slots is a TypeError saying how to fix it, not a store failure', async () => {
    const perUser = createRateLimiter({
      store,
      algorithm: fixedWindow({ limit: 10, windowMs: 60_000 }),
      prefix: uniquePrefix('user'),
      // Were it a store failure, 'open' would allow it.
      onStoreError: 'open',
    });
    const perChat = createRateLimiter({
      store,
      algorithm: fixedWindow({ limit: 10, windowMs: 60_000 }),
      prefix: uniquePrefix('chat'),
      onStoreError: 'open',
    });
    const attempt = consumeAll([
      { limiter: perUser, key: 'u8' },
      { limiter: perChat, key: 'u8:c1' },
    ]);
    await expect(attempt).rejects.toThrow(TypeError);
    await expect(attempt).rejects.toThrow(/hashTag/);
    expect((await perUser.peek('u8')).remaining).toBe(10);
  });

  test('reset of keys in different slots forgets each of them', async () => {
    const limiter = createRateLimiter({
      store,
      algorithm: fixedWindow({ limit: 2, windowMs: 60_000 }),
      prefix: uniquePrefix('reset'),
    });
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    for (const key of keys) await limiter.consume(key, { cost: 2 });
    await store.reset(keys.map((key) => storageKey(limiter.prefix, key)));
    for (const key of keys) expect((await limiter.peek(key)).remaining).toBe(2);
  });

  describe("a turn's checks batched per node", () => {
    /** The cluster client as the store sees it, counting the scripts sent, with the slot table `slots` gives. */
    const counted = (slots: () => RedisCommandClient['slots']) => {
      const client = {
        scripts: 0,
        isCluster: true,
        get slots() {
          return slots();
        },
        call: (command: string, ...args: (string | number)[]) => mainClient.call(command, ...args),
        evalsha: (sha1: string, numberOfKeys: number, ...keysAndArgs: (string | number)[]) => {
          client.scripts++;
          return mainClient.evalsha(sha1, numberOfKeys, ...keysAndArgs);
        },
      };
      return client;
    };
    /** A table claiming one node holds every slot: each batch mixes every master's keys. */
    const lyingTable = () => {
      const oneNode = mainClient.slots[0] as string[];
      return Array.from({ length: 16_384 }, () => oneNode);
    };
    const users = Array.from({ length: 300 }, (_, i) => `node-user-${i}`);
    const quiet = { onStoreError: 'closed', logger: { warn: () => {} } } as const;
    // Fixed windows go through their batch script, the other algorithms through the general one.
    const scripts = [
      { name: 'fixed-window batch script', algorithm: fixedWindow },
      { name: 'general script', algorithm: slidingWindowCounter },
    ] as const;

    for (const { name, algorithm } of scripts) {
      test(`${name}: 300 checks over ~300 slots go out as a few scripts per node, each decided alone`, async () => {
        const client = counted(() => mainClient.slots);
        const limiter = createRateLimiter({
          store: createRedisStore({ client }),
          algorithm: algorithm({ limit: 3, windowMs: 60_000 }),
          prefix: uniquePrefix('per-node'),
          ...quiet,
        });
        const slots = users.map((user) => redisSlot(`${limiter.prefix}|{${user}}|b`));
        expect(new Set(slots).size).toBeGreaterThan(250);
        await limiter.consume('warm-up'); // the client has its slot table, the nodes the script
        client.scripts = 0;
        for (let round = 1; round <= 4; round++) {
          const results = await Promise.all(users.map((user) => limiter.consume(user)));
          expect(results.filter((result) => result.degraded)).toEqual([]);
          expect(results.map((result) => result.allowed)).toEqual(users.map(() => round <= 3));
          expect(results.map((result) => result.remaining)).toEqual(users.map(() => Math.max(0, 3 - round)));
        }
        // Per slot it would be 300 scripts a round; per node, a few (batches are capped in size).
        expect(client.scripts).toBeLessThanOrEqual(4 * 15);
      });

      test(`${name}: a stale slot table costs a resend, never a wrong answer or a double payment`, async () => {
        const client = counted(lyingTable);
        const limiter = createRateLimiter({
          store: createRedisStore({ client }),
          algorithm: algorithm({ limit: 5, windowMs: 60_000 }),
          prefix: uniquePrefix('stale'),
          ...quiet,
        });
        await limiter.consume('warm-up');
        client.scripts = 0;
        for (let round = 1; round <= 3; round++) {
          const results = await Promise.all(users.map((user) => limiter.consume(user)));
          expect(results.filter((result) => result.degraded)).toEqual([]);
          expect(results.map((result) => result.remaining)).toEqual(users.map(() => 5 - round));
        }
        // About two thirds of the keys live elsewhere: each of those was sent again, alone.
        expect(client.scripts).toBeGreaterThan(3 * 150);
        // Read through a store with the true table: each key paid exactly three times.
        const truth = createRateLimiter({
          store,
          algorithm: algorithm({ limit: 5, windowMs: 60_000 }),
          prefix: limiter.prefix,
        });
        const left = await Promise.all(users.map((user) => truth.peek(user)));
        expect(left.map((result) => result.remaining)).toEqual(users.map(() => 2));
      });
    }

    test('consumeAll with a stale slot table: a resent check stays all-or-nothing', async () => {
      const client = counted(lyingTable);
      const onNodes = createRedisStore({ client });
      const byUser = { hashTag: (key: string) => key.split(':')[0] as string, ...quiet };
      const perUser = createRateLimiter({
        store: onNodes,
        algorithm: fixedWindow({ limit: 100, windowMs: 60_000 }),
        prefix: uniquePrefix('all-user'),
        ...byUser,
      });
      const perChat = createRateLimiter({
        store: onNodes,
        algorithm: slidingWindowLog({ limit: 2, windowMs: 60_000 }),
        prefix: uniquePrefix('all-chat'),
        ...byUser,
      });
      const some = users.slice(0, 100);
      for (let round = 1; round <= 3; round++) {
        const outcomes = await Promise.all(
          some.map((user) =>
            consumeAll([
              { limiter: perUser, key: user },
              { limiter: perChat, key: `${user}:c1` },
            ]),
          ),
        );
        expect(outcomes.map((outcome) => outcome.allowed)).toEqual(some.map(() => round <= 2));
      }
      // The refused third round paid nothing: 98 left on every user's global limit.
      const truth = createRateLimiter({
        store,
        algorithm: fixedWindow({ limit: 100, windowMs: 60_000 }),
        prefix: perUser.prefix,
        hashTag: byUser.hashTag,
      });
      const left = await Promise.all(some.map((user) => truth.peek(user)));
      expect(left.map((result) => result.remaining)).toEqual(some.map(() => 98));
    });
  });
});
