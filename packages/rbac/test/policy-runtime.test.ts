import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, test } from 'vitest';
import {
  createMemoryAuditLog,
  createMemoryGrantStore,
  createMemoryPolicyStore,
  createMemoryRbacBus,
  createRbac,
} from '../src/index.ts';

describe('a stored policy kept in force', () => {
  test('a stored policy that does not compile is refused whole: the one in force stays, onPolicyError hears why', async () => {
    const policyStore = createMemoryPolicyStore();
    const errors: unknown[] = [];
    const rbac = await createRbac({ policyStore, policyPollMs: 20, onPolicyError: (error) => errors.push(error) });
    await rbac.defineRole('reader', { permissions: ['chat:read'] });
    await rbac.grant('ann', 'reader');
    // Written past createRbac's validation, as a hand edit of the table would be: a cycle.
    const { version, roles } = await policyStore.load();
    const reader = roles[0];
    await policyStore.write(
      {
        action: 'role.update',
        role: 'reader',
        before: reader ?? null,
        after: { name: 'reader', version: 2, definition: { permissions: [], inherits: ['reader'], deny: [] } },
        context: { actor: 'hand-edit' },
      },
      version,
    );
    while (errors.length === 0) await sleep(5);
    expect(errors[0]).toMatchObject({ code: 'INVALID_POLICY', message: expect.stringMatching(/cycle/) });
    expect(await rbac.can('ann', 'chat:read')).toBe(true);
    expect((await rbac.listRoles().catch((error: unknown) => error)) as unknown).toMatchObject({
      code: 'INVALID_POLICY',
    });
    // A new instance refuses to start on it.
    await expect(createRbac({ policyStore })).rejects.toMatchObject({ code: 'INVALID_POLICY' });
    rbac.close();
  });

  test('a policy version announced on the bus is loaded once, whatever the number of messages', async () => {
    const policyStore = createMemoryPolicyStore();
    let loads = 0;
    const counting = { ...policyStore, load: () => (loads++, policyStore.load()) };
    const bus = createMemoryRbacBus();
    const writer = await createRbac({ policyStore, policyPollMs: false, cache: { bus } });
    const reader = await createRbac({ policyStore: counting, policyPollMs: false, cache: { bus } });
    loads = 0;
    await writer.defineRole('reader', { permissions: ['chat:read'] });
    for (let i = 0; i < 5; i++) await bus.publishPolicy?.(1);
    await sleep(20);
    expect(loads).toBe(1);
    expect((await reader.listRoles()).map((role) => role.name)).toEqual(['reader']);
    writer.close();
    reader.close();
  });

  test('createRbac refuses what cannot work: neither roles nor a policy store, a bad poll interval, a store that is not one', async () => {
    await expect(createRbac({})).rejects.toMatchObject({ code: 'INVALID_POLICY' });
    await expect(createRbac({ policyStore: createMemoryPolicyStore(), policyPollMs: 0 })).rejects.toThrow(
      /policyPollMs/,
    );
    await expect(createRbac({ policyStore: {} as never })).rejects.toThrow(/policyStore must be a policy store/);
    // Code roles alone: read-only, and the admin calls say what they need.
    const rbac = await createRbac({ roles: { member: { permissions: ['message:send'] } } });
    await expect(rbac.defineRole('x', {})).rejects.toThrow(/needs createRbac\(\{ policyStore \}\)/);
    expect(await rbac.listRoles()).toEqual([
      { name: 'member', source: 'code', version: null, definition: { permissions: ['message:send'] } },
    ]);
    rbac.close();
  });

  test('a grant of a role defined a moment ago on another instance is accepted (this one reloads first)', async () => {
    const auditLog = createMemoryAuditLog();
    const policyStore = createMemoryPolicyStore({ auditLog });
    const store = createMemoryGrantStore({ auditLog });
    // No bus, no poll: only the reload a grant of an unknown role makes can find it.
    const a = await createRbac({ policyStore, store, policyPollMs: false });
    const b = await createRbac({ policyStore, store, policyPollMs: false });
    await a.defineRole('fresh', { permissions: ['chat:read'] });
    await b.grant('cy', 'fresh', 'chat:1', { actor: 'ops' });
    expect(await b.can('cy', 'chat:read', { scope: 'chat:1' })).toBe(true);
    await expect(b.grant('cy', 'never-defined')).rejects.toThrow(/unknown role "never-defined"/);
    a.close();
    b.close();
  });
});
