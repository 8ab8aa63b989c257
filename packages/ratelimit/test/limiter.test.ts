import { describe, expect, test, vi } from 'vitest';
import {
  consumeAll,
  createMemoryStore,
  createRateLimiter,
  encodeKey,
  fixedWindow,
  gcra,
  ipKey,
  isRateLimitError,
  isRateLimitedError,
  RateLimitedError,
  type RateLimitStore,
  rateLimitHeaders,
  StoreUnavailableError,
  slidingWindowLog,
  tokenBucket,
} from '../src/index.ts';
import { createOperationCost } from '../src/operation-cost.ts';

const quiet = { warn: vi.fn() };

/** A store whose backend is down: every call fails, or never answers. */
function brokenStore(mode: 'reject' | 'hang'): RateLimitStore & { calls: number } {
  const fail = () => {
    broken.calls++;
    return mode === 'reject' ? Promise.reject(new Error('connect ECONNREFUSED')) : new Promise<never>(() => {});
  };
  const broken = { calls: 0, evaluate: fail, reset: fail, block: fail };
  return broken;
}

describe('createRateLimiter options', () => {
  const store = createMemoryStore();
  const algorithm = fixedWindow({ limit: 5, windowMs: 1_000 });

  test.each([
    [{ limit: 0, windowMs: 1_000 }, 'fixedWindow: `limit` must be a whole number >= 1, got 0'],
    [{ limit: 1.5, windowMs: 1_000 }, 'fixedWindow: `limit` must be a whole number >= 1, got 1.5'],
    [{ limit: 5, windowMs: -1 }, 'fixedWindow: `windowMs` must be a finite number > 0, got -1'],
    [{ limit: 5, windowMs: Number.NaN }, 'fixedWindow: `windowMs` must be a finite number > 0, got NaN'],
  ])('fixedWindow(%o) is a TypeError naming the factory, the option and the value', (options, message) => {
    expect(() => fixedWindow(options)).toThrow(new TypeError(message));
  });

  test('tokenBucket, gcra, the memory store, ipKey, createOperationCost and insurance validate alike', () => {
    expect(() => tokenBucket({ capacity: 10, refillPerSecond: 0 })).toThrow(
      new TypeError('tokenBucket: `refillPerSecond` must be a finite number > 0, got 0'),
    );
    expect(() => tokenBucket({ capacity: 2.5, refillPerSecond: 1 })).toThrow(
      new TypeError('tokenBucket: `capacity` must be a whole number >= 1, got 2.5'),
    );
    expect(() => gcra({ limit: 10, periodMs: 1_000, burst: 0 })).toThrow(
      new TypeError('gcra: `burst` must be a whole number >= 1, got 0'),
    );
    expect(() => createMemoryStore({ maxKeys: 0 })).toThrow(
      new TypeError('createMemoryStore: `maxKeys` must be a whole number >= 1, got 0'),
    );
    expect(() => ipKey('::1', { ipv6Prefix: 129 })).toThrow(
      new TypeError('ipKey: `ipv6Prefix` must be a whole number from 1 to 128, got 129'),
    );
    expect(() => createOperationCost({ maxListSize: 1.5 })).toThrow(
      new TypeError('createOperationCost: `maxListSize` must be a whole number >= 1, got 1.5'),
    );
    expect(() => createRateLimiter({ store, algorithm, onStoreError: { insurance: { instances: 0 } } })).toThrow(
      new TypeError('createRateLimiter: `onStoreError.insurance.instances` must be a whole number >= 1, got 0'),
    );
    expect(() => createRateLimiter({ store, algorithm, timeoutMs: -1 })).toThrow(
      new TypeError('createRateLimiter: `timeoutMs` must be a finite number > 0, got -1'),
    );
  });

  test('bad prefix, store, algorithm, policy and timeout are TypeErrors at construction', () => {
    expect(() => createRateLimiter({ store, algorithm, prefix: 'has space' })).toThrow(/prefix/);
    expect(() => createRateLimiter({ store, algorithm, prefix: 'a|b' })).toThrow(/prefix/);
    expect(() => createRateLimiter({ store: {} as RateLimitStore, algorithm })).toThrow(/store/);
    expect(() => createRateLimiter({ store, algorithm: {} as typeof algorithm })).toThrow(/algorithm/);
    // Hand-made algorithms the Redis script could not run: an unknown kind, missing parameters.
    expect(() => createRateLimiter({ store, algorithm: { ...algorithm, kind: 'leaky' as 'gcra' } })).toThrow(
      /algorithm/,
    );
    expect(() =>
      createRateLimiter({
        store,
        algorithm: { ...algorithm, params: undefined as unknown as [number, number, number] },
      }),
    ).toThrow(/algorithm/);
    expect(() => createRateLimiter({ store, algorithm: { ...algorithm, params: [1, Number.NaN, 0] } })).toThrow(
      /algorithm/,
    );
    expect(() => createRateLimiter({ store, algorithm, onStoreError: 'maybe' as 'open' })).toThrow(/onStoreError/);
    expect(() => createRateLimiter({ store, algorithm, timeoutMs: 0 })).toThrow(/timeoutMs/);
  });

  test('bad keys and costs are TypeErrors, not silent passes', async () => {
    const limiter = createRateLimiter({ store, algorithm });
    await expect(limiter.consume('')).rejects.toThrow(/non-empty string/);
    await expect(limiter.consume(undefined as unknown as string)).rejects.toThrow(TypeError);
    await expect(limiter.consume('k', { cost: 0 })).rejects.toThrow(/cost must be a whole number >= 1/);
    await expect(limiter.consume('k', { cost: 6 })).rejects.toThrow(/exceeds the limit 5/);
  });
});

