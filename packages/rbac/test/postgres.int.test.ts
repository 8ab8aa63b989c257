import { setTimeout as sleep } from 'node:timers/promises';
import { createTestDatabase } from '@switchboard/infra';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { createMemoryRbacBus, createRbac, type RoleDefinitions } from '../src/index.ts';
import { createPostgresGrantStore, migrations } from '../src/postgres.ts';

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

describe('createPostgresGrantStore', () => {
  test('scoped and global grants, and revoke, against real Postgres', async () => {
    const rbac = await createRbac({ roles, store: createPostgresGrantStore({ pool }) });
    await rbac.grant('alice', 'admin', 'chat:A');
    await rbac.grant('alice', 'admin', 'chat:A'); // idempotent
    await rbac.grant('gina', 'admin');
    expect(await rbac.can('alice', 'chat:rename', { scope: 'chat:A' })).toBe(true);
    expect(await rbac.can('alice', 'chat:rename', { scope: 'chat:B' })).toBe(false);
    expect(await rbac.can('gina', 'chat:rename', { scope: 'chat:B' })).toBe(true);
    expect(await rbac.rolesOf('alice', 'chat:A')).toEqual(['admin']);
    await rbac.revoke('alice', 'admin', 'chat:A');
    expect(await rbac.can('alice', 'chat:rename', { scope: 'chat:A' })).toBe(false);
  });

  test('at most one query per user per cache TTL', async () => {
    let queries = 0;
    const counting = {
      query: (text: string, values?: unknown[]) => {
        queries++;
        return pool.query(text, values);
      },
    } as unknown as pg.Pool;
    const rbac = await createRbac({
      roles,
      store: createPostgresGrantStore({ pool: counting }),
      cache: { ttlMs: 200 },
    });
    await rbac.grant('bob', 'member', 'chat:A');
    queries = 0;
    for (let i = 0; i < 200; i++) await rbac.can('bob', 'message:send', { scope: 'chat:A' });
    expect(queries).toBe(1);
    await sleep(250);
    await rbac.can('bob', 'message:send', { scope: 'chat:A' });
    expect(queries).toBe(2);
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
