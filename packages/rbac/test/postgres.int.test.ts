import { setTimeout as sleep } from 'node:timers/promises';
import { countQueries, createTestDatabase, sentinelClientOptions } from '@switchboard/infra';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { createMemoryRbacBus, createRbac, type RoleDefinitions } from '../src/index.ts';
import { createPostgresGrantStore, migrations } from '../src/postgres.ts';
import { createRedisRbacBus } from '../src/redis.ts';
import { grantStoreContract } from '../src/testing.ts';

const roles: RoleDefinitions = {
  member: { permissions: ['message:send'] },
  admin: { inherits: ['member'], permissions: ['chat:*'] },
};

let pool: pg.Pool;
beforeAll(async () => {
  const db = await createTestDatabase(inject('infra'), 'rbac');
  pool = new pg.Pool({ connectionString: db.primary, max: 4 });
  for (const migration of migrations) await pool.query(migration.sql);
  for (const migration of migrations) await pool.query(migration.sql);
});
afterAll(() => pool?.end());

grantStoreContract({ name: 'createPostgresGrantStore', store: () => createPostgresGrantStore({ pool }) });

describe('createPostgresGrantStore', () => {
  test('at most one query per user per cache TTL', async () => {
    const counting = countQueries(pool);
    const rbac = await createRbac({
      roles,
      store: createPostgresGrantStore({ pool: counting }),
      cache: { ttlMs: 200 },
    });
    await rbac.grant('bob', 'member', 'chat:A');
    counting.queries = 0;
    for (let i = 0; i < 200; i++) await rbac.can('bob', 'message:send', { scope: 'chat:A' });
    expect(counting.queries).toBe(1);
    await sleep(250);
    await rbac.can('bob', 'message:send', { scope: 'chat:A' });
    expect(counting.queries).toBe(2);
  });

  test('a revoke on one instance reaches another (shared Postgres, bus) within 1 s', async () => {
    const bus = createMemoryRbacBus();
    const a = await createRbac({ roles, store: createPostgresGrantStore({ pool }), cache: { bus } });
    const b = await createRbac({ roles, store: createPostgresGrantStore({ pool }), cache: { bus } });
    await a.grant('carol', 'admin', 'chat:C');
    expect(await b.can('carol', 'chat:rename', { scope: 'chat:C' })).toBe(true);
    await a.revoke('carol', 'admin', 'chat:C');
    const startedAt = Date.now();
    while (await b.can('carol', 'chat:rename', { scope: 'chat:C' })) await sleep(5);
    expect(Date.now() - startedAt).toBeLessThan(1_000);
  });
});

describe('createRedisRbacBus', () => {
  test('a revoke on one instance reaches another over real Redis within 1 s', async () => {
    const info = inject('infra').redis;
    if (!info) throw new Error('no redis');
    const clients = [0, 1, 2, 3].map(() => new Redis(sentinelClientOptions(info)));
    const [pubA, subA, pubB, subB] = clients as [
      InstanceType<typeof Redis>,
      InstanceType<typeof Redis>,
      InstanceType<typeof Redis>,
      InstanceType<typeof Redis>,
    ];
    const channel = `rbac-test-${Date.now()}`;
    try {
      const store = createPostgresGrantStore({ pool });
      const a = await createRbac({
        roles,
        store,
        cache: { bus: createRedisRbacBus({ publisher: pubA, subscriber: subA, channel }) },
      });
      const b = await createRbac({
        roles,
        store,
        cache: { bus: createRedisRbacBus({ publisher: pubB, subscriber: subB, channel }) },
      });
      await sleep(100); // subscriptions in place
      await a.grant('dave', 'admin', 'chat:D');
      expect(await b.can('dave', 'chat:rename', { scope: 'chat:D' })).toBe(true);
      await a.revoke('dave', 'admin', 'chat:D');
      const startedAt = Date.now();
      while (await b.can('dave', 'chat:rename', { scope: 'chat:D' })) await sleep(5);
      expect(Date.now() - startedAt).toBeLessThan(1_000);
      a.close();
      b.close();
    } finally {
      for (const client of clients) client.disconnect();
    }
  });
});