describe('consumeAll', () => {
  test('refuses limiters on different stores, and the same limiter and key twice', async () => {
    const a = createRateLimiter({ store: createMemoryStore(), algorithm: fixedWindow({ limit: 1, windowMs: 1_000 }) });
    const b = createRateLimiter({ store: createMemoryStore(), algorithm: fixedWindow({ limit: 1, windowMs: 1_000 }) });
    await expect(
      consumeAll([
        { limiter: a, key: 'k' },
        { limiter: b, key: 'k' },
      ]),
    ).rejects.toThrow(/same store/);
    await expect(
      consumeAll([
        { limiter: a, key: 'k' },
        { limiter: a, key: 'k' },
      ]),
    ).rejects.toThrow(/twice/);
    await expect(consumeAll([])).rejects.toThrow(/at least one entry/);
  });

  test('retryAfterMs is the longest wait among the refusals', async () => {
    const store = createMemoryStore();
    const short = createRateLimiter({ store, algorithm: fixedWindow({ limit: 1, windowMs: 1_000 }), prefix: 'short' });
    const long = createRateLimiter({ store, algorithm: fixedWindow({ limit: 1, windowMs: 60_000 }), prefix: 'long' });
    const entries = [
      { limiter: short, key: 'u' },
      { limiter: long, key: 'u' },
    ];
    await consumeAll(entries);
    const refused = await consumeAll(entries);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterMs).toBeGreaterThan(59_000);
  });
});

