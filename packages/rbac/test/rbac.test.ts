import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, test, vi } from 'vitest';
import {
  createMemoryGrantStore,
  createMemoryRbacBus,
  createRbac,
  ForbiddenError,
  type GrantStore,
  isRbacError,
  type RoleDefinitions,
} from '../src/index.ts';

interface Message {
  senderId: string;
}

const roles: RoleDefinitions = {
  reader: { permissions: ['message:read', 'chat:read'] },
  member: {
    inherits: ['reader'],
    permissions: [
      'message:send',
      {
        permission: 'message:edit',
        when: ({ userId, resource }) => (resource as Message | undefined)?.senderId === userId,
      },
    ],
  },
  moderator: { inherits: ['member'], permissions: ['message:delete'] },
  admin: { inherits: ['moderator'], permissions: ['chat:*'] },
  auditor: { permissions: ['*:read'] },
  root: { permissions: ['*'] },
};

/** A memory grant store that counts its loads. */
const counting = (): GrantStore & { loads: number } => {
  const inner = createMemoryGrantStore();
  const store = {
    loads: 0,
    grant: inner.grant,
    revoke: inner.revoke,
    grantsOf: (userId: string) => {
      store.loads++;
      return inner.grantsOf(userId);
    },
  };
  return store;
};

describe('createRbac: model', () => {
  test('a scoped admin of chat A is not admin of chat B; a global admin is admin everywhere', async () => {
    const rbac = await createRbac({ roles });
    await rbac.grant('alice', 'admin', 'chat:A');
    await rbac.grant('gina', 'admin');
    expect(await rbac.can('alice', 'chat:rename', { scope: 'chat:A' })).toBe(true);
    expect(await rbac.can('alice', 'chat:rename', { scope: 'chat:B' })).toBe(false);
    expect(await rbac.can('alice', 'chat:rename')).toBe(false);
    expect(await rbac.can('gina', 'chat:rename', { scope: 'chat:B' })).toBe(true);
    expect(await rbac.can('gina', 'chat:rename')).toBe(true);
  });

  test('inheritance chains: admin → moderator → member → reader', async () => {
    const rbac = await createRbac({ roles });
    await rbac.grant('alice', 'admin', 'chat:A');
    for (const permission of ['message:read', 'message:send', 'message:delete', 'chat:rename']) {
      expect(await rbac.can('alice', permission, { scope: 'chat:A' }), permission).toBe(true);
    }
    await rbac.grant('mo', 'moderator', 'chat:A');
    expect(await rbac.can('mo', 'chat:rename', { scope: 'chat:A' })).toBe(false);
  });

  test('wildcards match per segment: chat:* is not chatroom:x; *:read; *', async () => {
    const rbac = await createRbac({ roles });
    await rbac.grant('alice', 'admin');
    await rbac.grant('audrey', 'auditor');
    await rbac.grant('rooty', 'root');
    expect(await rbac.can('alice', 'chat:anything')).toBe(true);
    expect(await rbac.can('alice', 'chatroom:rename')).toBe(false);
    expect(await rbac.can('audrey', 'invoice:read')).toBe(true);
    expect(await rbac.can('audrey', 'invoice:write')).toBe(false);
    expect(await rbac.can('rooty', 'anything:at_all')).toBe(true);
  });

  test('conditions: a member edits only their own messages', async () => {
    const rbac = await createRbac({ roles });
    await rbac.grant('bob', 'member', 'chat:A');
    expect(await rbac.can('bob', 'message:edit', { scope: 'chat:A', resource: { senderId: 'bob' } })).toBe(true);
    expect(await rbac.can('bob', 'message:edit', { scope: 'chat:A', resource: { senderId: 'eve' } })).toBe(false);
    expect(await rbac.can('bob', 'message:edit', { scope: 'chat:A' })).toBe(false);
  });

  test('assert throws ForbiddenError (FORBIDDEN); explain says which grant, role and pattern, or why not', async () => {
    const rbac = await createRbac({ roles });
    await rbac.grant('alice', 'admin', 'chat:A');
    await rbac.grant('bob', 'member', 'chat:A');
    const error = await rbac.assert('bob', 'chat:rename', { scope: 'chat:A' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ForbiddenError);
    expect(isRbacError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'FORBIDDEN', permission: 'chat:rename', scope: 'chat:A' });
    expect(await rbac.explain('alice', 'message:read', { scope: 'chat:A' })).toMatchObject({
      allowed: true,
      grant: { role: 'admin', scope: 'chat:A' },
      role: 'reader',
      pattern: 'message:read',
    });
    expect((await rbac.explain('bob', 'chat:rename', { scope: 'chat:A' })).reason).toMatch(/no role granted/);
    expect(
      (await rbac.explain('bob', 'message:edit', { scope: 'chat:A', resource: { senderId: 'eve' } })).reason,
    ).toMatch(/condition/);
    expect((await rbac.explain('nobody', 'message:read')).reason).toMatch(/has no role/);
  });

  test('rolesOf, canMany and scopesWith (for filtering lists in SQL)', async () => {
    const rbac = await createRbac({ roles });
    await rbac.grant('bob', 'member', 'chat:1');
    await rbac.grant('bob', 'admin', 'chat:2');
    await rbac.grant('bob', 'reader', 'forum:9');
    expect(await rbac.rolesOf('bob', 'chat:2')).toEqual(['admin']);
    expect(
      await rbac.canMany('bob', [
        { permission: 'chat:rename', scope: 'chat:1' },
        { permission: 'chat:rename', scope: 'chat:2' },
      ]),
    ).toEqual([false, true]);
    expect([...((await rbac.scopesWith('bob', 'message:send', 'chat')) as string[])].sort()).toEqual(['1', '2']);
    expect(await rbac.scopesWith('bob', 'chat:rename', 'chat')).toEqual(['2']);
    // Conditional rules depend on each row: not usable as a filter.
    expect(await rbac.scopesWith('bob', 'message:edit', 'chat')).toEqual([]);
    await rbac.grant('gina', 'admin');
    expect(await rbac.scopesWith('gina', 'chat:rename', 'chat')).toBe('*');
  });

  test('forUser: synchronous checks over one snapshot of the grants', async () => {
    const store = counting();
    const rbac = await createRbac({ roles, store, cache: false });
    await rbac.grant('bob', 'admin', 'chat:2');
    await rbac.grant('bob', 'member', 'chat:1');
    const bob = await rbac.forUser('bob');
    expect(store.loads).toBe(1);
    expect(bob.userId).toBe('bob');
    expect(bob.can('chat:rename', { scope: 'chat:2' })).toBe(true);
    expect(bob.can('chat:rename', { scope: 'chat:1' })).toBe(false);
    expect(bob.can('message:edit', { scope: 'chat:1', resource: { senderId: 'bob' } })).toBe(true);
    expect(bob.can('message:edit', { scope: 'chat:1', resource: { senderId: 'eve' } })).toBe(false);
    expect(() => bob.assert('chat:delete', { scope: 'chat:1' })).toThrow(ForbiddenError);
    expect(() => bob.assert('chat:delete', { scope: 'chat:2' })).not.toThrow();
    expect(bob.rolesOf('chat:1')).toEqual(['member']);
    // Checks never load again (even with the cache off), and a revoke is seen by the next snapshot.
    expect(store.loads).toBe(1);
    await rbac.revoke('bob', 'admin', 'chat:2');
    expect(bob.can('chat:rename', { scope: 'chat:2' })).toBe(true);
    expect((await rbac.forUser('bob')).can('chat:rename', { scope: 'chat:2' })).toBe(false);
    await expect(rbac.forUser('')).rejects.toThrow(TypeError);
  });

  test('can (fast path) and explain (explaining path) always agree', async () => {
    const rbac = await createRbac({ roles });
    await rbac.grant('alice', 'admin', 'chat:A');
    await rbac.grant('bob', 'member', 'chat:A');
    await rbac.grant('audrey', 'auditor');
    await rbac.grant('rooty', 'root');
    const users = ['alice', 'bob', 'audrey', 'rooty', 'nobody'];
    const permissions = [
      'chat:rename',
      'chatroom:rename',
      'message:send',
      'message:edit',
      'message:read',
      'invoice:read',
      'invoice:write',
    ];
    const contexts = [
      {},
      { scope: 'chat:A' },
      { scope: 'chat:B' },
      { scope: 'chat:A', resource: { senderId: 'bob' } },
      { scope: 'chat:A', resource: { senderId: 'eve' } },
    ];
    let checked = 0;
    for (const user of users) {
      const snapshot = await rbac.forUser(user);
      for (const permission of permissions)
        for (const context of contexts) {
          const label = `${user} ${permission} ${JSON.stringify(context)}`;
          const explained = (await rbac.explain(user, permission, context)).allowed;
          expect(await rbac.can(user, permission, context), label).toBe(explained);
          expect(snapshot.can(permission, context), `forUser: ${label}`).toBe(explained);
          checked++;
        }
    }
    expect(checked).toBe(users.length * permissions.length * contexts.length);
  });

  test('bad input and bad policies fail clearly at once', async () => {
    await expect(createRbac({ roles: { a: { inherits: ['ghost'] } } })).rejects.toThrow(
      /inherits unknown role "ghost"/,
    );
    await expect(createRbac({ roles: { a: { inherits: ['b'] }, b: { inherits: ['a'] } } })).rejects.toThrow(
      /cycle: a -> b -> a/,
    );
    await expect(createRbac({ roles: { a: { permissions: ['chat'] } } })).rejects.toMatchObject({
      code: 'INVALID_POLICY',
    });
    await expect(createRbac({ roles: { a: { permissions: ['chat:rename:now'] } } })).rejects.toThrow(
      /malformed permission/,
    );
    const rbac = await createRbac({ roles });
    await expect(rbac.grant('u', 'ghost')).rejects.toThrow(/unknown role/);
    await expect(rbac.can('u', 'chat:*')).rejects.toThrow(TypeError);
    await expect(rbac.can('', 'chat:read')).rejects.toThrow(TypeError);
  });
});

