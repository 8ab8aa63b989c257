import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, test, vi } from 'vitest';
import {
  createCache,
  createMemoryBus,
  createMemoryTier,
  FetchTimeoutError,
  isCacheError,
  jsonSerializer,
} from '../src/index.ts';

function clock(start = 1_700_000_000_000) {
  let at = start;
  return { now: () => at, advance: (ms: number) => (at += ms) };
}

describe('createCache (in-process)', () => {
  test('createCache({ ttlMs }) caches, and refetches once the TTL has passed', async () => {
    const time = clock();
    const cache = createCache({ ttlMs: 1_000, now: time.now });
    const fetcher = vi.fn(async () => ({ name: 'Ada' }));
    expect(await cache.getOrSet('user:1', fetcher)).toEqual({ name: 'Ada' });
    expect(await cache.getOrSet('user:1', fetcher)).toEqual({ name: 'Ada' });
    expect(fetcher).toHaveBeenCalledTimes(1);
    time.advance(1_001);
    await cache.getOrSet('user:1', fetcher);
    expect(fetcher).toHaveBeenCalledTimes(2);
  });

  test('1,000 concurrent misses on a cold key run a 50 ms fetcher exactly once', async () => {
    const cache = createCache();
    let calls = 0;
    const fetcher = async () => {
      calls++;
      await sleep(50);
      return 'value';
    };
    const values = await Promise.all(Array.from({ length: 1_000 }, () => cache.getOrSet('cold', fetcher)));
    expect(calls).toBe(1);
    expect(new Set(values)).toEqual(new Set(['value']));
  });

  test('null and undefined are cached values ("not found" is not fetched again), with their own TTL', async () => {
    const time = clock();
    const cache = createCache({ ttlMs: 60_000, nullTtlMs: 1_000, now: time.now });
    const missing = vi.fn(async () => null);
    const nothing = vi.fn(async () => undefined);
    expect(await cache.getOrSet('user:404', missing)).toBeNull();
    expect(await cache.getOrSet('user:404', missing)).toBeNull();
    expect(await cache.getOrSet('void', nothing)).toBeUndefined();
    expect(await cache.getOrSet('void', nothing)).toBeUndefined();
    expect(missing).toHaveBeenCalledTimes(1);
    expect(nothing).toHaveBeenCalledTimes(1);
    time.advance(1_001);
    await cache.getOrSet('user:404', missing);
    expect(missing).toHaveBeenCalledTimes(2);
  });

  test('after tag generations are forgotten (over 100,000 tags), get and getOrSet re-check L1 copies alike', async () => {
    const cache = createCache({ ttlMs: 60_000 });
    await cache.set('k', 'tagged', { tags: ['t'] });
    expect(await cache.get('k')).toBe('tagged');
    // Enough other tags to overflow the bounded memory of generations, forgetting 't' with them.
    for (let i = 0; i <= 100_000; i++) await cache.deleteByTag(`other:${i}`);
    // Without L2 nothing can confirm the copy any more: both calls treat it as a miss.
    expect(await cache.get('k')).toBeUndefined();
    expect(await cache.getOrSet('k', async () => 'refetched', { tags: ['t'] })).toBe('refetched');
    // 100,000 awaited calls: seconds on a loaded machine.
  }, 30_000);

  test('deleteByTag invalidates exactly the values stored with that tag', async () => {
    const cache = createCache();
    await cache.getOrSet('user:1', async () => 'u1', { tags: ['user:1'] });
    await cache.getOrSet('user:1:chats', async () => 'c1', { tags: ['user:1', 'chats'] });
    await cache.getOrSet('user:2', async () => 'u2', { tags: ['user:2'] });
    await cache.deleteByTag('user:1');
    const refetch = vi.fn(async () => 'fresh');
    expect(await cache.getOrSet('user:1', refetch)).toBe('fresh');
    expect(await cache.getOrSet('user:1:chats', refetch)).toBe('fresh');
    expect(await cache.getOrSet('user:2', refetch)).toBe('u2');
    expect(refetch).toHaveBeenCalledTimes(2);
  });

  test('clear() empties a namespace or the whole cache; a namespace clear leaves the rest', async () => {
    const cache = createCache();
    const users = cache.namespace('users');
    await cache.set('root', 1);
    await users.set('1', 'Ada');
    expect(await users.get('1')).toBe('Ada');
    expect(await cache.get('users:1')).toBe('Ada');
    await users.clear();
    expect(await users.get('1')).toBeUndefined();
    expect(await cache.get('root')).toBe(1);
    await users.set('2', 'Grace');
    await cache.clear();
    expect(await users.get('2')).toBeUndefined();
    expect(await cache.get('root')).toBeUndefined();
  });

  test('a delete during a fetch keeps the (possibly stale) result out of the cache', async () => {
    const cache = createCache();
    let release!: () => void;
    const slow = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = cache.getOrSet('k', async () => {
      await slow;
      return 'fetched before the delete';
    });
    await cache.delete('k');
    release();
    expect(await first).toBe('fetched before the delete');
    expect(await cache.getOrSet('k', async () => 'fresh')).toBe('fresh');
  });

  test('a tag bumped during a fetch keeps its result out of the cache too', async () => {
    const cache = createCache();
    let release!: () => void;
    const slow = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = cache.getOrSet(
      'k',
      async () => {
        await slow;
        return 'old';
      },
      { tags: ['t'] },
    );
    await cache.deleteByTag('t');
    release();
    await first;
    expect(await cache.getOrSet('k', async () => 'new', { tags: ['t'] })).toBe('new');
  });

  test('grace: an expired value is served when the fetcher fails, and only within graceMs', async () => {
    const time = clock();
    const cache = createCache({ ttlMs: 1_000, graceMs: 10_000, now: time.now });
    const stale = vi.fn();
    cache.on('stale', stale);
    await cache.getOrSet('k', async () => 'v1');
    time.advance(5_000);
    expect(await cache.getOrSet('k', async () => Promise.reject(new Error('db down')))).toBe('v1');
    expect(stale).toHaveBeenCalledWith(expect.objectContaining({ key: 'k', reason: 'fetcher failed' }));
    time.advance(10_000);
    await expect(cache.getOrSet('k', async () => Promise.reject(new Error('db down')))).rejects.toThrow('db down');
    expect(cache.stats().staleServed).toBe(1);
  });

  test('soft timeout: a slow refresh answers with the stale value now and stores the new one later', async () => {
    const time = clock();
    const cache = createCache({ ttlMs: 1_000, graceMs: 60_000, softTimeoutMs: 20, now: time.now });
    await cache.getOrSet('k', async () => 'v1');
    time.advance(2_000);
    const startedAt = performance.now();
    const refresh = vi.fn(async () => {
      await sleep(100);
      return 'v2';
    });
    expect(await cache.getOrSet('k', refresh)).toBe('v1');
    expect(performance.now() - startedAt).toBeLessThan(90);
    // Callers during the background refresh join it instead of starting another.
    expect(await cache.getOrSet('k', refresh)).toBe('v1');
    await sleep(150);
    expect(await cache.getOrSet('k', refresh)).toBe('v2');
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  test('after a delete, callers do not join a background refresh of the old value', async () => {
    const time = clock();
    const cache = createCache({ ttlMs: 1_000, graceMs: 60_000, softTimeoutMs: 10, now: time.now });
    await cache.getOrSet('k', async () => 'v1');
    time.advance(2_000);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    expect(
      await cache.getOrSet('k', async () => {
        await gate;
        return 'refreshed before the delete';
      }),
    ).toBe('v1');
    await cache.delete('k');
    expect(await cache.getOrSet('k', async () => 'after the delete')).toBe('after the delete');
    release();
    await sleep(5);
    expect(await cache.getOrSet('k', async () => 'unused')).toBe('after the delete');
  });

  test('a deleted value is never served as stale, even when the fetcher fails', async () => {
    const time = clock();
    const cache = createCache({ ttlMs: 1_000, graceMs: 60_000, now: time.now });
    await cache.getOrSet('k', async () => 'v1');
    await cache.delete('k');
    time.advance(2_000);
    await expect(cache.getOrSet('k', async () => Promise.reject(new Error('db down')))).rejects.toThrow('db down');
  });

  test('bounded tag memory: forgetting old tag generations never revives an invalidated copy', async () => {
    const time = clock();
    const cache = createCache({ now: time.now });
    await cache.getOrSet('k', async () => 'v1', { tags: ['x'] });
    await cache.deleteByTag('x');
    time.advance(1);
    // Enough other tags to push 'x' (the least recently bumped) out of the bounded map.
    for (let i = 0; i < 100_001; i++) await cache.deleteByTag(`other:${i}`);
    time.advance(1);
    expect(await cache.getOrSet('k', async () => 'v2', { tags: ['x'] })).toBe('v2');
    // 100,000 awaited calls: seconds on a loaded machine.
  }, 30_000);

  test('a throwing event listener does not break reads', async () => {
    const cache = createCache();
    cache.on('hit', () => {
      throw new Error('listener bug');
    });
    await cache.getOrSet('k', async () => 1);
    expect(await cache.getOrSet('k', async () => 2)).toBe(1);
  });

  test('hard timeout: with no stale value, a hung fetcher fails with FETCH_TIMEOUT instead of hanging', async () => {
    const cache = createCache({ hardTimeoutMs: 30 });
    const error = await cache.getOrSet('k', () => new Promise(() => {})).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FetchTimeoutError);
    expect(isCacheError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'FETCH_TIMEOUT', key: 'k', timeoutMs: 30 });
    // The failure is not cached.
    expect(await cache.getOrSet('k', async () => 'ok')).toBe('ok');
  });

  test('jitter spreads TTLs within ±jitter', async () => {
    const time = clock();
    const cache = createCache({ ttlMs: 1_000, jitter: 0.2, now: time.now });
    for (let i = 0; i < 50; i++) await cache.set(`k${i}`, i);
    time.advance(790);
    for (let i = 0; i < 50; i++) expect(await cache.get(`k${i}`)).toBe(i);
    time.advance(110);
    // At 900 ms some TTLs (800..1200) have run out and others not: they are spread.
    let alive = 0;
    for (let i = 0; i < 50; i++) if ((await cache.get(`k${i}`)) !== undefined) alive++;
    expect(alive).toBeGreaterThan(0);
    expect(alive).toBeLessThan(50);
    time.advance(310);
    for (let i = 0; i < 50; i++) expect(await cache.get(`k${i}`)).toBeUndefined();
  });

  test('events and stats', async () => {
    const cache = createCache();
    const hits = vi.fn();
    const misses = vi.fn();
    cache.on('hit', hits).on('miss', misses);
    await cache.getOrSet('k', async () => 1);
    await cache.getOrSet('k', async () => 1);
    expect(misses).toHaveBeenCalledTimes(1);
    expect(hits).toHaveBeenCalledWith({ key: 'k', tier: 'l1' });
    expect(cache.stats()).toMatchObject({ l1Hits: 1, misses: 1, fetches: 1 });
  });

  test('bad options and arguments are TypeErrors that name the problem', async () => {
    expect(() => createCache({ ttlMs: 0 })).toThrow(
      new TypeError('createCache: `ttlMs` must be a whole number >= 1, got 0'),
    );
    expect(() => createCache({ ttlMs: Number.POSITIVE_INFINITY })).toThrow(/`ttlMs` .* got Infinity/);
    expect(() => createCache({ graceMs: 1.5 })).toThrow('createCache: `graceMs` must be a whole number >= 0, got 1.5');
    expect(() => createCache({ lock: true })).toThrow(
      new TypeError('createCache: `lock` needs an `l2` (the lock is held in the shared tier)'),
    );
    expect(() => createCache({ lock: { waitMs: 10 } })).toThrow(/`lock` needs an `l2`/);
    expect(() => createCache({ l2: {} as never, lock: { waitMs: -1 } })).toThrow(
      'createCache: `lock.waitMs` must be a whole number >= 1',
    );
    expect(() => createCache({ l1MaxStalenessMs: Number.NaN })).toThrow(
      'createCache: `l1MaxStalenessMs` must be a whole number >= 1 (or Infinity), got NaN',
    );
    expect(createCache({ l1MaxStalenessMs: Number.POSITIVE_INFINITY })).toBeDefined();
    expect(() => createCache({ jitter: 1 })).toThrow(
      'createCache: `jitter` must be a fraction from 0 to below 1, got 1',
    );
    expect(() => createMemoryTier({ maxEntries: 0 })).toThrow(
      'createMemoryTier: `maxEntries` must be a whole number >= 1, got 0',
    );
    expect(() => createMemoryTier({ maxBytes: '1mb' as never })).toThrow(
      'createMemoryTier: `maxBytes` must be a whole number >= 1 (or Infinity), got "1mb"',
    );
    const cache = createCache();
    // Never a synchronous throw from a function that returns a promise.
    await expect(cache.getOrSet('', async () => 1)).rejects.toThrow(/non-empty/);
    await expect(cache.getOrSet('k', async () => 1, { ttlMs: Number.NaN })).rejects.toThrow(
      'cache.getOrSet: `ttlMs` must be a whole number >= 1, got NaN',
    );
    await expect(cache.set('k', 1, { ttlMs: Number.POSITIVE_INFINITY })).rejects.toThrow(
      'cache.set: `ttlMs` must be a whole number >= 1, got Infinity',
    );
    await expect(cache.deleteByTag('#all')).rejects.toThrow(/tags must be/);
    await expect(cache.getOrSet('k', 'not a function' as never)).rejects.toThrow(/fetcher/);
  });
});

