import { setTimeout as sleep } from 'node:timers/promises';
import { clusterBusTestKit, testKeyPrefix } from '@switchboard/infra';
import { type Cluster, Redis } from 'ioredis';
import { afterAll, describe, expect, inject, test, vi } from 'vitest';
import { createMemorySessionStore, type SessionRevocation } from '../src/index.ts';
import { createRedisRevocationBus } from '../src/redis.ts';
import { describeRedisRevocationBus } from './redis-revocation-bus-suite.ts';

const clusterInfo = inject('infra').redisCluster;
if (!clusterInfo) throw new Error('the shared topology has no Redis Cluster');
const { nodes } = clusterInfo;

const { cluster, modes, untilSubscribed, disconnectAll } = clusterBusTestKit(nodes);
afterAll(() => {
  disconnectAll();
});

let raw: Cluster | undefined;
/** Publishes `message` on `channel` as a bus of this mode does, through a client of its own. */
async function publishRaw(sharded: boolean, channel: string, message: string) {
  raw ??= cluster();
  const publisher = raw;
  await (sharded ? publisher.spublish(channel, message) : publisher.publish(channel, message));
}

for (const mode of modes) {
  describeRedisRevocationBus(
    `createRedisRevocationBus on a Redis Cluster (${mode.name})`,
    {
      label: 'auth-cluster',
      store: () => createMemorySessionStore(),
      bus: (channel) =>
        createRedisRevocationBus({
          publisher: cluster(),
          subscriber: mode.subscriber(),
          channel,
          sharded: mode.sharded,
        }),
      publishRaw: (channel, message) => publishRaw(mode.sharded, channel, message),
    },
    () => {
      test('the bus alone: a message through one Cluster client reaches two subscribers on others; unsubscribe stops delivery', async () => {
        const channel = `${testKeyPrefix('auth-cluster')}bus`;
        const bus = () =>
          createRedisRevocationBus({
            publisher: cluster(),
            subscriber: mode.subscriber(),
            channel,
            sharded: mode.sharded,
          });
        const [sender, first, second] = [bus(), bus(), bus()];
        const heard: [string, readonly SessionRevocation[]][] = [];
        const stopFirst = await first.subscribe((revocations) => void heard.push(['first', revocations]));
        const stopSecond = await second.subscribe((revocations) => void heard.push(['second', revocations]));
        const one = [{ sessionId: 's-1', userId: 'u-1' }];
        await sender.publish(one);
        await vi.waitFor(() => expect(heard).toHaveLength(2), { timeout: 1_000, interval: 5 });
        expect(heard.sort()).toEqual([
          ['first', one],
          ['second', one],
        ]);

        stopFirst();
        // The unsubscribe is sent without waiting for its reply.
        await untilSubscribed(channel, mode.sharded, 1);
        const two = [{ sessionId: 's-2', userId: 'u-2' }];
        await sender.publish(two);
        await vi.waitFor(() => expect(heard).toHaveLength(3), { timeout: 1_000, interval: 5 });
        await sleep(50);
        expect(heard.slice(2)).toEqual([['second', two]]);
        stopSecond();
        await untilSubscribed(channel, mode.sharded, 0);
        await sender.publish([{ sessionId: 's-3', userId: 'u-3' }]);
        await sleep(100);
        expect(heard).toHaveLength(3);
      });

      test(`a ${mode.sharded ? 'classic PUBLISH' : 'sharded SPUBLISH'} on the same channel is not heard: every instance must use one mode`, async () => {
        const channel = `${testKeyPrefix('auth-cluster')}modes`;
        const bus = createRedisRevocationBus({
          publisher: cluster(),
          subscriber: mode.subscriber(),
          channel,
          sharded: mode.sharded,
        });
        const heard: (readonly SessionRevocation[])[] = [];
        const stop = await bus.subscribe((revocations) => void heard.push(revocations));
        await publishRaw(!mode.sharded, channel, JSON.stringify([{ sessionId: 'other-mode', userId: 'u' }]));
        await publishRaw(mode.sharded, channel, JSON.stringify([{ sessionId: 'same-mode', userId: 'u' }]));
        await vi.waitFor(() => expect(heard).toHaveLength(1), { timeout: 1_000, interval: 5 });
        await sleep(50);
        expect(heard).toEqual([[{ sessionId: 'same-mode', userId: 'u' }]]);
        stop();
      });
    },
  );
}

