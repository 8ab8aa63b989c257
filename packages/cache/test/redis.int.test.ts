import { setTimeout as sleep } from 'node:timers/promises';
import { createClient, type RedisClientType } from '@redis/client';
import { sentinelClientOptions, testKeyPrefix, timeUntil } from '@switchboard/infra';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, test, vi } from 'vitest';
import { type CacheOptions, createCache } from '../src/index.ts';
import { createRedisBus, createRedisTier } from '../src/redis.ts';

const info = inject('infra').redis;
if (!info) throw new Error('the shared topology has no Redis');
const clients: Redis[] = [];
const client = () => {
  const created = new Redis(sentinelClientOptions(info));
  clients.push(created);
  return created;
};
afterAll(() => {
  for (const created of clients) created.disconnect();
});

/** One "instance": its own L1 and connections, sharing Redis (and a channel) with its peers. */
function instance(namespace: string, options: Partial<CacheOptions> & { subscriber?: Redis } = {}) {
  const subscriber = options.subscriber ?? client();
  return createCache({
    l2: createRedisTier({ client: client(), prefix: namespace }),
    bus: createRedisBus({ publisher: client(), subscriber, channel: `${namespace}:bus` }),
    ttlMs: 60_000,
    ...options,
  });
}

/** A promise the test releases by hand, to hold a fetch open across another instance's write. */
function gated() {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { gate, release };
}

/** An instance with L2 but no bus: what compare-and-set alone guarantees. */
const busless = (namespace: string, options: Partial<CacheOptions> = {}) =>
  createCache({ l2: createRedisTier({ client: client(), prefix: namespace }), ttlMs: 60_000, ...options });

const fresh = () => testKeyPrefix('cache').replace(/:$/, '');

