import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  type Algorithm,
  bindStore,
  createMemoryStore,
  createRateLimiter,
  encodeKey,
  fixedWindow,
  gcra,
  type RateLimiter,
  type RateLimitResult,
  type RateLimitStore,
  type StoreErrorPolicy,
  slidingWindowLog,
  storageKey,
  tokenBucket,
} from '../src/index.ts';
import { isSafeShort } from '../src/keys.ts';
import { createRedisStore, type RedisCommandClient } from '../src/redis.ts';
import { createReferenceMemoryStore } from './reference-memory-store.ts';

// The old encodeKey, before its loop for safe short keys.
const SAFE = /^[A-Za-z0-9_.@:-]*$/;

describe('isSafeShort', () => {
  test('is true exactly when encodeKey keeps the key as it is, through the regular expression', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: fc.constantFrom(...'aZ09_.@:-|/ %#é'.split('')), maxLength: 210 }),
          fc.string({ unit: 'grapheme', maxLength: 20 }),
          fc.string({ unit: 'binary', maxLength: 20 }),
        ),
        (key) => {
          expect(isSafeShort(key)).toBe(SAFE.test(key) && key.length <= 200);
          if (isSafeShort(key)) expect(encodeKey(key)).toBe(key);
        },
      ),
      { numRuns: 2_000 },
    );
    // 2,000 runs take seconds on a loaded machine.
  }, 30_000);
});

type Op =
  | { kind: 'consume' | 'peek' | 'penalize'; key: string; cost: number | undefined }
  | { kind: 'block'; key: string; durationMs: number }
  | { kind: 'reset'; key: string }
  | { kind: 'advance'; ms: number };

// Safe keys, keys that need encoding, keys long enough for the digest, storage-key look-alikes,
// and keys spelled like another key's encoding ('a%20b' is how 'a b' is stored, '%c3%a9' 'é').
const keyArb = fc.constantFrom(
  'a',
  'b',
  'c',
  'user:1',
  'x|y',
  'é',
  '%c3%a9',
  'a b',
  'a%20b',
  'k'.repeat(201),
  '#abc',
  '|',
  'rl|a',
);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('consume' as const),
      key: keyArb,
      cost: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('peek' as const), key: keyArb, cost: fc.constant(undefined) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('penalize' as const),
      key: keyArb,
      cost: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('block' as const),
      key: keyArb,
      durationMs: fc.integer({ min: 1, max: 3_000 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reset' as const), key: keyArb }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      ms: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constant(6_000)),
    }),
  },
);

async function run(limiter: RateLimiter, op: Op): Promise<RateLimitResult | string | undefined> {
  try {
    switch (op.kind) {
      case 'consume':
        return await limiter.consume(op.key, op.cost === undefined ? undefined : { cost: op.cost });
      case 'peek':
        return await limiter.peek(op.key);
      case 'penalize':
        return await limiter.penalize(op.key, op.cost === undefined ? undefined : { cost: op.cost });
      case 'block':
        await limiter.block(op.key, op.durationMs);
        return 'blocked';
      case 'reset':
        await limiter.reset(op.key);
        return 'reset';
      default:
        return undefined;
    }
  } catch (error) {
    return `throws ${(error as Error).message}`;
  }
}

const algorithms: [string, () => Algorithm][] = [
  ['fixedWindow', () => fixedWindow({ limit: 5, windowMs: 5_000 })],
  ['tokenBucket', () => tokenBucket({ capacity: 5, refillPerSecond: 3 })],
  ['slidingWindowLog', () => slidingWindowLog({ limit: 4, windowMs: 700 })],
  ['gcra', () => gcra({ limit: 3, periodMs: 900 })],
];

