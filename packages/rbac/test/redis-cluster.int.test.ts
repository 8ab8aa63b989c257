import { setTimeout as sleep } from 'node:timers/promises';
import { clusterBusTestKit, testKeyPrefix, timeUntil } from '@switchboard/infra';
import { afterAll, describe, expect, inject, test, vi } from 'vitest';
import {
  createMemoryGrantStore,
  createMemoryPolicyStore,
  createRbac,
  type Rbac,
  type RbacBus,
  type RoleDefinitions,
} from '../src/index.ts';
import { createRedisRbacBus } from '../src/redis.ts';

const clusterInfo = inject('infra').redisCluster;
if (!clusterInfo) throw new Error('the shared topology has no Redis Cluster');
const { nodes } = clusterInfo;

const roles: RoleDefinitions = {
  member: { permissions: ['message:send'] },
  admin: { inherits: ['member'], permissions: ['chat:*'] },
};

const { cluster, modes, untilSubscribed, disconnectAll } = clusterBusTestKit(nodes);
const opened: Rbac[] = [];
afterAll(() => {
  for (const rbac of opened) rbac.close();
  disconnectAll();
});

for (const mode of modes) {
  describe(`createRedisRbacBus on a Redis Cluster (${mode.name})`, () => {
    const busOn = (channel: string): RbacBus =>
      createRedisRbacBus({ publisher: cluster(), subscriber: mode.subscriber(), channel, sharded: mode.sharded });

    test('a revoke on instance A is refused on instance B (Cluster connections of its own) within 1 s', async () => {
      const channel = `${testKeyPrefix('rbac-cluster')}grants`;
      const store = createMemoryGrantStore();
      const a = await createRbac({ roles, store, cache: { bus: busOn(channel) } });
      const b = await createRbac({ roles, store, cache: { bus: busOn(channel) } });
      opened.push(a, b);
      await untilSubscribed(channel, mode.sharded, 2);
      await a.grant('dave', 'admin', 'chat:D');
      expect(await b.can('dave', 'chat:rename', { scope: 'chat:D' })).toBe(true);
      await a.revoke('dave', 'admin', 'chat:D');
      expect(await timeUntil(() => b.can('dave', 'chat:rename', { scope: 'chat:D' }), false, 2_000)).toBeLessThan(
        1_000,
      );
    });

    test('a role’s permission removed on A is refused on B within 1 s (stored policy, no poll)', async () => {
      const channel = `${testKeyPrefix('rbac-cluster')}grants`;
      const policyStore = createMemoryPolicyStore();
      const store = createMemoryGrantStore();
      const open = () =>
        createRbac({ policyStore, store, policyPollMs: false, cache: { bus: busOn(channel) } }).then((rbac) => {
          opened.push(rbac);
          return rbac;
        });
      const [a, b] = [await open(), await open()];
      await untilSubscribed(`${channel}:policy`, mode.sharded, 2);
      await a.defineRole('moderator', { permissions: ['message:delete', 'message:read'] }, { actor: 'admin' });
      await a.grant('erin', 'moderator', 'chat:E', { actor: 'admin' });
      const read = () => b.can('erin', 'message:delete', { scope: 'chat:E' });
      expect(await timeUntil(read, true, 2_000)).toBeLessThan(1_000);
      await a.updateRole('moderator', { permissions: ['message:read'] }, { actor: 'admin' });
      expect(await timeUntil(read, false, 2_000)).toBeLessThan(1_000);
      expect(await b.can('erin', 'message:read', { scope: 'chat:E' })).toBe(true);
    });

    test('the bus alone: grant and policy messages through one Cluster client reach subscribers on others; unsubscribe stops delivery', async () => {
      const channel = `${testKeyPrefix('rbac-cluster')}bus`;
      const [sender, first, second] = [busOn(channel), busOn(channel), busOn(channel)];
      const heard: string[] = [];
      const stops = [
        first.subscribe((userId) => void heard.push(`first user ${userId}`)),
        second.subscribe((userId) => void heard.push(`second user ${userId}`)),
        first.subscribePolicy?.((version) => void heard.push(`first policy ${version}`)),
        second.subscribePolicy?.((version) => void heard.push(`second policy ${version}`)),
      ];
      await untilSubscribed(channel, mode.sharded, 2);
      await untilSubscribed(`${channel}:policy`, mode.sharded, 2);
      await sender.publish('u-1');
      await sender.publishPolicy?.(7);
      await vi.waitFor(() => expect(heard).toHaveLength(4), { timeout: 1_000, interval: 5 });
      expect(heard.sort()).toEqual(['first policy 7', 'first user u-1', 'second policy 7', 'second user u-1']);

      for (const stop of stops) stop?.();
      await untilSubscribed(channel, mode.sharded, 0);
      await untilSubscribed(`${channel}:policy`, mode.sharded, 0);
      await sender.publish('u-2');
      await sender.publishPolicy?.(8);
      await sleep(100);
      expect(heard).toHaveLength(4);
    });
  });
}

describe('createRedisRbacBus: sharded misuse is a TypeError', () => {
  // lazyConnect: these clients are only inspected, never used.
  const lazy = (options: Parameters<typeof cluster>[0] = {}) => cluster({ lazyConnect: true, ...options });

  test('a Cluster subscriber without shardedSubscribers: the message says how to create it', () => {
    expect(() => createRedisRbacBus({ publisher: lazy(), subscriber: lazy(), sharded: true })).toThrowError(
      new TypeError(
        'createRedisRbacBus: `sharded: true` needs a `subscriber` Cluster created with `new Cluster(nodes, { shardedSubscribers: true })` (without it ioredis sends SSUBSCRIBE to one node, which fails with "Too many Cluster redirections")',
      ),
    );
    expect(() => createRedisRbacBus({ publisher: lazy(), subscriber: lazy() })).not.toThrow();
    expect(() =>
      createRedisRbacBus({ publisher: lazy(), subscriber: lazy({ shardedSubscribers: true }), sharded: true }),
    ).not.toThrow();
  });
  // The other misuses (no spublish, no ssubscribe, a non-boolean `sharded`) are the shared check's:
  // tested once, in @switchboard/auth's cluster tests.
});
