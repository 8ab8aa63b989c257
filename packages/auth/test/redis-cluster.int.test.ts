import { setTimeout as sleep } from 'node:timers/promises';
import { clusterBusTestKit, testKeyPrefix } from '@switchboard/infra';
import { type Cluster, Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, inject, test, vi } from 'vitest';
import {
  type Auth,
  createAuth,
  createMemorySessionStore,
  generateSigningKey,
  type SessionRevocation,
} from '../src/index.ts';
import { createRedisRevocationBus } from '../src/redis.ts';
import { timeUntilRevoked } from '../src/testing/revocation-behaviour.ts';

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
  describe(`createRedisRevocationBus on a Redis Cluster (${mode.name})`, () => {
    const opened: Auth[] = [];
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((auth) => auth.close()));
    });

    /** Instances of one deployment: one session store, one channel, each its own Cluster clients. */
    async function deployment() {
      const channel = `${testKeyPrefix('auth-cluster')}revocations`;
      const keys = [await generateSigningKey()];
      const store = createMemorySessionStore();
      const instance = async (pollIntervalMs = 60_000) => {
        const auth = await createAuth({
          issuer: 'https://auth.test',
          audience: 'api',
          keys,
          stores: { sessions: store },
          revocations: {
            bus: createRedisRevocationBus({
              publisher: cluster(),
              subscriber: mode.subscriber(),
              channel,
              sharded: mode.sharded,
            }),
            pollIntervalMs,
          },
        });
        opened.push(auth);
        return auth;
      };
      return { channel, store, instance };
    }

    test('logout on A: B, on Cluster connections of its own, refuses the token within 1 s', async () => {
      // The poll is a minute away: only the cluster can carry it in time.
      const { instance } = await deployment();
      const [a, b] = [await instance(), await instance()];
      const heard: SessionRevocation[] = [];
      b.onSessionRevoked((revocation) => void heard.push(revocation));
      const pair = await a.issueTokens({ id: 'cluster-alice' });
      const { sessionId } = await b.verifyAccessToken(pair.accessToken);
      await a.logout(pair.refreshToken);
      expect(await timeUntilRevoked(b, pair.accessToken, 1_000)).toBeLessThan(1_000);
      expect(heard).toEqual([{ sessionId, userId: 'cluster-alice' }]);
    });

    test('revokeAllSessions and refresh reuse travel over the cluster too', async () => {
      const { instance } = await deployment();
      const [a, b] = [await instance(), await instance()];
      const everywhere = [await a.issueTokens({ id: 'cluster-bob' }), await a.issueTokens({ id: 'cluster-bob' })];
      await a.revokeAllSessions('cluster-bob');
      for (const pair of everywhere) expect(await timeUntilRevoked(b, pair.accessToken, 1_000)).toBeLessThan(1_000);

      const stolen = await a.issueTokens({ id: 'cluster-carol' });
      const victim = await a.refresh(stolen.refreshToken);
      await a.refresh(victim.refreshToken);
      await expect(a.refresh(stolen.refreshToken)).rejects.toMatchObject({ code: 'REFRESH_TOKEN_REUSED' });
      expect(await timeUntilRevoked(b, victim.accessToken, 1_000)).toBeLessThan(1_000);
    });

    test('attack: junk published on the channel revokes nothing and breaks nothing', async () => {
      const { channel, instance } = await deployment();
      const b = await instance();
      const pair = await b.issueTokens({ id: 'cluster-erin' });
      const { sessionId } = await b.verifyAccessToken(pair.accessToken);
      const heard: SessionRevocation[] = [];
      b.onSessionRevoked((revocation) => void heard.push(revocation));
      for (const junk of ['not json', '{}', '"s"', '[1,2]', JSON.stringify([{ sessionId }]), JSON.stringify([{}])]) {
        await publishRaw(mode.sharded, channel, junk);
      }
      const other = JSON.stringify([{ sessionId: 'other-session', userId: 'someone' }]);
      await publishRaw(mode.sharded, channel, other);
      await vi.waitFor(() => expect(heard).toHaveLength(1), { timeout: 1_000, interval: 10 });
      await sleep(50);
      expect(heard).toEqual([{ sessionId: 'other-session', userId: 'someone' }]);
      expect((await b.verifyAccessToken(pair.accessToken)).userId).toBe('cluster-erin');
    });

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
  });
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