describe('createRedisRevocationBus on a Redis Cluster: channel placement', () => {
  test('classic: a PUBLISH on any node reaches the subscriber, wherever its connection is', async () => {
    const channel = `${testKeyPrefix('auth-cluster')}nodes`;
    const bus = createRedisRevocationBus({ publisher: cluster(), subscriber: cluster(), channel });
    const heard: string[] = [];
    const stop = await bus.subscribe((revocations) => void heard.push(revocations[0]?.sessionId ?? ''));
    // A plain connection to each node, masters and replicas.
    const every = nodes.map((node) => new Redis(node));
    try {
      expect(every.length).toBe(6);
      for (const [i, node] of every.entries()) {
        await node.publish(channel, JSON.stringify([{ sessionId: `via-${i}`, userId: 'u' }]));
      }
      await vi.waitFor(() => expect(heard).toHaveLength(every.length), { timeout: 1_000, interval: 5 });
      expect(heard.sort()).toEqual(every.map((_, i) => `via-${i}`).sort());
    } finally {
      for (const node of every) node.disconnect();
      stop();
    }
  });

  test("sharded: each channel is subscribed on its own shard's master only, and buses on every shard work", async () => {
    const admin = cluster();
    await admin.ping();
    const masters = admin.nodes('master');
    expect(masters.length).toBe(3);
    const ownerOf = async (channel: string) => {
      const slot = Number(await admin.cluster('KEYSLOT', channel));
      const shards = (await admin.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
      const owner = shards.find(([from, to]) => slot >= from && slot <= to)?.[2];
      return `${owner?.[0]}:${owner?.[1]}`;
    };
    // Channels until every master owns one.
    const byMaster = new Map<string, string>();
    for (let i = 0; byMaster.size < masters.length && i < 100; i++) {
      const channel = `${testKeyPrefix('auth-cluster')}shard-${i}`;
      const owner = await ownerOf(channel);
      if (!byMaster.has(owner)) byMaster.set(owner, channel);
    }
    expect(byMaster.size).toBe(3);
    for (const [owner, channel] of byMaster) {
      const bus = createRedisRevocationBus({
        publisher: cluster(),
        subscriber: cluster({ shardedSubscribers: true }),
        channel,
        sharded: true,
      });
      const heard: (readonly SessionRevocation[])[] = [];
      const stop = await bus.subscribe((revocations) => void heard.push(revocations));
      const counts = await Promise.all(
        masters.map(async (node) => {
          const [, count] = (await node.pubsub('SHARDNUMSUB', channel)) as [string, number];
          return [`${node.options.host}:${node.options.port}`, Number(count)] as const;
        }),
      );
      expect(counts.filter(([, count]) => count > 0)).toEqual([[owner, 1]]);
      await bus.publish([{ sessionId: 's', userId: 'u' }]);
      await vi.waitFor(() => expect(heard).toEqual([[{ sessionId: 's', userId: 'u' }]]), {
        timeout: 1_000,
        interval: 5,
      });
      stop();
    }
  });
});

describe('createRedisRevocationBus: sharded misuse is a TypeError', () => {
  // lazyConnect: these clients are only inspected, never used.
  const lazy = (options: Parameters<typeof cluster>[0] = {}) => cluster({ lazyConnect: true, ...options });

  test('a Cluster subscriber without shardedSubscribers: the message says how to create it', () => {
    expect(() => createRedisRevocationBus({ publisher: lazy(), subscriber: lazy(), sharded: true })).toThrowError(
      new TypeError(
        'createRedisRevocationBus: `sharded: true` needs a `subscriber` Cluster created with `new Cluster(nodes, { shardedSubscribers: true })` (without it ioredis sends SSUBSCRIBE to one node, which fails with "Too many Cluster redirections")',
      ),
    );
    // Classic pub/sub needs no such option.
    expect(() => createRedisRevocationBus({ publisher: lazy(), subscriber: lazy() })).not.toThrow();
    expect(() =>
      createRedisRevocationBus({ publisher: lazy(), subscriber: lazy({ shardedSubscribers: true }), sharded: true }),
    ).not.toThrow();
  });

  test('a publisher without spublish, a subscriber without ssubscribe, a sharded that is not a boolean', () => {
    const subscriber = lazy({ shardedSubscribers: true });
    const publishOnly = { publish: async () => 1 };
    expect(() => createRedisRevocationBus({ publisher: publishOnly, subscriber, sharded: true })).toThrowError(
      /^createRedisRevocationBus: `sharded: true` needs a `publisher` with `spublish`/,
    );
    // Without sharded, a client with only publish is still enough.
    expect(() => createRedisRevocationBus({ publisher: publishOnly, subscriber })).not.toThrow();
    const classicOnly = {
      subscribe: async () => 1,
      unsubscribe: async () => 1,
      on: () => undefined,
      off: () => undefined,
    };
    expect(() => createRedisRevocationBus({ publisher: lazy(), subscriber: classicOnly, sharded: true })).toThrowError(
      /^createRedisRevocationBus: `sharded: true` needs a `subscriber` with `ssubscribe` and `sunsubscribe`/,
    );
    for (const sharded of ['true', 1, {}]) {
      expect(() => createRedisRevocationBus({ publisher: lazy(), subscriber, sharded: sharded as never })).toThrow(
        TypeError,
      );
    }
  });
});