describe('memory fast paths answer like the reference store through the general path', () => {
  for (const [name, algorithm] of algorithms) {
    test(name, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(opArb, { maxLength: 150 }),
          fc.integer({ min: 1, max: 6 }),
          fc.constantFrom(0, 500),
          async (ops, maxKeys, blockDurationMs) => {
            let at = 1_000_000;
            const now = () => at;
            const fast = createMemoryStore({ maxKeys, now });
            const reference = createReferenceMemoryStore({ maxKeys, now });
            // Two prefixes on each store: tables of one store must not mix.
            const pair = (prefix: string) => ({
              fast: createRateLimiter({ store: fast, algorithm: algorithm(), prefix, blockDurationMs }),
              reference: createRateLimiter({ store: reference, algorithm: algorithm(), prefix, blockDurationMs }),
            });
            const limiters = [pair('rl'), pair('other')];
            for (const [index, op] of ops.entries()) {
              if (op.kind === 'advance') {
                at += op.ms;
                continue;
              }
              const { fast: ours, reference: theirs } = limiters[index % 2] as (typeof limiters)[number];
              expect(await run(ours, op)).toEqual(await run(theirs, op));
              expect(fast.size).toBe(reference.size);
            }
          },
        ),
        { numRuns: 400 },
      );
    });
  }

  test('a hand-made fixed window (a copy of what fixedWindow() returns) answers as fixedWindow() does', async () => {
    let at = 0;
    const store = createMemoryStore({ now: () => at });
    const limiter = createRateLimiter({ store, algorithm: { ...fixedWindow({ limit: 2, windowMs: 100 }) } });
    expect((await limiter.consume('a')).remaining).toBe(1);
    expect((await limiter.consume('a')).remaining).toBe(0);
    expect((await limiter.consume('a')).allowed).toBe(false);
    at = 100;
    expect((await limiter.consume('a')).allowed).toBe(true);
  });

  test('the store still answers storage keys from other callers (evaluate, reset, block)', async () => {
    const store = createMemoryStore();
    const limiter = createRateLimiter({ store, algorithm: fixedWindow({ limit: 2, windowMs: 60_000 }), prefix: 'p' });
    await limiter.consume('a');
    const entry = { key: 'p|a', algorithm: limiter.algorithm, cost: 1, blockDurationMs: 0 };
    expect((await store.evaluate('peek', [entry]))[0]?.remaining).toBe(1);
    await store.reset(['p|a']);
    expect((await limiter.consume('a')).remaining).toBe(1);
    await store.block('p|a', 60_000);
    expect((await limiter.consume('a')).allowed).toBe(false);
    expect(store.size).toBe(1);
  });
});

describe('bind: a store of your own with a fast path', () => {
  /** A store over the reference one, with a `bind` that records what it is given. */
  function recordingStore() {
    const reference = createReferenceMemoryStore();
    const bound: { key: string; cost: number }[] = [];
    const binds: unknown[][] = [];
    const store: RateLimitStore = {
      evaluate: (mode, entries) => reference.evaluate(mode, entries),
      reset: (keys) => reference.reset(keys),
      block: (key, durationMs) => reference.block(key, durationMs),
      bind(prefix, algorithm, options) {
        binds.push([prefix, algorithm.kind, options.blockDurationMs, options.timeoutMs]);
        const general = bindStore(reference, prefix, algorithm, options);
        return {
          consume(key, cost) {
            bound.push({ key, cost });
            return general.consume(key, cost);
          },
        };
      },
    };
    return { store, bound, binds };
  }

  test('is called once per limiter, and gets every consume the limiter validated, nothing else', async () => {
    const { store, bound, binds } = recordingStore();
    const limiter = createRateLimiter({
      store,
      algorithm: tokenBucket({ capacity: 5, refillPerSecond: 0.001 }),
      prefix: 'mine',
      blockDurationMs: 1_000,
      timeoutMs: 250,
    });
    expect(binds).toEqual([['mine', 'token-bucket', 1_000, 250]]);
    expect(await limiter.consume('a b')).toMatchObject({ allowed: true, remaining: 4, limit: 5 });
    expect(await limiter.consume('a b', { cost: 4 })).toMatchObject({ allowed: true, remaining: 0 });
    await expect(limiter.consume('')).rejects.toThrow(TypeError);
    await expect(limiter.consume('k', { cost: 6 })).rejects.toThrow(/exceeds the limit/);
    await expect(limiter.consume('k', { cost: 0.5 })).rejects.toThrow(TypeError);
    // The caller's key, validated but not encoded: its storage key is storageKey(prefix, key).
    expect(bound).toEqual([
      { key: 'a b', cost: 1 },
      { key: 'a b', cost: 4 },
    ]);
    expect(storageKey('mine', 'a b')).toBe('mine|a%20b');
    // peek goes through evaluate with that storage key, and sees what the bound consumes paid.
    expect(await limiter.peek('a b')).toMatchObject({ allowed: false, remaining: 0 });
    expect(bound).toHaveLength(2);
  });

  test('a bind that returns no consume is a TypeError at construction', () => {
    const { store } = recordingStore();
    const broken: RateLimitStore = { ...store, bind: () => ({}) as ReturnType<NonNullable<RateLimitStore['bind']>> };
    expect(() => createRateLimiter({ store: broken, algorithm: fixedWindow({ limit: 1, windowMs: 1_000 }) })).toThrow(
      /bind/,
    );
    const notAFunction = { ...store, bind: 5 } as unknown as RateLimitStore;
    expect(() =>
      createRateLimiter({ store: notAFunction, algorithm: fixedWindow({ limit: 1, windowMs: 1_000 }) }),
    ).toThrow(/store/);
  });

  test("bindStore, the default, answers a failing store by the limiter's policy", async () => {
    const failing: RateLimitStore = {
      evaluate: () => Promise.reject(new Error('down')),
      reset: () => Promise.resolve(),
      block: () => Promise.resolve(),
    };
    const limiter = createRateLimiter({
      store: failing,
      algorithm: fixedWindow({ limit: 3, windowMs: 1_000 }),
      onStoreError: 'open',
      logger: { warn: () => {} },
    });
    expect(await limiter.consume('k')).toMatchObject({ allowed: true, degraded: 'open', limit: 3 });
  });
});

