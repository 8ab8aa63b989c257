import { setTimeout as sleep } from 'node:timers/promises';
import { countQueries, createTestDatabase, sentinelClientOptions } from '@switchboard/infra';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { createMemoryRbacBus, createRbac, type RoleDefinitions } from '../src/index.ts';
import { createPostgresGrantStore, createPostgresPolicyStore, migrations } from '../src/postgres.ts';
import { createRedisRbacBus } from '../src/redis.ts';
import { grantStoreContract, policyStoreContract } from '../src/testing.ts';

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

policyStoreContract({
  name: 'createPostgresPolicyStore',
  stores: () => ({ policyStore: createPostgresPolicyStore({ pool }), store: createPostgresGrantStore({ pool }) }),
});

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

  test('a role’s permission removed on instance A is refused on instance B within 1 s (Postgres policy, Redis bus, no poll)', async () => {
    const info = inject('infra').redis;
    if (!info) throw new Error('no redis');
    const clients = [0, 1, 2, 3].map(() => new Redis(sentinelClientOptions(info)));
    const [pubA, subA, pubB, subB] = clients as InstanceType<typeof Redis>[] as [Redis, Redis, Redis, Redis];
    const channel = `rbac-policy-test-${Date.now()}`;
    // A database of its own: the contract suites leave roles that need their code roles and conditions.
    const db = await createTestDatabase(inject('infra'), 'rbac_policy');
    const own = new pg.Pool({ connectionString: db.primary, max: 4 });
    for (const migration of migrations) await own.query(migration.sql);
    const open = (publisher: Redis, subscriber: Redis) =>
      createRbac({
        policyStore: createPostgresPolicyStore({ pool: own }),
        store: createPostgresGrantStore({ pool: own }),
        // The poll is off: only the bus can carry the change here.
        policyPollMs: false,
        cache: { bus: createRedisRbacBus({ publisher, subscriber, channel }) },
      });
    try {
      const [a, b] = [await open(pubA, subA), await open(pubB, subB)];
      await sleep(100); // subscriptions in place
      const role = `moderator-${Date.now()}`;
      await a.defineRole(role, { permissions: ['message:delete', 'message:read'] }, { actor: 'admin' });
      await a.grant('erin', role, 'chat:E', { actor: 'admin' });
      const seenAt = Date.now();
      while (!(await b.can('erin', 'message:delete', { scope: 'chat:E' }))) await sleep(5);
      expect(Date.now() - seenAt).toBeLessThan(1_000);
      await a.updateRole(role, { permissions: ['message:read'] }, { actor: 'admin' });
      const startedAt = Date.now();
      while (await b.can('erin', 'message:delete', { scope: 'chat:E' })) await sleep(5);
      expect(Date.now() - startedAt).toBeLessThan(1_000);
      expect(await b.can('erin', 'message:read', { scope: 'chat:E' })).toBe(true);
      a.close();
      b.close();
    } finally {
      for (const client of clients) client.disconnect();
      await own.end();
    }
  });
});