describe('createCache over Redis (L1 + L2 + bus)', () => {
  test('with the cluster lock, 1,000 concurrent misses across two instances run a 50 ms fetcher once', async () => {
    const namespace = fresh();
    const [a, b] = [instance(namespace, { lock: true }), instance(namespace, { lock: true })];
    let calls = 0;
    const fetcher = async () => {
      calls++;
      await sleep(50);
      return { id: 7 };
    };
    const values = await Promise.all(
      Array.from({ length: 1_000 }, (_, i) => (i % 2 ? a : b).getOrSet('cold', fetcher)),
    );
    expect(calls).toBe(1);
    expect(values.every((value) => value.id === 7)).toBe(true);
  });

  test("a second instance reads the first one's value from L2, null included, without fetching", async () => {
    const namespace = fresh();
    const [a, b] = [instance(namespace), instance(namespace)];
    await a.getOrSet('user:1', async () => ({ name: 'Ada', at: new Date('2026-01-01T00:00:00Z') }));
    await a.getOrSet('user:404', async () => null);
    const fetcher = vi.fn(async () => 'should not run');
    expect(await b.getOrSet('user:1', fetcher)).toEqual({ name: 'Ada', at: new Date('2026-01-01T00:00:00Z') });
    expect(await b.getOrSet('user:404', fetcher)).toBeNull();
    expect(fetcher).not.toHaveBeenCalled();
    expect(b.stats().l2Hits).toBe(2);
  });

  test("delete and deleteByTag on A reach B's L1 through the bus within 200 ms", async () => {
    const namespace = fresh();
    const [a, b] = [instance(namespace), instance(namespace)];
    await sleep(50); // subscriptions in place
    await b.getOrSet('k1', async () => 'old');
    await b.getOrSet('k2', async () => 'old', { tags: ['chat:1'] });
    let version = 'new';
    await a.delete('k1');
    expect(await timeUntil(() => b.getOrSet('k1', async () => version), 'new', 1_000)).toBeLessThanOrEqual(200);
    await a.deleteByTag('chat:1');
    version = 'newer';
    expect(
      await timeUntil(() => b.getOrSet('k2', async () => version, { tags: ['chat:1'] }), 'newer', 1_000),
    ).toBeLessThanOrEqual(200);
  });

  test('with its bus connection dropped, B serves a deleted value at most l1MaxStalenessMs', async () => {
    const namespace = fresh();
    const subscriber = client();
    const a = instance(namespace);
    const b = instance(namespace, { subscriber, l1MaxStalenessMs: 400 });
    await sleep(50);
    await b.getOrSet('k', async () => 'old');
    // B hears nothing from now on: its subscriber connection is gone.
    subscriber.disconnect();
    const deletedAt = Date.now();
    await a.delete('k');
    // The message was lost: B still answers from its L1 ...
    expect(await b.getOrSet('k', async () => 'new')).toBe('old');
    // ... but no longer than the bound.
    await timeUntil(() => b.getOrSet('k', async () => 'new'), 'new', 2_000);
    expect(Date.now() - deletedAt).toBeLessThanOrEqual(400 + 100);
  });

  test('tag invalidation is checked inside Redis: an instance with no L1 never reads an invalidated value', async () => {
    const namespace = fresh();
    const a = instance(namespace);
    const noL1 = instance(namespace, { l1: false });
    await a.getOrSet('k', async () => 'tagged', { tags: ['t'] });
    expect(await noL1.getOrSet('k', async () => 'fetched', { tags: ['t'] })).toBe('tagged');
    await a.deleteByTag('t');
    expect(await noL1.getOrSet('k', async () => 'fetched', { tags: ['t'] })).toBe('fetched');
  });

  test('a fetch that overlaps a delete on another instance is not stored in L2 (compare-and-set, no bus)', async () => {
    const namespace = fresh();
    const [a, b] = [busless(namespace), busless(namespace, { l1: false })];
    const { gate, release } = gated();
    // The fetcher runs once a's L2 read (the generations it will compare against) is done.
    const fetching = gated();
    const slow = a.getOrSet('k', async () => {
      fetching.release();
      await gate;
      return 'read before the delete';
    });
    await fetching.gate;
    await b.delete('k');
    release();
    expect(await slow).toBe('read before the delete');
    expect(await b.getOrSet('k', async () => 'fresh')).toBe('fresh');
  });

  test('explicit set wins over an overlapping fetch, on every instance (compare-and-set, no bus)', async () => {
    const namespace = fresh();
    const [a, b] = [busless(namespace), busless(namespace, { l1: false })];
    const { gate, release } = gated();
    const slow = a.getOrSet('k', async () => {
      await gate;
      return 'stale';
    });
    await sleep(20);
    await b.set('k', 'explicit');
    release();
    await slow;
    expect(await b.get('k')).toBe('explicit');
  });

  test('an entry read without naming its tags is validated inside Redis', async () => {
    const namespace = fresh();
    const a = instance(namespace);
    const reader = instance(namespace, { l1: false });
    await a.getOrSet('k', async () => 'tagged', { tags: ['t'] });
    // `get` names no tags of its own: the MGET cannot validate tag `t`, the script does.
    expect(await reader.get('k')).toBe('tagged');
    await a.deleteByTag('t');
    expect(await reader.get('k')).toBeUndefined();
  });

  test('with its bus dropped, B does not fall back to its invalidated copy when the fetcher fails', async () => {
    const namespace = fresh();
    const subscriber = client();
    const a = instance(namespace);
    const b = instance(namespace, { subscriber, l1MaxStalenessMs: 100, graceMs: 60_000 });
    await sleep(50);
    await b.getOrSet('k', async () => 'old');
    subscriber.disconnect();
    await a.delete('k');
    await sleep(150);
    await expect(b.getOrSet('k', async () => Promise.reject(new Error('origin down')))).rejects.toThrow('origin down');
  });

  test('no entry outlives the tag generation that can invalidate it', async () => {
    const namespace = fresh();
    const cache = createCache({
      l2: createRedisTier({ client: client(), prefix: namespace, tagGenerationTtlMs: 60_000 }),
      ttlMs: 3_600_000,
    });
    await cache.getOrSet('k', async () => 1, { tags: ['t'] });
    await cache.deleteByTag('t');
    await cache.getOrSet('k', async () => 2, { tags: ['t'] });
    const redis = client();
    const entryTtl = await redis.pttl(`${namespace}|e|{k}`);
    const tagTtl = await redis.pttl(`${namespace}|t|{t}`);
    expect(entryTtl).toBeGreaterThan(0);
    expect(entryTtl).toBeLessThanOrEqual(60_000);
    expect(tagTtl).toBeGreaterThan(59_000);
  });

  test('keys are namespaced by the tier prefix: no KEYS or SCAN is ever needed', async () => {
    const namespace = fresh();
    const a = instance(namespace);
    await a.getOrSet('k', async () => 1, { tags: ['t'] });
    await a.deleteByTag('t');
    const redis = client();
    const keys = (await redis.keys(`${namespace}|*`)).sort();
    expect(keys).toEqual([`${namespace}|e|{k}`, `${namespace}|t|{t}`]);
    expect(Number(await redis.get(`${namespace}|t|{t}`))).toBe(1);
  });
});

