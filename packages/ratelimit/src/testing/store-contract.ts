import { describe, expect, test } from 'vitest';
import { fixedWindow } from '../algorithms/fixed-window.ts';
import { gcra } from '../algorithms/gcra.ts';
import { slidingWindowCounter } from '../algorithms/sliding-window-counter.ts';
import { slidingWindowLog } from '../algorithms/sliding-window-log.ts';
import { tokenBucket } from '../algorithms/token-bucket.ts';
import { consumeAll, createRateLimiter, type RateLimiterOptions } from '../rate-limiter.ts';
import type { Algorithm, RateLimitResult, RateLimitStore, StoreBindOptions } from '../types.ts';

export interface StoreContractOptions {
  /** Shown in the suite name. */
  name: string;
  /** The store under test. */
  store: () => RateLimitStore;
  /**
   * A second handle on the same data, as another process would have (Redis: a store over a
   * second client). @default the same store
   */
  peerStore?: () => RateLimitStore;
  /** Lets the store's clock move on by `ms` (a fake clock, or a real sleep for Redis). */
  advance: (ms: number) => Promise<void>;
  /** Concurrency of the exactness tests. @default 1000 */
  concurrency?: number;
  /** Generous per-check timeout: a loaded CI machine takes tens of ms for 1,000 checks. @default 10000 */
  timeoutMs?: number;
}

let prefixes = 0;

/** The same store without its `bind`: limiters over it take the generic `bindStore` over `evaluate`. */
function withoutBind(store: RateLimitStore): RateLimitStore {
  return {
    evaluate: (mode, entries) => store.evaluate(mode, entries),
    reset: (keys) => store.reset(keys),
    block: (key, durationMs) => store.block(key, durationMs),
  };
}

/**
 * The rate-limit store contract as a vitest suite: exactness under concurrency for every
 * algorithm, all-or-nothing multi-limit checks, peek, reset, blocks, penalties and windows. A
 * limiter's `consume` goes through the store's `bind` when it has one; the exactness tests run
 * through it and through the generic `bindStore` over `evaluate`, and further tests check that
 * both answer alike over the same keys (encoding included).
 *
 * @example
 * storeContract({ name: 'my store', store: () => myStore, advance: (ms) => sleep(ms) });
 */