describe('the Redis fixed-window consume of a limiter, when the store fails', () => {
  test('a logger that throws leaves no check of the batch unanswered', async () => {
    const failingClient: RedisCommandClient = { call: () => Promise.reject(new Error('connection refused')) };
    const limiter = createRateLimiter({
      store: createRedisStore({ client: failingClient }),
      algorithm: fixedWindow({ limit: 4, windowMs: 60_000 }),
      onStoreError: 'open',
      logger: {
        warn: () => {
          throw new Error('logger broke');
        },
      },
    });
    const results = await Promise.all([limiter.consume('a'), limiter.consume('b'), limiter.consume('c')]);
    expect(results.map((result) => result.degraded)).toEqual(['open', 'open', 'open']);
  });

  // A client that never answers, or fails every command.
  const hanging: RedisCommandClient = { call: () => new Promise(() => {}) };
  const failing: RedisCommandClient = { call: () => Promise.reject(new Error('connection refused')) };
  const withoutFastPath = (store: RateLimitStore): RateLimitStore => ({
    evaluate: (mode, entries) => store.evaluate(mode, entries),
    reset: (keys) => store.reset(keys),
    block: (key, durationMs) => store.block(key, durationMs),
  });
  const policies: StoreErrorPolicy[] = ['closed', 'open', { insurance: { instances: 2 } }];

  for (const [name, client] of [
    ['timing out', hanging],
    ['failing', failing],
  ] as const) {
    for (const policy of policies) {
      test(`${name}, onStoreError ${JSON.stringify(policy)}: answers like the general path`, async () => {
        const warnings: string[][] = [];
        const make = (store: RateLimitStore) => {
          const logged: string[] = [];
          warnings.push(logged);
          return createRateLimiter({
            store,
            algorithm: fixedWindow({ limit: 4, windowMs: 60_000 }),
            onStoreError: policy,
            timeoutMs: 20,
            retryStoreAfterMs: 60_000,
            logger: { warn: (message) => logged.push(message) },
          });
        };
        const fast = make(createRedisStore({ client }));
        const general = make(withoutFastPath(createRedisStore({ client })));
        for (let i = 0; i < 3; i++) {
          const [ours, theirs] = await Promise.all([fast.consume('k', { cost: 2 }), general.consume('k', { cost: 2 })]);
          expect({ ...ours, resetMs: 0, retryAfterMs: 0 }).toEqual({ ...theirs, resetMs: 0, retryAfterMs: 0 });
          expect(ours.degraded).toBeDefined();
        }
        expect(warnings[0]).toEqual(warnings[1]);
        expect(warnings[0]).toHaveLength(1);
      });
    }
  }
});