describe('createRedisTier with a node-redis client', () => {
  const nodeRedisClients: RedisClientType[] = [];
  afterAll(async () => {
    await Promise.all(nodeRedisClients.map((created) => created.quit()));
  });

  /** node-redis talks to the master the topology started with (no Sentinel support needed here). */
  async function nodeRedis(): Promise<RedisClientType> {
    const created = createClient({ url: info?.master ?? '' }) as RedisClientType;
    await created.connect();
    nodeRedisClients.push(created);
    return created;
  }

  test('shares L2 with ioredis instances: values, null, tag invalidation inside Redis, compare-and-set', async () => {
    const namespace = fresh();
    const viaIoredis = busless(namespace, { l1: false });
    const viaNodeRedis = createCache({
      l1: false,
      l2: createRedisTier({ client: await nodeRedis(), prefix: namespace }),
      ttlMs: 60_000,
    });
    const fetcher = vi.fn(async () => 'should not run');

    await viaIoredis.getOrSet('user:1', async () => ({ name: 'Ada', at: new Date('2026-01-01T00:00:00Z') }), {
      tags: ['users'],
    });
    await viaNodeRedis.getOrSet('user:404', async () => null);
    expect(await viaNodeRedis.getOrSet('user:1', fetcher, { tags: ['users'] })).toEqual({
      name: 'Ada',
      at: new Date('2026-01-01T00:00:00Z'),
    });
    expect(await viaIoredis.getOrSet('user:404', fetcher)).toBeNull();
    expect(fetcher).not.toHaveBeenCalled();

    // Bumped through node-redis, validated by the Lua read on the ioredis side (and back).
    await viaNodeRedis.deleteByTag('users');
    expect(await viaIoredis.get('user:1')).toBeUndefined();
    expect(await viaNodeRedis.getOrSet('user:1', async () => 'refetched', { tags: ['users'] })).toBe('refetched');

    // A fetch on node-redis overlapping a delete through ioredis is not stored.
    const { gate, release } = gated();
    const slow = viaNodeRedis.getOrSet('k', async () => {
      await gate;
      return 'read before the delete';
    });
    await sleep(20);
    await viaIoredis.delete('k');
    release();
    expect(await slow).toBe('read before the delete');
    expect(await viaIoredis.getOrSet('k', async () => 'fresh')).toBe('fresh');
  });

  test('concurrent reads on both clients (one MGET per batch) each get their own entry, validated', async () => {
    const namespace = fresh();
    const writer = busless(namespace);
    const readers = [
      busless(namespace, { l1: false }),
      createCache({ l1: false, l2: createRedisTier({ client: await nodeRedis(), prefix: namespace }), ttlMs: 60_000 }),
    ];
    const keys = Array.from({ length: 300 }, (_, i) => i);
    const tagsOf = (i: number) => (i % 2 ? ['odd'] : i % 3 ? [] : ['third']);
    await Promise.all(keys.map((i) => writer.getOrSet(`k${i}`, async () => `v${i}`, { tags: tagsOf(i) })));
    await writer.deleteByTag('odd');
    await writer.delete('k0');
    for (const reader of readers) {
      const values = await Promise.all(
        keys.map((i) => reader.getOrSet(`k${i}`, async () => `fetched${i}`, { tags: tagsOf(i) })),
      );
      expect(values).toEqual(keys.map((i) => (i === 0 || i % 2 ? `fetched${i}` : `v${i}`)));
    }
    // Read without naming the tags: validated inside Redis, batched with reads that name them.
    const mixed = await Promise.all(
      keys.slice(0, 20).map((i) => (i % 4 ? readers[1]?.get(`k${i}`) : readers[0]?.get(`k${i}`))),
    );
    expect(mixed).toEqual(keys.slice(0, 20).map((i) => (i === 0 || i % 2 ? `fetched${i}` : `v${i}`)));
  });

  test('a client that is neither is refused at construction', () => {
    expect(() => createRedisTier({ client: {} as never })).toThrow(/ioredis instance .* or a node-redis client/);
  });
});