describe('createRbac: caching and invalidation', () => {
  test('a warm check does not touch the store: one load per user per TTL', async () => {
    const store = counting();
    const rbac = await createRbac({ roles, store });
    await rbac.grant('bob', 'member', 'chat:A');
    store.loads = 0;
    for (let i = 0; i < 100; i++) await rbac.can('bob', 'message:send', { scope: 'chat:A' });
    expect(store.loads).toBe(1);
  });

  test('revoke takes effect on the next check on this instance', async () => {
    const rbac = await createRbac({ roles });
    await rbac.grant('bob', 'admin', 'chat:A');
    expect(await rbac.can('bob', 'chat:rename', { scope: 'chat:A' })).toBe(true);
    await rbac.revoke('bob', 'admin', 'chat:A');
    expect(await rbac.can('bob', 'chat:rename', { scope: 'chat:A' })).toBe(false);
  });

  test('revoke reaches another instance through the bus within 1 s, and through the TTL without one', async () => {
    const store = createMemoryGrantStore();
    const bus = createMemoryRbacBus();
    const a = await createRbac({ roles, store, cache: { bus } });
    const b = await createRbac({ roles, store, cache: { bus } });
    await a.grant('bob', 'admin', 'chat:A');
    expect(await b.can('bob', 'chat:rename', { scope: 'chat:A' })).toBe(true);
    await a.revoke('bob', 'admin', 'chat:A');
    const startedAt = Date.now();
    while (await b.can('bob', 'chat:rename', { scope: 'chat:A' })) await sleep(5);
    expect(Date.now() - startedAt).toBeLessThan(1_000);

    const c = await createRbac({ roles, store, cache: { ttlMs: 100 } });
    await a.grant('bob', 'admin', 'chat:A');
    expect(await c.can('bob', 'chat:rename', { scope: 'chat:A' })).toBe(true);
    await a.revoke('bob', 'admin', 'chat:A');
    await sleep(150);
    expect(await c.can('bob', 'chat:rename', { scope: 'chat:A' })).toBe(false);
  });

  test('invalidate: grants changed behind the cache (e.g. in a transaction) are seen here and on other instances', async () => {
    const store = createMemoryGrantStore();
    const bus = createMemoryRbacBus();
    const here = await createRbac({ roles, store, cache: { bus } });
    const there = await createRbac({ roles, store, cache: { bus } });
    expect(await here.can('zoe', 'message:send', { scope: 'chat:1' })).toBe(false);
    expect(await there.can('zoe', 'message:send', { scope: 'chat:1' })).toBe(false);
    // Written straight to the store, as a transaction-bound store would: both caches still say no.
    await store.grant('zoe', 'member', 'chat:1');
    expect(await here.can('zoe', 'message:send', { scope: 'chat:1' })).toBe(false);
    await here.invalidate('zoe');
    expect(await here.can('zoe', 'message:send', { scope: 'chat:1' })).toBe(true);
    expect(await there.can('zoe', 'message:send', { scope: 'chat:1' })).toBe(true);
    await expect(here.invalidate('')).rejects.toThrow(TypeError);
  });

  test('a cached entry is trusted at least ttlMs and at most 17/16 of it', async () => {
    vi.useFakeTimers();
    try {
      const store = counting();
      const rbac = await createRbac({ roles, store, cache: { ttlMs: 1600 } });
      const check = () => rbac.can('uma', 'chat:read', { scope: 'chat:1' });
      await check();
      expect(store.loads).toBe(1);
      vi.advanceTimersByTime(1599);
      await check();
      expect(store.loads).toBe(1);
      vi.advanceTimersByTime(201);
      await check();
      expect(store.loads).toBe(2);
      rbac.close();
    } finally {
      vi.useRealTimers();
    }
  });

  test('a load that a revoke overtook is not kept', async () => {
    const inner = createMemoryGrantStore();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let slow = false;
    const store: GrantStore = {
      ...inner,
      grantsOf: async (userId) => {
        const grants = await inner.grantsOf(userId);
        if (slow) await gate;
        return grants;
      },
    };
    const rbac = await createRbac({ roles, store });
    await rbac.grant('bob', 'admin', 'chat:A');
    slow = true;
    const stale = rbac.can('bob', 'chat:rename', { scope: 'chat:A' });
    slow = false;
    await rbac.revoke('bob', 'admin', 'chat:A');
    release();
    await stale;
    expect(await rbac.can('bob', 'chat:rename', { scope: 'chat:A' })).toBe(false);
  });
});
