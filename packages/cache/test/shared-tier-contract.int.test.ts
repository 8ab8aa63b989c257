import { createClient, type RedisClientType } from '@redis/client';
import { sentinelClientOptions, testKeyPrefix } from '@switchboard/infra';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, inject } from 'vitest';
import { createRedisTier } from '../src/redis.ts';
import { sharedTierContract } from '../src/testing.ts';

const info = inject('infra').redis;
if (!info) throw new Error('the shared topology has no Redis');
const prefix = testKeyPrefix('cache-contract').replace(/:$/, '');
const ioredis = [new Redis(sentinelClientOptions(info)), new Redis(sentinelClientOptions(info))] as const;
const nodeRedis = [createClient({ url: info.master }), createClient({ url: info.master })] as RedisClientType[];
beforeAll(async () => {
  await Promise.all(nodeRedis.map((client) => client.connect()));
});
afterAll(async () => {
  for (const client of ioredis) client.disconnect();
  await Promise.all(nodeRedis.map((client) => client.quit()));
});

const onIoredis = createRedisTier({ client: ioredis[0], prefix });
const peer = createRedisTier({ client: ioredis[1], prefix });
sharedTierContract({
  name: 'redis over ioredis (Sentinel-managed master)',
  tier: () => onIoredis,
  peerTier: () => peer,
});

// Created in the tests (after beforeAll connected the clients); the same prefix as above, so
// ioredis and node-redis tiers also read each other's data.
sharedTierContract({
  name: 'redis over node-redis, ioredis as the peer',
  tier: () => createRedisTier({ client: nodeRedis[0] as RedisClientType, prefix }),
  peerTier: () => peer,
});
