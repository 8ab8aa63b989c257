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
    // listRoles answers the policy in force (the refused version is not loaded again).
    expect((await rbac.listRoles()).map((role) => [role.name, role.version])).toEqual([['reader', 1]]);
    // A new instance refuses to start on it.
    await expect(createRbac({ policyStore })).rejects.toMatchObject({ code: 'INVALID_POLICY' });
    rbac.close();
  });

  test('a policy version announced on the bus is loaded once, whatever the number of messages', async () => {
    const policyStore = createMemoryPolicyStore();
    let loads = 0;
    const counting = {
      ...policyStore,
      load: () => {
        loads++;
        return policyStore.load();
      },
    };
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

  test('a stored policy that does not compile is reported once, not at every poll, until its version moves', async () => {
    const policyStore = createMemoryPolicyStore();
    const errors: unknown[] = [];
    const rbac = await createRbac({ policyStore, policyPollMs: 10, onPolicyError: (error) => errors.push(error) });
    await rbac.defineRole('reader', { permissions: ['chat:read'] });
    const { version } = await policyStore.load();
    await policyStore.write(
      {
        action: 'role.define',
        role: 'broken',
        before: null,
        after: { name: 'broken', version: 1, definition: { permissions: [], inherits: ['missing'], deny: [] } },
        context: {},
      },
      version,
    );
    await sleep(150);
    expect(errors).toHaveLength(1);
    rbac.close();
  });

  test('an onPolicyError that throws does not end the process (no unhandled rejection)', async () => {
    const policyStore = createMemoryPolicyStore();
    const failing = { ...policyStore, version: async () => Promise.reject(new Error('store down')) };
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const rbac = await createRbac({
      policyStore: failing,
      policyPollMs: 10,
      onPolicyError: () => {
        throw new Error('a broken handler');
      },
    });
    await sleep(60);
    rbac.close();
    process.off('unhandledRejection', onUnhandled);
    expect(unhandled).toEqual([]);
  });

  test('a store whose version went down (restored from a backup) is adopted, and changes after it go in force', async () => {
    const restored = createMemoryPolicyStore();
    let store = createMemoryPolicyStore();
    // One instance over a store that is swapped for an older one, as a restore would.
    const swapping = {
      load: () => store.load(),
      version: () => store.version(),
      write: (change: Parameters<typeof store.write>[0], basedOn: number) => store.write(change, basedOn),
    };
    const rbac = await createRbac({ policyStore: swapping, policyPollMs: 10 });
    for (const name of ['a', 'b', 'c']) await rbac.defineRole(name, { permissions: ['chat:read'] });
    store = restored;
    await rbac.defineRole('only', { permissions: ['chat:read'] });
    await rbac.grant('dee', 'only');
    expect(await rbac.can('dee', 'chat:read')).toBe(true);
    expect((await rbac.listRoles()).map((role) => role.name)).toEqual(['only']);
    rbac.close();
  });

  test('attack: a role named like an Object.prototype member, or inheriting one, is refused', async () => {
    const rbac = await createRbac({ policyStore: createMemoryPolicyStore(), policyPollMs: false });
    for (const parent of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      await expect(rbac.defineRole('sneaky', { inherits: [parent] })).rejects.toMatchObject({ code: 'INVALID_POLICY' });
    }
    await expect(rbac.defineRole('__proto__', { permissions: ['*'] })).rejects.toMatchObject({
      code: 'INVALID_POLICY',
    });
    await expect(createRbac({ roles: { member: { inherits: ['constructor'] } } })).rejects.toMatchObject({
      code: 'INVALID_POLICY',
    });
    expect(await rbac.listRoles()).toEqual([]);
    rbac.close();
  });

  test('attack: grants left from a deleted role do not come back to life when the name is defined again', async () => {
    const auditLog = createMemoryAuditLog();
    const policyStore = createMemoryPolicyStore({ auditLog });
    const store = createMemoryGrantStore({ auditLog });
    const a = await createRbac({ policyStore, store, policyPollMs: false });
    // b has not heard of the deletion yet (no bus, no poll) and grants the role meanwhile.
    const b = await createRbac({ policyStore, store, policyPollMs: false });
    await a.defineRole('viewer', { permissions: ['chat:read'] });
    await b.listRoles(); // b loads the policy with viewer in it
    await b.grant('eve', 'viewer');
    await a.deleteRole('viewer', { cascade: true });
    await b.grant('eve', 'viewer'); // b still has the old policy in force
    await expect(a.defineRole('viewer', { permissions: ['*'] })).rejects.toMatchObject({
      code: 'POLICY_CONFLICT',
      message: expect.stringMatching(/grants of a former role "viewer" remain/),
    });
    // The way out: cascade on the name, then define it again, with nothing left over.
    await a.deleteRole('viewer', { cascade: true, actor: 'ops' });
    await a.defineRole('viewer', { permissions: ['*'] });
    expect(await a.can('eve', 'chat:delete')).toBe(false);
    a.close();
    b.close();
  });

  test('code roles are copied when createRbac starts: mutating what was passed, or what listRoles answers, changes nothing', async () => {
    const roles = { member: { permissions: ['message:send'] } };
    const rbac = await createRbac({ roles, policyStore: createMemoryPolicyStore(), policyPollMs: false });
    roles.member.permissions.push('*');
    const listed = await rbac.listRoles();
    const permissions = listed[0]?.definition.permissions as string[];
    expect(() => permissions.push('*')).toThrow(TypeError);
    await rbac.defineRole('extra', { inherits: ['member'] }); // recompiles from the code roles
    await rbac.grant('fay', 'extra');
    expect(await rbac.can('fay', 'chat:delete')).toBe(false);
    expect(await rbac.can('fay', 'message:send')).toBe(true);
    rbac.close();
  });
});
