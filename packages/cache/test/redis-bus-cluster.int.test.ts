import { setTimeout as sleep } from 'node:timers/promises';
import { clusterBusTestKit, testKeyPrefix, timeUntil } from '@switchboard/infra';
import { afterAll, describe, expect, inject, test, vi } from 'vitest';
import { type BusMessage, createCache } from '../src/index.ts';
import { createRedisBus } from '../src/redis.ts';

const clusterInfo = inject('infra').redisCluster;
if (!clusterInfo) throw new Error('the shared topology has no Redis Cluster');
const { nodes } = clusterInfo;

const { cluster, modes, untilSubscribed, disconnectAll } = clusterBusTestKit(nodes);
afterAll(() => {
  disconnectAll();
});

for (const mode of modes) {
  describe(`createRedisBus on a Redis Cluster (${mode.name})`, () => {
    const busOn = (channel: string) =>
      createRedisBus({ publisher: cluster(), subscriber: mode.subscriber(), channel, sharded: mode.sharded });

    test("set, delete and deleteByTag on A drop B's L1 copy (Cluster connections of its own) within 200 ms", async () => {
      const channel = `${testKeyPrefix('cache-cluster')}bus`;
      const [a, b] = [createCache({ bus: busOn(channel) }), createCache({ bus: busOn(channel) })];
      await untilSubscribed(channel, mode.sharded, 2);
      await b.getOrSet('user:1', async () => 'old');
      await b.getOrSet('user:2', async () => 'old', { tags: ['user:2'] });
      await b.getOrSet('user:3', async () => 'old');
      await a.delete('user:1');
      expect(await timeUntil(() => b.getOrSet('user:1', async () => 'new'), 'new', 1_000)).toBeLessThanOrEqual(200);
      await a.deleteByTag('user:2');
      expect(
        await timeUntil(() => b.getOrSet('user:2', async () => 'new', { tags: ['user:2'] }), 'new', 1_000),
      ).toBeLessThanOrEqual(200);
      await a.set('user:3', 'set on A');
      // No L2 here: B drops its copy and fetches again.
      expect(await timeUntil(() => b.getOrSet('user:3', async () => 'new'), 'new', 1_000)).toBeLessThanOrEqual(200);
    });

    test('the bus alone: a message through one Cluster client reaches subscribers on others; unsubscribe stops delivery', async () => {
      const channel = `${testKeyPrefix('cache-cluster')}bus`;
      const [sender, first, second] = [busOn(channel), busOn(channel), busOn(channel)];
      const heard: [string, BusMessage][] = [];
      const stopFirst = first.subscribe(({ from: _from, ...message }) => void heard.push(['first', message]));
      const stopSecond = second.subscribe(({ from: _from, ...message }) => void heard.push(['second', message]));
      await untilSubscribed(channel, mode.sharded, 2);
      const one: BusMessage = { type: 'delete', keys: ['k1'] };
      await sender.publish({ ...one, from: 'sender' });
      await vi.waitFor(() => expect(heard).toHaveLength(2), { timeout: 1_000, interval: 5 });
      expect(heard.sort()).toEqual([
        ['first', one],
        ['second', one],
      ]);

      stopFirst();
      await untilSubscribed(channel, mode.sharded, 1);
      const two: BusMessage = { type: 'tag', tag: 't', gen: 2 };
      await sender.publish({ ...two, from: 'sender' });
      await vi.waitFor(() => expect(heard).toHaveLength(3), { timeout: 1_000, interval: 5 });
      await sleep(50);
      expect(heard.slice(2)).toEqual([['second', two]]);
      stopSecond();
      await untilSubscribed(channel, mode.sharded, 0);
      await sender.publish({ type: 'delete', keys: ['k3'], from: 'sender' });
      await sleep(100);
      expect(heard).toHaveLength(3);
    });
  });
}

describe('createRedisBus: sharded misuse is a TypeError', () => {
  // lazyConnect: these clients are only inspected, never used.
  const lazy = (options: Parameters<typeof cluster>[0] = {}) => cluster({ lazyConnect: true, ...options });

  test('a Cluster subscriber without shardedSubscribers: the message says how to create it', () => {
    expect(() => createRedisBus({ publisher: lazy(), subscriber: lazy(), sharded: true })).toThrowError(
      new TypeError(
        'createRedisBus: `sharded: true` needs a `subscriber` Cluster created with `new Cluster(nodes, { shardedSubscribers: true })` (without it ioredis sends SSUBSCRIBE to one node, which fails with "Too many Cluster redirections")',
      ),
    );
    expect(() => createRedisBus({ publisher: lazy(), subscriber: lazy() })).not.toThrow();
    expect(() =>
      createRedisBus({ publisher: lazy(), subscriber: lazy({ shardedSubscribers: true }), sharded: true }),
    ).not.toThrow();
  });
  // The other misuses (no spublish, no ssubscribe, a non-boolean `sharded`) are the shared check's:
  // tested once, in @switchboard/auth's cluster tests.
});
