import { setTimeout as sleep } from 'node:timers/promises';
import { redisSlot } from '@switchboard/hot-path';
import { testKeyPrefix } from '@switchboard/infra';
import { Cluster } from 'ioredis';
import { afterAll, describe, expect, inject, test } from 'vitest';
import { createCache } from '../src/index.ts';
import { createRedisTier } from '../src/redis.ts';
import { sharedTierContract } from '../src/testing.ts';

const info = inject('infra').redisCluster;
if (!info) throw new Error('the shared topology has no Redis Cluster');
const clients: Cluster[] = [];
const connect = () => {
  const created = new Cluster(info.nodes, { scaleReads: 'master' });
  clients.push(created);
  return created;
};
afterAll(() => {
  for (const created of clients) created.disconnect();
});
const fresh = () => testKeyPrefix('cache-cluster').replace(/:$/, '');

const prefix = fresh();
const [mainClient, peerClient] = [connect(), connect()];
sharedTierContract({
  name: 'redis over an ioredis Cluster (3 masters)',
  tier: () => createRedisTier({ client: mainClient, prefix }),
  peerTier: () => createRedisTier({ client: peerClient, prefix }),
});

describe('createRedisTier on a Redis Cluster', () => {
  test("a key's entry, generation and lock share a slot; tags spread over every master", async () => {
    const namespace = fresh();
    const tier = createRedisTier({ client: mainClient, prefix: namespace });
    for (let i = 0; i < 300; i++) {
      await tier.set(`k${i}`, `{"i":"x","f":0,"g":0,"t":[]}\nv${i}`, 60_000);
      await tier.bumpTag(`tag${i}`);
    }
    expect(await tier.lock('k7', 'me', 60_000)).toBe(true);
    const masters = mainClient.nodes('master');
    const keys = (await Promise.all(masters.map((node) => node.keys(`${namespace}|*`)))).map((found) => found.sort());
    for (const found of keys) expect(found.filter((key) => key.includes('|t|')).length).toBeGreaterThan(10);
    const ofK7 = keys.flat().filter((key) => key.endsWith('{k7}'));
    expect(ofK7.sort()).toEqual([`${namespace}|e|{k7}`, `${namespace}|k|{k7}`, `${namespace}|l|{k7}`]);
    expect(new Set(ofK7.map(redisSlot)).size).toBe(1);
  });

  test('deleteByTag racing fetches: once it returned, no instance serves a value fetched before it', async () => {
    const namespace = fresh();
    // Two instances, no bus and no L1 (every read goes to Redis): what the shared tier alone
    // guarantees across slots.
    const make = () =>
      createCache({ l1: false, l2: createRedisTier({ client: connect(), prefix: namespace }), ttlMs: 60_000 });
    const [a, b] = [make(), make()];
    // The "database": a version per key, bumped before each invalidation of its tag.
    const versions = new Map<string, number>();
    const fetcher = (key: string) => async () => {
      const version = versions.get(key) ?? 0;
      // The fetch takes a while, during which the invalidation may happen.
      await sleep(Math.random() * 4);
      return version;
    };
    const stale: string[] = [];
    await Promise.all(
      Array.from({ length: 20 }, async (_, k) => {
        const key = `item${k}`;
        const tag = `tag-of-${key}`;
        for (let round = 0; round < 15; round++) {
          // Readers and writers in flight on both instances while the invalidation happens.
          const inFlight = Array.from({ length: 4 }, (_, i) =>
            (i % 2 ? a : b).getOrSet(key, fetcher(key), { tags: [tag] }),
          );
          await sleep(Math.random() * 3);
          const version = (versions.get(key) ?? 0) + 1;
          versions.set(key, version);
          await a.deleteByTag(tag);
          await Promise.all(inFlight);
          // After deleteByTag returned: any read, on either instance, sees the new version. The
          // instance that did not invalidate reads first: all it knows of the tag is what Redis
          // answers.
          for (const cache of [b, a]) {
            const seen = await cache.getOrSet(key, fetcher(key), { tags: [tag] });
            if (seen < version) stale.push(`${key} round ${round}: served ${seen} after version ${version}`);
          }
        }
      }),
    );
    expect(stale).toEqual([]);
  });
});