describe('onStoreError policies (store down)', () => {
  const algorithm = slidingWindowLog({ limit: 10, windowMs: 60_000 });

  test("'closed' (the default) refuses, says why, and logs once per outage", async () => {
    const logger = { warn: vi.fn() };
    const limiter = createRateLimiter({ store: brokenStore('reject'), algorithm, logger });
    for (let i = 0; i < 5; i++) {
      expect(await limiter.consume('k')).toMatchObject({ allowed: false, degraded: 'closed', remaining: 0 });
    }
    expect(logger.warn).toHaveBeenCalledTimes(1);
  });

  test("'open' admits", async () => {
    const limiter = createRateLimiter({ store: brokenStore('reject'), algorithm, onStoreError: 'open', logger: quiet });
    expect(await limiter.consume('k')).toMatchObject({ allowed: true, degraded: 'open' });
  });

  test('a store that hangs costs at most timeoutMs, then the store is skipped until retryStoreAfterMs', async () => {
    const store = brokenStore('hang');
    const limiter = createRateLimiter({ store, algorithm, timeoutMs: 50, retryStoreAfterMs: 60_000, logger: quiet });
    const startedAt = Date.now();
    expect(await limiter.consume('k')).toMatchObject({ allowed: false, degraded: 'closed' });
    expect(Date.now() - startedAt).toBeLessThan(1_000);
    const calls = store.calls;
    const again = Date.now();
    await limiter.consume('k');
    expect(Date.now() - again).toBeLessThan(20);
    expect(store.calls).toBe(calls);
  });

  test('insurance: an in-memory limiter with the limit divided by the instance count', async () => {
    const limiter = createRateLimiter({
      store: brokenStore('reject'),
      algorithm: fixedWindow({ limit: 100, windowMs: 60_000 }),
      onStoreError: { insurance: { instances: 4 } },
      logger: quiet,
    });
    const results = await Promise.all(Array.from({ length: 60 }, () => limiter.consume('k')));
    expect(results.filter((result) => result.allowed)).toHaveLength(25);
    expect(results.every((result) => result.degraded === 'insurance' && result.limit === 25)).toBe(true);
  });

  test('hands back to the store once it answers again', async () => {
    let down = true;
    const memory = createMemoryStore();
    const flaky: RateLimitStore = {
      evaluate: (mode, entries) => (down ? Promise.reject(new Error('down')) : memory.evaluate(mode, entries)),
      reset: (keys) => memory.reset(keys),
      block: (key, ms) => memory.block(key, ms),
    };
    const limiter = createRateLimiter({
      store: flaky,
      algorithm,
      onStoreError: { insurance: { instances: 2 } },
      retryStoreAfterMs: 30,
      logger: quiet,
    });
    expect((await limiter.consume('k')).degraded).toBe('insurance');
    down = false;
    await new Promise((resolve) => setTimeout(resolve, 40));
    const back = await limiter.consume('k');
    expect(back.degraded).toBeUndefined();
    expect(back).toMatchObject({ allowed: true, limit: 10, remaining: 9 });
  });

  test('block and reset on a failing store are typed errors', async () => {
    const limiter = createRateLimiter({ store: brokenStore('reject'), algorithm, logger: quiet });
    await expect(limiter.block('k', 1_000)).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(limiter.reset('k')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });
});

describe('errors and headers', () => {
  test('consumeOrThrow throws RATE_LIMITED with retryAfterMs', async () => {
    const limiter = createRateLimiter({
      store: createMemoryStore(),
      algorithm: fixedWindow({ limit: 1, windowMs: 10_000 }),
    });
    await limiter.consumeOrThrow('k');
    const error = await limiter.consumeOrThrow('k').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(isRateLimitedError(error)).toBe(true);
    expect(isRateLimitError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'RATE_LIMITED', name: 'RateLimitedError', limit: 1 });
    expect((error as RateLimitedError).retryAfterMs).toBeGreaterThan(9_000);
    // The guard works on plain objects from another copy of the package too.
    expect(isRateLimitedError(Object.assign(new Error('x'), { code: 'RATE_LIMITED' }))).toBe(true);
    expect(isRateLimitedError(new Error('x'))).toBe(false);
  });

  test('IETF RateLimit headers, and Retry-After only when refused', () => {
    const ok = { allowed: true, limit: 100, remaining: 42, resetMs: 11_200, retryAfterMs: 0 };
    expect(rateLimitHeaders(ok, { windowMs: 60_000, policy: 'messages' })).toEqual({
      'RateLimit-Policy': '"messages";q=100;w=60',
      RateLimit: '"messages";r=42;t=12',
    });
    const refused = { allowed: false, limit: 100, remaining: 0, resetMs: 1_500, retryAfterMs: 1_200 };
    expect(rateLimitHeaders(refused, { windowMs: 60_000 })['Retry-After']).toBe('2');
    expect(() => rateLimitHeaders(ok, { windowMs: 1_000, policy: 'bad\nname' })).toThrow(TypeError);
  });
});

describe('encodeKey (keys come from users: IPs, usernames)', () => {
  test('keeps ordinary keys readable', () => {
    expect(encodeKey('user:42')).toBe('user:42');
    expect(encodeKey('203.0.113.7')).toBe('203.0.113.7');
  });

  test('a separator, whitespace or control character cannot forge another key', () => {
    expect(encodeKey('alice|s')).not.toContain('|');
    expect(encodeKey('a b\r\nSET x')).toBe('a%20b%0d%0aSET%20x');
    expect(encodeKey('é')).toBe('%c3%a9');
    expect(encodeKey('%7c')).toBe('%257c');
  });

  test('long keys are bounded: a digest, distinct per key and never equal to a short key', () => {
    const long = 'x'.repeat(10_000);
    expect(encodeKey(long).length).toBeLessThan(50);
    expect(encodeKey(long)).not.toBe(encodeKey(`${long}y`));
    expect(encodeKey(long).startsWith('#')).toBe(true);
  });
});
