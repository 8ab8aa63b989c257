import { createHash } from 'node:crypto';
import { createTestDatabase, sentinelClientOptions } from '@switchboard/infra';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { createAuth, generateSigningKey } from '../src/index.ts';
import { createPostgresDeviceTokenStore, createPostgresSessionStore, migrations } from '../src/postgres.ts';
import { createRedisRevocationBus } from '../src/redis.ts';
import { timeUntilRevoked } from '../src/testing/revocation-behaviour.ts';
import { deviceTokenStoreContract } from '../src/testing.ts';
import { describeRedisRevocationBus } from './redis-revocation-bus-suite.ts';

const pools: pg.Pool[] = [];
const redisClients: Redis[] = [];

/** A database of its own, migrated: tests never see each other's rows. */
async function isolatedPool() {
  const db = await createTestDatabase(inject('infra'), 'auth_hardening');
  const pool = new pg.Pool({ connectionString: db.primary, max: 3 });
  pools.push(pool);
  for (const migration of migrations) await pool.query(migration.sql);
  return pool;
}

function redisClient() {
  const info = inject('infra').redis;
  if (!info) throw new Error('the shared topology has no Redis');
  const client = new Redis(sentinelClientOptions(info));
  redisClients.push(client);
  return client;
}

afterAll(async () => {
  for (const client of redisClients) client.disconnect();
  await Promise.all(pools.map((pool) => pool.end()));
});

deviceTokenStoreContract({
  name: 'postgres',
  store: async () => createPostgresDeviceTokenStore({ pool: await isolatedPool() }),
});

describe('createPostgresDeviceTokenStore', () => {
  test('the table holds the SHA-256 of a device token, never the token', async () => {
    const pool = await isolatedPool();
    const auth = await createAuth({
      issuer: 'https://auth.test',
      audience: 'api',
      keys: [await generateSigningKey()],
      stores: { devices: createPostgresDeviceTokenStore({ pool }) },
    });
    const token = await auth.issueDeviceToken('alice');
    const { rows } = await pool.query('SELECT * FROM switchboard_auth_device_tokens');
    expect(rows).toHaveLength(1);
    const row = rows[0] as Record<string, unknown>;
    expect(row.token_hash).toBe(createHash('sha256').update(token).digest('hex'));
    const stored = JSON.stringify(rows);
    expect(stored).not.toContain(token);
    expect(stored).not.toContain(token.slice(3));
    expect(stored).not.toContain(token.slice(3, 20));
  });

  test('a database failure is STORE_UNAVAILABLE, never a silent "not a device token"', async () => {
    const pool = await isolatedPool();
    const auth = await createAuth({
      issuer: 'https://auth.test',
      audience: 'api',
      keys: [await generateSigningKey()],
      stores: { devices: createPostgresDeviceTokenStore({ pool }) },
    });
    const token = await auth.issueDeviceToken('alice');
    await pool.query('DROP TABLE switchboard_auth_device_tokens');
    await expect(auth.verifyDeviceToken(token, 'alice')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    await expect(auth.recordDeviceFailure(token, 'alice')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });

  test('the migrations are idempotent and ordered (a runner may apply them twice)', async () => {
    const pool = await isolatedPool();
    for (const migration of migrations) await pool.query(migration.sql);
    expect(new Set(migrations.map((migration) => migration.id)).size).toBe(migrations.length);
    const ids = migrations.map((migration) => migration.id);
    expect([...ids].sort()).toEqual(ids);
  });
});

let sessionsPool: pg.Pool;
beforeAll(async () => {
  sessionsPool = await isolatedPool();
});
let rawPublisher: Redis | undefined;
describeRedisRevocationBus(
  'createRedisRevocationBus (real Redis)',
  {
    label: 'auth',
    store: () => createPostgresSessionStore({ pool: sessionsPool }),
    bus: (channel) => createRedisRevocationBus({ publisher: redisClient(), subscriber: redisClient(), channel }),
    publishRaw: (channel, message) => {
      rawPublisher ??= redisClient();
      return rawPublisher.publish(channel, message);
    },
  },
  (deployment) => {
    test('a message lost by Redis costs at most pollIntervalMs', async () => {
      const pollIntervalMs = 300;
      const { store, instance } = await deployment();
      const b = await instance(pollIntervalMs);
      const pair = await b.issueTokens({ id: 'redis-dave' });
      await b.verifyAccessToken(pair.accessToken);
      await store.revokeAllForUser('redis-dave', new Date());
      expect(await timeUntilRevoked(b, pair.accessToken, 5_000)).toBeLessThan(pollIntervalMs + 200);
    });
  },
);
