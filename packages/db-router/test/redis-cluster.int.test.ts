import { redisSlot } from '@switchboard/hot-path';
import { testKeyPrefix } from '@switchboard/infra';
import { Cluster } from 'ioredis';
import { afterAll, describe, expect, inject, test } from 'vitest';
import { createRedisTokenStore } from '../src/redis.ts';
import { tokenStoreContract } from '../src/testing.ts';
import { encodeCausalToken } from '../src/token.ts';

const clusterInfo = inject('infra').redisCluster;
if (!clusterInfo) throw new Error('the shared topology has no Redis Cluster');
const prefix = testKeyPrefix('db_router_cluster');
const clients = [
  new Cluster(clusterInfo.nodes, { scaleReads: 'master' }),
  new Cluster(clusterInfo.nodes, { scaleReads: 'master' }),
] as const;
const [mainClient, peerClient] = clients;
const store = createRedisTokenStore({ client: mainClient, prefix, ttlMs: 60_000 });
const peerStore = createRedisTokenStore({ client: peerClient, prefix, ttlMs: 60_000 });

afterAll(() => {
  for (const client of clients) client.disconnect();
});

tokenStoreContract({ name: 'redis (Cluster, 3 masters)', store: () => store, peerStore: () => peerStore });

describe('createRedisTokenStore on a Redis Cluster', () => {
  test('tokens of 10,000 users spread over every master, with no CROSSSLOT, and read back from any client', async () => {
    const users = Array.from({ length: 10_000 }, (_, i) => `spread-user-${i}`);
    const tokenOf = (i: number) => encodeCausalToken(0x1_0000_0000n + BigInt(i));
    // A thousand advances per event-loop turn: with auto-pipelining off or on, each one is a
    // script on its own key, sent to the master of that key's slot.
    for (let from = 0; from < users.length; from += 1000) {
      await Promise.all(users.slice(from, from + 1000).map((user, i) => store.advance(user, tokenOf(from + i))));
    }
    const masters = mainClient.nodes('master');
    expect(masters.length).toBe(3);
    const perMaster = await Promise.all(masters.map((node) => countKeys(node, `${prefix}spread-user-*`)));
    expect(perMaster.reduce((sum, count) => sum + count, 0)).toBe(users.length);
    for (const count of perMaster) expect(count).toBeGreaterThan(2_000);
    expect(new Set(users.map((user) => redisSlot(`${prefix}${user}`))).size).toBeGreaterThan(5_000);

    const read = await Promise.all(users.map((user) => peerStore.get(user)));
    expect(read.filter((token, i) => token !== tokenOf(i))).toEqual([]);
    // Still compare-and-set on each key: an older token moves none of them back.
    await Promise.all(users.slice(0, 1000).map((user) => peerStore.advance(user, encodeCausalToken(1n))));
    expect(await store.get(users[999] as string)).toBe(tokenOf(999));
  });

  test('reloads its script on every master after SCRIPT FLUSH (restart, failover)', async () => {
    await Promise.all(mainClient.nodes('master').map((node) => node.script('FLUSH')));
    const users = Array.from({ length: 60 }, (_, i) => `flushed-${i}`);
    await Promise.all(users.map((user) => store.advance(user, 'v1.5')));
    expect(await Promise.all(users.map((user) => store.get(user)))).toEqual(users.map(() => 'v1.5'));
    const slots = new Set(users.map((user) => redisSlot(`${prefix}${user}`)));
    const owners = await Promise.all([...slots].map((slot) => masterOf(slot)));
    expect(new Set(owners).size).toBe(3);
  });

  test('keys carry the prefix and expire after ttlMs, on the master of their slot', async () => {
    const short = createRedisTokenStore({ client: mainClient, prefix, ttlMs: 5_000 });
    await short.advance('ttl-user', 'v1.abc');
    expect(await mainClient.get(`${prefix}ttl-user`)).toBe('v1.abc');
    const ttl = await mainClient.pttl(`${prefix}ttl-user`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(5_000);
  });
});

async function countKeys(node: ReturnType<Cluster['nodes']>[number], pattern: string): Promise<number> {
  let cursor = '0';
  let count = 0;
  do {
    const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    count += keys.length;
  } while (cursor !== '0');
  return count;
}

async function masterOf(slot: number): Promise<string> {
  const ranges = await mainClient.cluster('SLOTS');
  const master = ranges.find(([first, last]) => slot >= first && slot <= last)?.[2];
  if (!master) throw new Error(`no master serves slot ${slot}`);
  return `${master[0]}:${master[1]}`;
}
