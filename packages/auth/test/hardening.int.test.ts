import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestDatabase, sentinelClientOptions, testKeyPrefix } from '@switchboard/infra';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, inject, test } from 'vitest';
import { type Auth, createAuth, generateSigningKey, type SessionRevocation } from '../src/index.ts';
import { createPostgresDeviceTokenStore, createPostgresSessionStore, migrations } from '../src/postgres.ts';
import { createRedisRevocationBus } from '../src/redis.ts';
import { timeUntilRevoked } from '../src/testing/revocation-behaviour.ts';
import { deviceTokenStoreContract } from '../src/testing.ts';

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

describe('createRedisRevocationBus (real Redis)', () => {
  let pool: pg.Pool;
  const opened: Auth[] = [];
  beforeAll(async () => {
    pool = await isolatedPool();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((auth) => auth.close()));
  });

  /** Instances of one deployment: one database, one channel, each its own Redis connections. */
  async function deployment() {
    const channel = `${testKeyPrefix('auth')}revocations`;
    const keys = [await generateSigningKey()];
    const store = createPostgresSessionStore({ pool });
    const instance = async (pollIntervalMs = 60_000) => {
      const auth = await createAuth({
        issuer: 'https://auth.test',
        audience: 'api',
        keys,
        stores: { sessions: store },
        revocations: {
          bus: createRedisRevocationBus({ publisher: redisClient(), subscriber: redisClient(), channel }),
          pollIntervalMs,
        },
      });
      opened.push(auth);
      return auth;
    };
    return { channel, store, instance };
  }

  test('logout on A: B, another process in effect (own connections), refuses the token within 1 s', async () => {
    // The poll is a minute away: only Redis can carry it in time.
    const { instance } = await deployment();
    const [a, b] = [await instance(), await instance()];
    const heard: SessionRevocation[] = [];
    b.onSessionRevoked((revocation) => void heard.push(revocation));
    const pair = await a.issueTokens({ id: 'redis-alice' });
    const { sessionId } = await b.verifyAccessToken(pair.accessToken);
    await a.logout(pair.refreshToken);
    expect(await timeUntilRevoked(b, pair.accessToken, 1_000)).toBeLessThan(1_000);
    expect(heard).toEqual([{ sessionId, userId: 'redis-alice' }]);
  });

  test('revokeAllSessions and refresh reuse travel over Redis too', async () => {
    const { instance } = await deployment();
    const [a, b] = [await instance(), await instance()];
    const everywhere = [await a.issueTokens({ id: 'redis-bob' }), await a.issueTokens({ id: 'redis-bob' })];
    await a.revokeAllSessions('redis-bob');
    for (const pair of everywhere) expect(await timeUntilRevoked(b, pair.accessToken, 1_000)).toBeLessThan(1_000);

    const stolen = await a.issueTokens({ id: 'redis-carol' });
    const victim = await a.refresh(stolen.refreshToken);
    await a.refresh(victim.refreshToken);
    await expect(a.refresh(stolen.refreshToken)).rejects.toMatchObject({ code: 'REFRESH_TOKEN_REUSED' });
    expect(await timeUntilRevoked(b, victim.accessToken, 1_000)).toBeLessThan(1_000);
  });

  test('a message lost by Redis costs at most pollIntervalMs', async () => {
    const pollIntervalMs = 300;
    const { store, instance } = await deployment();
    const b = await instance(pollIntervalMs);
    const pair = await b.issueTokens({ id: 'redis-dave' });
    await b.verifyAccessToken(pair.accessToken);
    await store.revokeAllForUser('redis-dave', new Date());
    expect(await timeUntilRevoked(b, pair.accessToken, 5_000)).toBeLessThan(pollIntervalMs + 200);
  });

  test('attack: junk published on the channel revokes nothing and breaks nothing', async () => {
    const { channel, instance } = await deployment();
    const b = await instance();
    const pair = await b.issueTokens({ id: 'redis-erin' });
    const { sessionId } = await b.verifyAccessToken(pair.accessToken);
    const heard: SessionRevocation[] = [];
    b.onSessionRevoked((revocation) => void heard.push(revocation));
    const publisher = redisClient();
    for (const junk of ['not json', '{}', '"s"', '[1,2]', JSON.stringify([{ sessionId }]), JSON.stringify([{}])]) {
      await publisher.publish(channel, junk);
    }
    await publisher.publish(channel, JSON.stringify([{ sessionId: 'other-session', userId: 'someone' }]));
    await sleep(200);
    expect(heard).toEqual([{ sessionId: 'other-session', userId: 'someone' }]);
    expect((await b.verifyAccessToken(pair.accessToken)).userId).toBe('redis-erin');
  });
});