export function storeContract(options: StoreContractOptions): void {
  const concurrency = options.concurrency ?? 1_000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const peer = options.peerStore ?? options.store;
  const unique = (label: string) => `contract-${label}-${process.pid}-${Date.now().toString(36)}-${++prefixes}`;
  const limiter = (algorithm: Algorithm, extra: Partial<RateLimiterOptions> = {}, store = options.store()) =>
    createRateLimiter({ store, algorithm, prefix: unique(algorithm.kind), timeoutMs, ...extra });

  // Long windows/periods: nothing refills while the concurrent burst is in flight.
  const exactness: [string, () => Algorithm, number][] = [
    ['fixedWindow', () => fixedWindow({ limit: 100, windowMs: 3_600_000 }), 100],
    ['slidingWindowLog', () => slidingWindowLog({ limit: 100, windowMs: 3_600_000 }), 100],
    ['slidingWindowCounter', () => slidingWindowCounter({ limit: 100, windowMs: 3_600_000 }), 100],
    ['tokenBucket', () => tokenBucket({ capacity: 100, refillPerSecond: 0.001 }), 100],
    ['gcra', () => gcra({ limit: 10, periodMs: 3_600_000, burst: 100 }), 100],
  ];

  describe(`rate-limit store contract: ${options.name}`, () => {
    const paths: [string, (store: RateLimitStore) => RateLimitStore][] = [
      ["the store's bind", (store) => store],
      ['bindStore over evaluate', withoutBind],
    ];
    describe.each(paths)('consume through %s', (_path, through) => {
      test.each(exactness)(
        '%s admits exactly its limit out of %#: concurrent checks on a fresh key',
        async (_name, make, expected) => {
          const rl = limiter(make(), {}, through(options.store()));
          const results = await Promise.all(Array.from({ length: concurrency }, () => rl.consume('hot')));
          expect(results.filter((result) => result.allowed)).toHaveLength(expected);
          const refused = results.find((result) => !result.allowed);
          expect(refused?.remaining).toBe(0);
          expect(refused?.retryAfterMs).toBeGreaterThan(0);
        },
      );
    });

    // Keys kept as they are, keys that need encoding, a digest, and keys spelled like another
    // key's encoding ('%c3%a9' is how 'é' is stored, 'a%20b' how 'a b' is).
    const awkwardKeys = ['plain', 'x|y', 'x', 'é', '%c3%a9', 'a b', 'a%20b', 'k'.repeat(250), 'k'.repeat(251)];

    test.each(exactness)(
      '%s: a bound consume uses the storage key evaluate uses, one per user key',
      async (_name, make) => {
        const rl = limiter(make());
        for (const [index, key] of awkwardKeys.entries()) {
          const cost = 1 + (index % 3);
          expect(await rl.consume(key, { cost })).toMatchObject({ allowed: true, remaining: 100 - cost });
        }
        // peek goes through evaluate, with the key encoded by the limiter.
        for (const [index, key] of awkwardKeys.entries()) {
          expect((await rl.peek(key)).remaining).toBe(100 - 1 - (index % 3));
        }
      },
    );

    test.each(exactness)(
      "%s: the store's bind and bindStore over evaluate answer alike on shared keys",
      async (_name, make) => {
        const prefix = unique('paths');
        const algorithm = make();
        const store = options.store();
        const make2 = (target: RateLimitStore) =>
          createRateLimiter({ store: target, algorithm, prefix, timeoutMs, blockDurationMs: 60_000 });
        const bound = make2(store);
        const general = make2(withoutBind(store));
        // Alternating, 60 units on a limit of 100: the counts carry over from one path to the other.
        const answers: RateLimitResult[] = [];
        for (let i = 0; i < 40; i++) answers.push(await (i % 2 === 0 ? bound : general).consume('k', { cost: 3 }));
        const allowed = answers.filter((answer) => answer.allowed);
        expect(allowed).toHaveLength(33);
        expect(allowed.map((answer) => answer.remaining)).toEqual(allowed.map((_, i) => 100 - 3 * (i + 1)));
        // The first refusal blocked the key, for either path.
        const refusals = answers.filter((answer) => !answer.allowed);
        expect(refusals.every((answer) => answer.remaining <= 1 && answer.retryAfterMs > 0)).toBe(true);
        expect(refusals.at(-1)?.retryAfterMs).toBeGreaterThan(50_000);
        await general.reset('k');
        expect(await bound.consume('k')).toMatchObject({ allowed: true, remaining: 99 });
      },
    );

    test("bind, when the store has it, answers a consume with the algorithm's limit and leaves the failure hooks alone", async () => {
      const store = options.store();
      if (!store.bind) return;
      const failures: unknown[] = [];
      let answered = 0;
      const bindOptions: StoreBindOptions = {
        blockDurationMs: 0,
        timeoutMs,
        fail: (error) => {
          failures.push(error);
          return Promise.reject(error);
        },
        answered: () => {
          answered++;
        },
      };
      for (const [, make] of exactness) {
        const algorithm = make();
        const bound = store.bind(unique('bind'), algorithm, bindOptions);
        const results = await Promise.all([bound.consume('a', 1), bound.consume('a|b', 2), bound.consume('a', 1)]);
        expect(results.map((result) => [result.allowed, result.limit, result.remaining])).toEqual([
          [true, 100, 99],
          [true, 100, 98],
          [true, 100, 98],
        ]);
      }
      expect(failures).toEqual([]);
      expect(answered === 0 || answered === 3 * exactness.length).toBe(true);
    });

    test.each(exactness)(
      '%s stays exact across two limiter instances sharing the store',
      async (_name, make, expected) => {
        const prefix = unique('shared');
        const algorithm = make();
        const first = createRateLimiter({ store: options.store(), algorithm, prefix, timeoutMs });
        const second = createRateLimiter({ store: peer(), algorithm, prefix, timeoutMs });
        const results = await Promise.all(
          Array.from({ length: concurrency }, (_, i) => (i % 2 === 0 ? first : second).consume('hot')),
        );
        expect(results.filter((result) => result.allowed)).toHaveLength(expected);
      },
    );

    test('consumeAll pays every limit or none', async () => {
      const store = options.store();
      // One hash tag for 'u1' and 'u1:chat' (the user), as Redis Cluster needs for one script.
      const byUser = { hashTag: (key: string) => key.split(':')[0] as string };
      const wide = limiter(fixedWindow({ limit: 5, windowMs: 3_600_000 }), byUser, store);
      const narrow = limiter(fixedWindow({ limit: 2, windowMs: 3_600_000 }), byUser, store);
      const entries = [
        { limiter: wide, key: 'u1' },
        { limiter: narrow, key: 'u1:chat' },
      ];
      expect((await consumeAll(entries)).allowed).toBe(true);
      expect((await consumeAll(entries)).allowed).toBe(true);
      const refused = await consumeAll(entries);
      expect(refused.allowed).toBe(false);
      expect(refused.results.map((result) => result.allowed)).toEqual([true, false]);
      expect(refused.retryAfterMs).toBeGreaterThan(0);
      // The wide limit was not paid for the refused call: 5 - 2 left, not 5 - 3.
      expect((await wide.peek('u1')).remaining).toBe(3);
    });

    test('consumeAll under concurrency never leaves a partial payment', async () => {
      const store = options.store();
      const wide = limiter(fixedWindow({ limit: 50, windowMs: 3_600_000 }), {}, store);
      const narrow = limiter(fixedWindow({ limit: 20, windowMs: 3_600_000 }), {}, store);
      const outcomes = await Promise.all(
        Array.from({ length: 200 }, () =>
          consumeAll([
            { limiter: wide, key: 'k' },
            { limiter: narrow, key: 'k' },
          ]),
        ),
      );
      expect(outcomes.filter((outcome) => outcome.allowed)).toHaveLength(20);
      expect((await wide.peek('k')).remaining).toBe(30);
    });

    test('peek consumes nothing', async () => {
      const rl = limiter(slidingWindowLog({ limit: 3, windowMs: 3_600_000 }));
      await rl.consume('k');
      for (let i = 0; i < 5; i++) expect(await rl.peek('k')).toMatchObject({ allowed: true, remaining: 2, limit: 3 });
      await rl.consume('k', { cost: 2 });
      expect(await rl.peek('k')).toMatchObject({ allowed: false, remaining: 0 });
    });

    test('cost pays several units at once and is refused whole', async () => {
      const rl = limiter(tokenBucket({ capacity: 10, refillPerSecond: 0.001 }));
      expect(await rl.consume('k', { cost: 7 })).toMatchObject({ allowed: true, remaining: 3 });
      expect(await rl.consume('k', { cost: 4 })).toMatchObject({ allowed: false, remaining: 3 });
      expect(await rl.consume('k', { cost: 3 })).toMatchObject({ allowed: true, remaining: 0 });
    });

    test('reset forgets a key', async () => {
      const rl = limiter(gcra({ limit: 1, periodMs: 3_600_000 }));
      expect((await rl.consume('k')).allowed).toBe(true);
      expect((await rl.consume('k')).allowed).toBe(false);
      await rl.reset('k');
      expect((await rl.consume('k')).allowed).toBe(true);
    });

    test('block refuses a key for the given time, even with allowance left, until reset', async () => {
      const rl = limiter(fixedWindow({ limit: 100, windowMs: 3_600_000 }));
      await rl.block('k', 60_000);
      const blocked = await rl.consume('k');
      expect(blocked.allowed).toBe(false);
      expect(blocked.retryAfterMs).toBeGreaterThan(55_000);
      expect(blocked.retryAfterMs).toBeLessThanOrEqual(60_000);
      expect((await rl.consume('other')).allowed).toBe(true);
      await rl.reset('k');
      expect((await rl.consume('k')).allowed).toBe(true);
    });

    test('blockDurationMs blocks a key once it is refused (e.g. too many failed logins)', async () => {
      const rl = limiter(fixedWindow({ limit: 2, windowMs: 200 }), { blockDurationMs: 60_000 });
      await rl.consume('k');
      await rl.consume('k');
      expect((await rl.consume('k')).allowed).toBe(false);
      await options.advance(300);
      // The window has passed, the block has not.
      const stillBlocked = await rl.consume('k');
      expect(stillBlocked.allowed).toBe(false);
      expect(stillBlocked.retryAfterMs).toBeGreaterThan(50_000);
    });

    test('penalize pays past the limit', async () => {
      const rl = limiter(fixedWindow({ limit: 5, windowMs: 3_600_000 }));
      const penalized = await rl.penalize('k', { cost: 5 });
      expect(penalized.remaining).toBe(0);
      await rl.penalize('k', { cost: 5 });
      expect((await rl.consume('k')).allowed).toBe(false);
    });

    test.each([
      ['fixedWindow', () => fixedWindow({ limit: 3, windowMs: 300 })],
      ['slidingWindowLog', () => slidingWindowLog({ limit: 3, windowMs: 300 })],
      ['slidingWindowCounter', () => slidingWindowCounter({ limit: 3, windowMs: 300 })],
      ['tokenBucket', () => tokenBucket({ capacity: 3, refillPerSecond: 10 })],
      ['gcra', () => gcra({ limit: 3, periodMs: 300 })],
    ] as const)('%s: a refused request succeeds once retryAfterMs has passed', async (_name, make) => {
      const rl = limiter(make());
      let refused = await rl.consume('k');
      for (let i = 0; i < 10 && refused.allowed; i++) refused = await rl.consume('k');
      expect(refused.allowed).toBe(false);
      expect(refused.retryAfterMs).toBeGreaterThan(0);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(600);
      await options.advance(refused.retryAfterMs + 15);
      expect((await rl.consume('k')).allowed).toBe(true);
    });
  });
}
