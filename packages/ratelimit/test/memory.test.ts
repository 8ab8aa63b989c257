import { describe, expect, test } from 'vitest';
import {
  type Algorithm,
  createMemoryStore,
  createRateLimiter,
  fixedWindow,
  gcra,
  slidingWindowCounter,
  slidingWindowLog,
  tokenBucket,
} from '../src/index.ts';
import { storeContract } from '../src/testing.ts';

let clock = 1_700_000_000_000;
const now = () => clock;
const sharedStore = createMemoryStore({ now });

storeContract({
  name: 'memory',
  store: () => sharedStore,
  advance: async (ms) => {
    clock += ms;
  },
});

/** A limiter over its own memory store whose clock the test moves by hand. */
function clocked(algorithm: Algorithm) {
  let at = 1_000_000;
  const limiter = createRateLimiter({ store: createMemoryStore({ now: () => at }), algorithm });
  return {
    consume: (cost = 1) => limiter.consume('k', { cost }),
    at: (ms: number) => {
      at = 1_000_000 + ms;
    },
  };
}

describe('algorithms at their edges (memory store, controlled clock)', () => {
  test('fixedWindow: the window starts at the first request and resets exactly at its end', async () => {
    const rl = clocked(fixedWindow({ limit: 2, windowMs: 1_000 }));
    rl.at(0);
    expect((await rl.consume()).allowed).toBe(true);
    rl.at(400);
    expect((await rl.consume()).allowed).toBe(true);
    rl.at(999);
    expect(await rl.consume()).toMatchObject({ allowed: false, retryAfterMs: 1, resetMs: 1 });
    rl.at(1_000);
    expect(await rl.consume()).toMatchObject({ allowed: true, remaining: 1, resetMs: 1_000 });
  });

  test('slidingWindowLog: exact at every instant, each slot frees when its request leaves the window', async () => {
    const rl = clocked(slidingWindowLog({ limit: 2, windowMs: 1_000 }));
    rl.at(0);
    await rl.consume();
    rl.at(600);
    await rl.consume();
    rl.at(999);
    expect(await rl.consume()).toMatchObject({ allowed: false, retryAfterMs: 1 });
    rl.at(1_000);
    expect((await rl.consume()).allowed).toBe(true);
    rl.at(1_001);
    // The request at 600 is still inside the window [1, 1001].
    expect(await rl.consume()).toMatchObject({ allowed: false, retryAfterMs: 599 });
  });

  test('slidingWindowCounter: the previous window weighs in by its overlap', async () => {
    const rl = clocked(slidingWindowCounter({ limit: 10, windowMs: 1_000 }));
    // Clock starts at 1_000_000, a window boundary: fill the first window.
    rl.at(0);
    for (let i = 0; i < 10; i++) expect((await rl.consume()).allowed).toBe(true);
    rl.at(1_250);
    // 75% of the previous window overlaps: estimate 7.5, so 2 more fit, not 3.
    expect((await rl.consume()).allowed).toBe(true);
    expect((await rl.consume()).allowed).toBe(true);
    const refused = await rl.consume();
    expect(refused.allowed).toBe(false);
    // 7.5 + 2 + 1 - 10 = 0.5 excess; the previous window must slide 5% more: 50 ms.
    expect(refused.retryAfterMs).toBe(50);
    rl.at(1_300);
    expect((await rl.consume()).allowed).toBe(true);
  });

  test('tokenBucket: starts full, refills continuously, never beyond capacity', async () => {
    const rl = clocked(tokenBucket({ capacity: 3, refillPerSecond: 2 }));
    rl.at(0);
    expect(await rl.consume(3)).toMatchObject({ allowed: true, remaining: 0, resetMs: 1_500 });
    expect(await rl.consume()).toMatchObject({ allowed: false, retryAfterMs: 500 });
    rl.at(500);
    expect(await rl.consume()).toMatchObject({ allowed: true, remaining: 0 });
    rl.at(60_000);
    expect(await rl.consume()).toMatchObject({ allowed: true, remaining: 2 });
  });

  test('gcra: burst at once, then one request per emission interval', async () => {
    // 10 per second sustained (one per 100 ms), 3 at once.
    const rl = clocked(gcra({ limit: 10, periodMs: 1_000, burst: 3 }));
    rl.at(0);
    for (let i = 0; i < 3; i++) expect((await rl.consume()).allowed).toBe(true);
    expect(await rl.consume()).toMatchObject({ allowed: false, retryAfterMs: 100, remaining: 0 });
    rl.at(100);
    expect((await rl.consume()).allowed).toBe(true);
    expect((await rl.consume()).allowed).toBe(false);
    rl.at(10_000);
    expect(await rl.consume()).toMatchObject({ allowed: true, remaining: 2 });
  });
});

describe('createMemoryStore', () => {
  test('holds at most maxKeys keys, dropping the least recently written', async () => {
    const store = createMemoryStore({ maxKeys: 100 });
    const rl = createRateLimiter({ store, algorithm: fixedWindow({ limit: 1, windowMs: 3_600_000 }) });
    for (let i = 0; i < 1_000; i++) await rl.consume(`key-${i}`);
    expect(store.size).toBe(100);
    // The newest keys are remembered, the oldest forgotten.
    expect((await rl.consume('key-999')).allowed).toBe(false);
    expect((await rl.consume('key-0')).allowed).toBe(true);
  });

  test('sweeps expired keys as it writes, so memory follows the active keys', async () => {
    let at = 0;
    const store = createMemoryStore({ now: () => at });
    const rl = createRateLimiter({ store, algorithm: fixedWindow({ limit: 10_000, windowMs: 1_000 }) });
    for (let i = 0; i < 500; i++) await rl.consume(`old-${i}`);
    expect(store.size).toBe(500);
    at = 5_000;
    // Only 10 keys stay active; the 500 old ones expired and are never touched again.
    for (let i = 0; i < 1_000; i++) await rl.consume(`new-${i % 10}`);
    expect(store.size).toBe(10);
  });

  test('rejects a bad maxKeys', () => {
    expect(() => createMemoryStore({ maxKeys: 0 })).toThrow(TypeError);
  });
});
