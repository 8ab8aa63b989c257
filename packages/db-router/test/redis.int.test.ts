import { createTestDatabase, sentinelClientOptions, testKeyPrefix } from '@switchboard/infra';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { createCausalSessions, createDbRouter, type DbRouter } from '../src/index.ts';
import { createRedisTokenStore } from '../src/redis.ts';
import { tokenStoreContract } from '../src/testing.ts';

const infra = inject('infra');
const redisInfo = infra.redis;
if (!redisInfo) throw new Error('the shared topology has no Redis');
const prefix = testKeyPrefix('db_router');
const clients = [new Redis(sentinelClientOptions(redisInfo)), new Redis(sentinelClientOptions(redisInfo))] as const;
const [mainClient, peerClient] = clients;
const store = createRedisTokenStore({ client: mainClient, prefix, ttlMs: 60_000 });
const peerStore = createRedisTokenStore({ client: peerClient, prefix, ttlMs: 60_000 });

afterAll(() => {
  for (const client of clients) client.disconnect();
});

tokenStoreContract({ name: 'redis (Sentinel-managed master)', store: () => store, peerStore: () => peerStore });

describe('createRedisTokenStore', () => {
  test('keys carry the prefix and expire after ttlMs', async () => {
    const short = createRedisTokenStore({ client: mainClient, prefix, ttlMs: 5_000 });
    await short.advance('ttl-user', 'v1.abc');
    expect(await mainClient.get(`${prefix}ttl-user`)).toBe('v1.abc');
    const ttl = await mainClient.pttl(`${prefix}ttl-user`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(5_000);
  });

  test('reloads its script after SCRIPT FLUSH (restart, failover)', async () => {
    await mainClient.script('FLUSH');
    await store.advance('flushed', 'v1.5');
    expect(await store.get('flushed')).toBe('v1.5');
  });

  test('a foreign value under the key is ignored on read and replaced on write', async () => {
    await mainClient.set(`${prefix}foreign`, 'something else');
    expect(await store.get('foreign')).toBeUndefined();
    await store.advance('foreign', 'v1.1');
    expect(await store.get('foreign')).toBe('v1.1');
  });

  test('refuses bad options', () => {
    expect(() => createRedisTokenStore({ client: {} as never })).toThrow(TypeError);
    expect(() => createRedisTokenStore({ client: mainClient, ttlMs: 0 })).toThrow(
      new TypeError('createRedisTokenStore: `ttlMs` must be a whole number >= 1, got 0'),
    );
  });
});

describe('createCausalSessions across two instances sharing Redis', () => {
  let instanceA: DbRouter;
  let instanceB: DbRouter;

  beforeAll(async () => {
    const db = await createTestDatabase(infra, 'db_router_sessions');
    instanceA = await createDbRouter({ primary: db.primary, replicas: db.replicas });
    instanceB = await createDbRouter({ primary: db.primary, replicas: db.replicas });
    await instanceA.write('CREATE TABLE posts (owner text, body text)');
  });

  afterAll(async () => {
    await instanceA?.close();
    await instanceB?.close();
  });

  test('a write on instance A is read back by the same user on instance B', async () => {
    const sessionsA = createCausalSessions({ router: instanceA, store });
    const sessionsB = createCausalSessions({ router: instanceB, store: peerStore });
    for (let round = 0; round < 20; round++) {
      const user = `user-${round}`;
      await instanceA.write('INSERT INTO posts VALUES ($1, $2)', [user, `post ${round}`]);
      const token = await sessionsA.afterWrite(user);
      expect(await sessionsB.tokenFor(user)).toBe(token);
      const { rows } = await sessionsB.readerFor(user).query('SELECT body FROM posts WHERE owner = $1', [user]);
      expect(rows).toEqual([{ body: `post ${round}` }]);
    }
  });
});
