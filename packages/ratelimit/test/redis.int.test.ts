import { sentinelClientOptions } from '@switchboard/infra';
import { Redis } from 'ioredis';
import { describe, expect, inject, test } from 'vitest';
import {
  type Algorithm,
  consumeAll,
  createRateLimiter,
  fixedWindow,
  gcra,
  type RateLimitResult,
  slidingWindowCounter,
  slidingWindowLog,
  tokenBucket,
} from '../src/index.ts';
import { createRedisStore, type RedisCommandClient } from '../src/redis.ts';
import { redisContract } from './redis-contract.ts';

const redisInfo = inject('infra').redis;
if (!redisInfo) throw new Error('the shared topology has no Redis');
const { store, mainClient } = redisContract(
  'redis (Sentinel-managed master)',
  () => new Redis(sentinelClientOptions(redisInfo)),
);

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
    const ttl = await mainClient.pttl(`${prefix}|{k}|fw`);
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
    expect(keys.sort()).toEqual([`${prefix}|{alice%7cfw}|fw`, `${prefix}|{alice}|fw`]);
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

describe('fixed-window consumes of one turn, batched', () => {
  /** Counts EVALSHAs and the checks in each (its key count / 2), going through `call`. */
  function batchCounting(client: Redis) {
    const batches: number[] = [];
    const counting: RedisCommandClient = {
      call: (command, ...args) => {
        if (command === 'EVALSHA') batches.push(Number(args[1]) / 2);
        return client.call(command, ...args);
      },
    };
    return { batches, store: createRedisStore({ client: counting }) };
  }

  test('the checks of one turn share EVALSHAs (sent once 32 wait) and answer as if sent one by one', async () => {
    const { batches, store: counted } = batchCounting(mainClient);
    const stamp = Date.now();
    // Two limiters with different limits in the same batches, and one with its own timeout.
    const small = createRateLimiter({
      store: counted,
      algorithm: fixedWindow({ limit: 3, windowMs: 60_000 }),
      prefix: `bs-${stamp}`,
    });
    const large = createRateLimiter({
      store: counted,
      algorithm: fixedWindow({ limit: 5, windowMs: 60_000 }),
      prefix: `bl-${stamp}`,
    });
    const ownTimeout = createRateLimiter({
      store: counted,
      algorithm: fixedWindow({ limit: 2, windowMs: 60_000 }),
      prefix: `bt-${stamp}`,
      timeoutMs: 5_000,
    });
    await small.consume('warm-up');
    batches.length = 0;
    const calls: Promise<RateLimitResult>[] = [];
    for (let i = 0; i < 20; i++) calls.push(small.consume('a'), large.consume('a'), ownTimeout.consume(`k${i % 2}`));
    const results = await Promise.all(calls);
    // 40 checks of one timeout and 20 of another, in call order: the 32nd of the first timeout
    // sends both waiting batches (32, then 15), the rest goes when the turn ends, in the order the
    // batches were started (5 of the second timeout, then 8 of the first).
    expect(batches).toEqual([32, 15, 5, 8]);
    const allowed = (offset: number) =>
      results
        .filter((_, index) => index % 3 === offset)
        .map((result) => result.allowed)
        .filter(Boolean).length;
    expect([allowed(0), allowed(1), allowed(2)]).toEqual([3, 5, 4]);
    // In call order: remaining counts down per limiter, as sequential checks would answer.
    expect(results.filter((_, index) => index % 3 === 1).map((result) => result.remaining)).toEqual([
      4, 3, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    expect(results[3 * 19 + 1]).toMatchObject({ allowed: false, limit: 5, remaining: 0 });
    expect(results[3 * 19 + 1]?.retryAfterMs).toBeGreaterThan(55_000);
  });

  test('a key holding something else (not a counter, no TTL, another type) does not fail the batch', async () => {
    const prefix = `corrupt-${Date.now()}`;
    const limiter = createRateLimiter({ store, algorithm: fixedWindow({ limit: 3, windowMs: 60_000 }), prefix });
    await mainClient.set(`${prefix}|{text}|fw`, 'not a number');
    await mainClient.set(`${prefix}|{fraction}|fw`, '1.5', 'PX', 60_000);
    await mainClient.set(`${prefix}|{forever}|fw`, '2');
    await mainClient.hset(`${prefix}|{hash}|fw`, 'field', '1');
    const keys = ['text', 'fraction', 'forever', 'hash', 'fine'];
    const results = await Promise.all(keys.map((key) => limiter.consume(key)));
    // Each is treated as a fresh window (the foreign value overwritten), none fails or degrades.
    for (const result of results) expect(result).toMatchObject({ allowed: true, remaining: 2 });
    for (const key of keys) {
      expect(await mainClient.get(`${prefix}|{${key}}|fw`)).toBe('1');
      expect(await mainClient.pttl(`${prefix}|{${key}}|fw`)).toBeGreaterThan(50_000);
    }
  });

  test('32 checks at most per script run: a turn of 1,000 checks goes out as 32 batches, in order', async () => {
    const { batches, store: counted } = batchCounting(mainClient);
    const limiter = createRateLimiter({
      store: counted,
      algorithm: fixedWindow({ limit: 700, windowMs: 60_000 }),
      prefix: `many-${Date.now()}`,
      timeoutMs: 10_000,
    });
    await limiter.consume('warm-up');
    batches.length = 0;
    const results = await Promise.all(Array.from({ length: 1_000 }, () => limiter.consume('hot')));
    expect(results.filter((result) => result.allowed)).toHaveLength(700);
    expect(batches.reduce((sum, checks) => sum + checks, 0)).toBe(1_000);
    expect(batches).toEqual([...Array.from({ length: 31 }, () => 32), 8]);
    // Sent in call order: the first 700 checks are the ones allowed.
    expect(results.findIndex((result) => !result.allowed)).toBe(700);
  });
});

describe('checks of one turn through the general script, batched', () => {
  const algorithms = () => [
    slidingWindowLog({ limit: 3, windowMs: 60_000 }),
    slidingWindowCounter({ limit: 3, windowMs: 60_000 }),
    tokenBucket({ capacity: 3, refillPerSecond: 0.001 }),
    gcra({ limit: 1, periodMs: 60_000, burst: 3 }),
  ];

  test('share EVALSHAs and answer as the same checks made one at a time', async () => {
    const stamp = Date.now();
    const commands: string[] = [];
    const counted = createRedisStore({
      client: {
        call: (command, ...args) => {
          commands.push(command);
          return mainClient.call(command, ...args);
        },
      },
    });
    const make = (target: typeof store, name: string) =>
      algorithms().map((algorithm, index) =>
        createRateLimiter({ store: target, algorithm, prefix: `${name}-${index}-${stamp}`, timeoutMs: 10_000 }),
      );
    const together = make(counted, 'together');
    const apart = make(store, 'apart');
    // Each limiter: 4 consumes, a peek, a penalty, and a consumeAll over all four limiters.
    const script = (limiters: ReturnType<typeof make>) => [
      ...limiters.flatMap((limiter) => [
        () => limiter.consume('k'),
        () => limiter.consume('k'),
        () => limiter.peek('k'),
        () => limiter.consume('k'),
        () => limiter.consume('k'),
        () => limiter.penalize('j', { cost: 2 }),
      ]),
      () => consumeAll(limiters.map((limiter) => ({ limiter, key: 'j' }))).then((all) => all.results[0]),
      () => consumeAll(limiters.map((limiter) => ({ limiter, key: 'j' }))).then((all) => all.results[3]),
    ];
    await together[0]?.peek('warm-up');
    commands.length = 0;
    const batched = await Promise.all(script(together).map((call) => call()));
    expect(commands).toEqual(['EVALSHA', 'EVALSHA']);
    const sequential: (RateLimitResult | undefined)[] = [];
    for (const call of script(apart)) sequential.push(await call());
    const shape = (result: RateLimitResult | undefined) => ({
      allowed: result?.allowed,
      remaining: result?.remaining,
      degraded: result?.degraded,
    });
    expect(batched.map(shape)).toEqual(sequential.map(shape));
    // The point of the comparison: the checks did run into their limits.
    expect(batched.filter((result) => result?.allowed === false).length).toBeGreaterThan(4);
  });

  test('a check over a key written by something else fails alone; the others of its batch are answered', async () => {
    const prefix = `foreign-${Date.now()}`;
    const warnings: string[] = [];
    const log = createRateLimiter({
      store,
      algorithm: slidingWindowLog({ limit: 3, windowMs: 60_000 }),
      prefix,
      logger: { warn: (message) => warnings.push(message) },
    });
    const counter = createRateLimiter({
      store,
      algorithm: slidingWindowCounter({ limit: 3, windowMs: 60_000 }),
      prefix: `${prefix}-c`,
    });
    // The log keeps a list; a string there makes its script step fail (WRONGTYPE).
    await mainClient.set(`${prefix}|{bad}|swl`, 'a string', 'PX', 60_000);
    const [bad, good, other] = await Promise.all([log.consume('bad'), log.consume('good'), counter.consume('x')]);
    expect(bad).toMatchObject({ allowed: false, degraded: 'closed' });
    expect(good).toMatchObject({ allowed: true, remaining: 2 });
    expect(good.degraded).toBeUndefined();
    expect(other).toMatchObject({ allowed: true, remaining: 2 });
    expect(other.degraded).toBeUndefined();
    // The store is up: the next checks go to Redis, not to the failure policy.
    expect(warnings).toEqual(['rate-limit state unreadable; answering such checks by the onStoreError policy']);
    const next = await log.consume('good');
    expect(next).toMatchObject({ allowed: true, remaining: 1 });
    expect(next.degraded).toBeUndefined();
  });
});

describe('what the batched scripts must not do (review findings)', () => {
  test('counters Redis would not INCRBY ("5.0", "007", "1e3", " 5") start a fresh window and fail no check', async () => {
    const prefix = `strict-${Date.now()}`;
    const limiter = createRateLimiter({ store, algorithm: fixedWindow({ limit: 3, windowMs: 60_000 }), prefix });
    const foreign = ['5.0', '007', '1e3', ' 5'];
    for (const [index, value] of foreign.entries())
      await mainClient.set(`${prefix}|{f${index}}|fw`, value, 'PX', 60_000);
    const keys = ['a', ...foreign.map((_, index) => `f${index}`), 'b'];
    const results = await Promise.all(keys.map((key) => limiter.consume(key)));
    for (const result of results) {
      expect(result.degraded).toBeUndefined();
      expect(result).toMatchObject({ allowed: true, remaining: 2 });
    }
    for (const key of keys) expect(await mainClient.get(`${prefix}|{${key}}|fw`)).toBe('1');
  });

  test('a multi-limit check over such a counter is decided and paid once, not refused and half paid', async () => {
    const stamp = Date.now();
    const counter = createRateLimiter({
      store,
      algorithm: slidingWindowCounter({ limit: 10, windowMs: 60_000 }),
      prefix: `half-c-${stamp}`,
    });
    const fixed = createRateLimiter({
      store,
      algorithm: fixedWindow({ limit: 10, windowMs: 60_000 }),
      prefix: `half-f-${stamp}`,
    });
    await mainClient.set(`half-f-${stamp}|{u}|fw`, '007', 'PX', 60_000);
    for (const expected of [9, 8]) {
      const all = await consumeAll([
        { limiter: counter, key: 'u' },
        { limiter: fixed, key: 'u' },
      ]);
      expect(all.allowed).toBe(true);
      expect(all.results.map((result) => result.degraded)).toEqual([undefined, undefined]);
      expect(all.results[0]?.remaining).toBe(expected);
    }
    expect((await counter.peek('u')).remaining).toBe(8);
  });

  test('Redis refusing writes (a replica: READONLY) marks the store down, for the general script as for the batch', async () => {
    const replicaAddress = redisInfo.replicas[0];
    if (!replicaAddress) throw new Error('the shared topology has no Redis replica');
    const replica = new Redis(replicaAddress);
    try {
      const replicaStore = createRedisStore({ client: replica });
      const warnings: string[] = [];
      const make = (algorithm: Algorithm, name: string) =>
        createRateLimiter({
          store: replicaStore,
          algorithm,
          prefix: `ro-${name}-${Date.now()}`,
          retryStoreAfterMs: 60_000,
          logger: { warn: (message) => warnings.push(message) },
        });
      const counter = make(slidingWindowCounter({ limit: 5, windowMs: 60_000 }), 'c');
      const fixed = make(fixedWindow({ limit: 5, windowMs: 60_000 }), 'f');
      const first = await counter.consume('k');
      expect(first).toMatchObject({ allowed: false, degraded: 'closed' });
      expect(first.retryAfterMs).toBeGreaterThan(50_000);
      // Marked down: the next checks are answered by the policy without asking Redis.
      const [second, third] = await Promise.all([counter.consume('k'), fixed.consume('k')]);
      expect(second).toMatchObject({ degraded: 'closed' });
      expect(third).toMatchObject({ degraded: 'closed' });
      expect(warnings).toEqual(['rate-limit store failed; answering by the onStoreError policy']);
    } finally {
      replica.disconnect();
    }
  });

  test('checks, penalties, resets and blocks of one turn take effect in call order', async () => {
    const stamp = Date.now();
    const make = (name: string) =>
      createRateLimiter({
        store,
        algorithm: fixedWindow({ limit: 3, windowMs: 60_000 }),
        prefix: `order-${name}-${stamp}`,
      });
    const penalized = make('p');
    const [before, penalty, after] = await Promise.all([
      penalized.consume('k'),
      penalized.penalize('k', { cost: 2 }),
      penalized.consume('k'),
    ]);
    expect([before.allowed, penalty.remaining, after.allowed]).toEqual([true, 0, false]);

    const reset = make('r');
    await Promise.all([reset.consume('k'), reset.consume('k'), reset.reset('k')]);
    expect((await reset.peek('k')).remaining).toBe(3);

    const blocked = make('b');
    const [allowed] = await Promise.all([blocked.consume('k'), blocked.block('k', 60_000)]);
    expect(allowed.allowed).toBe(true);
    expect((await blocked.consume('k')).allowed).toBe(false);
  });
});
