import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, test, vi } from 'vitest';
import { createMemoryGrantStore, createMemoryRbacBus, createRbac, type GrantStore } from '../src/index.ts';
import { counting, roles } from './fixtures.ts';

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
