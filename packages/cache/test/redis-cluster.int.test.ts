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

  describe("a turn's reads go out per node", () => {
    /** The cluster client as the tier sees it, counting the commands sent, with the slot table `slots` gives. */
    const counted = (slots: () => string[][]) => {
      const client = {
        commands: 0,
        isCluster: true,
        get slots() {
          return slots();
        },
        call: (command: string, ...args: (string | number)[]) => {
          client.commands++;
          return mainClient.call(command, ...args);
        },
        evalsha: (sha1: string, numberOfKeys: number, ...keysAndArgs: (string | number)[]) => {
          client.commands++;
          return mainClient.evalsha(sha1, numberOfKeys, ...keysAndArgs);
        },
      };
      return client;
    };
    const keys = Array.from({ length: 200 }, (_, i) => `per-node-${i}`);
    const entryOf = (key: string) => `{"i":"x","f":0,"g":0,"t":[]}\n${key}`;
    const readAll = async (client: ReturnType<typeof counted>, namespace: string) => {
      const tier = createRedisTier({ client, prefix: namespace });
      const readEach = () => Promise.all(keys.map((key, i) => tier.read(key, [`tag-${i % 50}`])));
      // Once before counting: every node then knows the script (no NOSCRIPT, EVAL round).
      await readEach();
      client.commands = 0;
      const reads = await readEach();
      return { reads, commands: client.commands };
    };

    test('200 reads over ~200 slots are one command per node, every answer in its place', async () => {
      const namespace = fresh();
      const writer = createRedisTier({ client: mainClient, prefix: namespace });
      for (const key of keys) await writer.set(key, entryOf(key), 60_000);
      await writer.bumpTag('tag-7');
      expect(new Set(keys.map((key) => redisSlot(`${namespace}|e|{${key}}`))).size).toBeGreaterThan(190);
      const { reads, commands } = await readAll(
        counted(() => mainClient.slots),
        namespace,
      );
      expect(reads.map((read) => read.raw)).toEqual(keys.map(entryOf));
      expect(reads.map((read) => read.keyGen)).toEqual(keys.map(() => 1));
      expect(reads.map((read) => read.gens)).toEqual(keys.map((_, i) => [i % 50 === 7 ? 1 : 0]));
      // Per slot it would be about 250 MGETs (200 keys, 50 tags); per node, 3.
      expect(commands).toBeLessThanOrEqual(3);
    });

    test('a stale slot table costs a second read of what the node did not hold, never a wrong answer', async () => {
      const namespace = fresh();
      const writer = createRedisTier({ client: mainClient, prefix: namespace });
      for (const key of keys) await writer.set(key, entryOf(key), 60_000);
      // The table claims one node holds every slot: the node reached answers "not here" for the
      // slots of the other two, read again alone.
      const oneNode = mainClient.slots[0] as string[];
      const { reads, commands } = await readAll(
        counted(() => Array.from({ length: 16_384 }, () => oneNode)),
        namespace,
      );
      expect(reads.map((read) => read.raw)).toEqual(keys.map(entryOf));
      expect(reads.map((read) => read.keyGen)).toEqual(keys.map(() => 1));
      expect(commands).toBeGreaterThan(100);
    });
  });
});