describe('cross-instance invalidation over a bus (in-process bus)', () => {
  const pair = () => {
    const bus = createMemoryBus();
    return [createCache({ bus }), createCache({ bus })] as const;
  };

  test("set, delete and deleteByTag on A drop B's L1 copy", async () => {
    const [a, b] = pair();
    await b.getOrSet('user:1', async () => 'old', { tags: ['user:1'] });
    await b.getOrSet('user:2', async () => 'old', { tags: ['user:2'] });
    await b.getOrSet('user:3', async () => 'old');
    await a.set('user:3', 'new');
    await a.delete('user:1');
    await a.deleteByTag('user:2');
    await sleep(5);
    expect(await b.getOrSet('user:1', async () => 'fresh')).toBe('fresh');
    expect(await b.getOrSet('user:2', async () => 'fresh', { tags: ['user:2'] })).toBe('fresh');
    expect(await b.getOrSet('user:3', async () => 'fresh')).toBe('fresh');
  });
});

describe('createMemoryTier', () => {
  const entry = (value: unknown) => ({
    id: 'x',
    value,
    freshUntil: Number.MAX_SAFE_INTEGER,
    graceUntil: Number.MAX_SAFE_INTEGER,
    tags: [],
  });

  test('holds at most maxEntries, keeping recently read entries (approximate LRU)', () => {
    const tier = createMemoryTier({ maxEntries: 3 });
    tier.set('a', entry(1), 0);
    tier.set('b', entry(2), 0);
    tier.set('c', entry(3), 0);
    tier.get('a');
    tier.set('d', entry(4), 0);
    expect(tier.size).toBe(3);
    expect(tier.get('a')).toBeDefined();
    expect(tier.get('b')).toBeUndefined();
  });

  test('holds at most maxBytes, and refuses a single value larger than the budget', () => {
    const tier = createMemoryTier({ maxBytes: 10_000 });
    for (let i = 0; i < 100; i++) tier.set(`k${i}`, entry('x'.repeat(500)), 0);
    expect(tier.size).toBeLessThan(10);
    tier.set('huge', entry('x'.repeat(20_000)), 0);
    expect(tier.get('huge')).toBeUndefined();
  });
});

describe('jsonSerializer', () => {
  test('Dates, BigInts and undefined survive; plain JSON otherwise', () => {
    const value = {
      at: new Date('2026-11-24T10:00:00.000Z'),
      big: 2n ** 70n,
      list: [1, 'two', null],
      nested: { ok: true },
    };
    const back = jsonSerializer.deserialize(jsonSerializer.serialize(value)) as typeof value;
    expect(back.at).toBeInstanceOf(Date);
    expect(back.at.toISOString()).toBe('2026-11-24T10:00:00.000Z');
    expect(back.big).toBe(2n ** 70n);
    expect(back).toEqual(value);
    expect(jsonSerializer.deserialize(jsonSerializer.serialize(undefined))).toBeUndefined();
    expect(jsonSerializer.deserialize(jsonSerializer.serialize(null))).toBeNull();
  });
});
