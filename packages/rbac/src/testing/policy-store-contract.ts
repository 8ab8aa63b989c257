import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, test } from 'vitest';
import { createRbac } from '../rbac.ts';
import type { Rbac } from '../rbac-api.ts';
import { createMemoryRbacBus } from '../stores/memory.ts';
import type { GrantStore, PolicyStore } from '../types.ts';

/** Options of {@link policyStoreContract}. */
export interface PolicyStoreContractOptions {
  /** Shown in the suite name. */
  name: string;
  /**
   * A policy store and a grant store sharing one audit trail. Called once per test; tests use
   * role and user names of their own, so the stores may share their data (one database).
   */
  stores: () => { policyStore: PolicyStore; store: GrantStore };
}

let names = 0;

/**
 * The policy store contract as a vitest suite, through `createRbac`'s admin API: roles defined,
 * updated and deleted at runtime are in force at once here and on another instance; invalid
 * changes (cycle, unknown role, malformed permission, unknown condition) write nothing;
 * `expectedVersion` refuses a stale edit and concurrent edits lose nothing; every change is
 * audited with its actor.
 *
 * @example
 * policyStoreContract({ name: 'my store', stores: () => ({ policyStore: createMyPolicyStore(db), store: createMyGrantStore(db) }) });
 */
export function policyStoreContract(options: PolicyStoreContractOptions): void {
  const unique = (label: string) => `${label}-${process.pid}-${Date.now().toString(36)}-${++names}`;
  const code = { 'code-member': { permissions: ['message:read'] } };
  const conditions = {
    ownMessage: ({ userId, resource }: { userId: string; resource: unknown }) =>
      (resource as { senderId?: string } | undefined)?.senderId === userId,
  };
  const open = async (
    stores = options.stores(),
    extra: { pollMs?: number | false; bus?: ReturnType<typeof createMemoryRbacBus> } = {},
  ) => {
    const rbac = await createRbac({
      roles: code,
      conditions,
      ...stores,
      policyPollMs: extra.pollMs ?? false,
      cache: extra.bus ? { bus: extra.bus } : {},
    });
    return rbac;
  };
  /** Runs `fn` with an instance; `another()` opens one more over the same stores (closed after). */
  const withRbac = async (fn: (rbac: Rbac, another: () => Promise<Rbac>) => Promise<void>) => {
    const stores = options.stores();
    const rbac = await open(stores);
    try {
      await fn(rbac, () => open(stores));
    } finally {
      rbac.close();
    }
  };

  describe(`policy store contract: ${options.name}`, () => {
    test('a role defined at runtime is in force at once; updated and deleted, likewise', () =>
      withRbac(async (rbac) => {
        const [role, user] = [unique('editor'), unique('user')];
        const defined = await rbac.defineRole(
          role,
          { permissions: ['message:send', 'message:delete'], inherits: ['code-member'] },
          { actor: 'admin-1' },
        );
        expect(defined).toEqual({
          name: role,
          version: 1,
          definition: { permissions: ['message:send', 'message:delete'], inherits: ['code-member'], deny: [] },
        });
        await rbac.grant(user, role, 'chat:1');
        expect(await rbac.can(user, 'message:delete', { scope: 'chat:1' })).toBe(true);
        expect(await rbac.can(user, 'message:read', { scope: 'chat:1' })).toBe(true);
        const updated = await rbac.updateRole(role, { permissions: ['message:send'] }, { actor: 'admin-2' });
        expect(updated.version).toBe(2);
        expect(updated.definition.inherits).toEqual(['code-member']);
        expect(await rbac.can(user, 'message:delete', { scope: 'chat:1' })).toBe(false);
        expect(await rbac.can(user, 'message:send', { scope: 'chat:1' })).toBe(true);
        const listed = (await rbac.listRoles()).filter((info) => info.name === role || info.name === 'code-member');
        expect(listed.map(({ name, source, version }) => ({ name, source, version }))).toEqual([
          { name: 'code-member', source: 'code', version: null },
          { name: role, source: 'store', version: 2 },
        ]);
        await rbac.revoke(user, role, 'chat:1');
        await rbac.deleteRole(role, { actor: 'admin-3' });
        expect((await rbac.listRoles()).some((info) => info.name === role)).toBe(false);
        await expect(rbac.grant(user, role, 'chat:1')).rejects.toThrow(/unknown role/);
      }));

    test('a change that would make a cycle is refused and leaves the old policy in force', () =>
      withRbac(async (rbac, another) => {
        const [a, b, user] = [unique('a'), unique('b'), unique('user')];
        await rbac.defineRole(b, { permissions: ['chat:read'] });
        await rbac.defineRole(a, { inherits: [b], permissions: ['chat:rename'] });
        await rbac.grant(user, a);
        await expect(rbac.updateRole(b, { inherits: [a] })).rejects.toMatchObject({
          code: 'INVALID_POLICY',
          message: expect.stringMatching(/cycle/),
        });
        const roleB = (await rbac.listRoles()).find((info) => info.name === b);
        expect(roleB).toMatchObject({ version: 1, definition: { inherits: [] } });
        expect(await rbac.can(user, 'chat:read')).toBe(true);
        // Another instance loading the store sees the old policy too: nothing was written.
        const other = await another();
        expect((await other.listRoles()).find((info) => info.name === b)).toMatchObject({ version: 1 });
        other.close();
      }));

    test('unknown roles, malformed permissions, unknown conditions, functions and code roles are refused before any write', () =>
      withRbac(async (rbac) => {
        const role = unique('bad');
        const refusals: [string, () => Promise<unknown>][] = [
          ['unknown inherited role', () => rbac.defineRole(role, { inherits: ['no-such-role'] })],
          ['malformed permission', () => rbac.defineRole(role, { permissions: ['message'] })],
          [
            'unknown condition',
            () => rbac.defineRole(role, { permissions: [{ permission: 'message:edit', condition: 'nope' }] }),
          ],
          [
            'a function',
            () => rbac.defineRole(role, { permissions: [{ permission: 'message:edit', when: () => true } as never] }),
          ],
          ['unknown field', () => rbac.defineRole(role, { grants: [] } as never)],
          ['bad name', () => rbac.defineRole('has space', {})],
          ['a code role', () => rbac.updateRole('code-member', { permissions: [] })],
          ['a code role name', () => rbac.defineRole('code-member', {})],
          ['unknown role', () => rbac.updateRole(role, { permissions: [] })],
          ['unknown role', () => rbac.deleteRole(role)],
        ];
        for (const [why, refused] of refusals)
          await expect(refused(), why).rejects.toMatchObject({ code: 'INVALID_POLICY' });
        expect((await rbac.listRoles()).some((info) => info.name === role)).toBe(false);
        expect((await rbac.auditLog({ role })).records).toEqual([]);
      }));

    test('a stored role refers to conditions by name, and its deny beats an inherited allow', () =>
      withRbac(async (rbac) => {
        const [writer, muted, user] = [unique('writer'), unique('muted'), unique('user')];
        await rbac.defineRole(writer, {
          permissions: ['message:send', { permission: 'message:edit', condition: 'ownMessage' }],
        });
        await rbac.defineRole(muted, { inherits: [writer], deny: ['message:send'] });
        await rbac.grant(user, muted, 'chat:1');
        expect(await rbac.can(user, 'message:edit', { scope: 'chat:1', resource: { senderId: user } })).toBe(true);
        expect(await rbac.can(user, 'message:edit', { scope: 'chat:1', resource: { senderId: 'other' } })).toBe(false);
        expect(await rbac.can(user, 'message:send', { scope: 'chat:1' })).toBe(false);
        expect((await rbac.explain(user, 'message:send', { scope: 'chat:1' })).denied).toEqual({
          grant: { role: muted, scope: 'chat:1' },
          role: muted,
          pattern: 'message:send',
        });
      }));

    test('expectedVersion refuses a stale edit; concurrent edits of one role with it: one wins, none is lost', () =>
      withRbac(async (rbac, another) => {
        const role = unique('contested');
        await rbac.defineRole(role, { permissions: ['chat:read'] });
        await expect(rbac.updateRole(role, { permissions: [] }, { expectedVersion: 7 })).rejects.toMatchObject({
          code: 'POLICY_CONFLICT',
          actualVersion: 1,
        });
        const other = await another();
        const results = await Promise.allSettled([
          rbac.updateRole(role, { permissions: ['chat:read', 'chat:rename'] }, { expectedVersion: 1, actor: 'a' }),
          other.updateRole(role, { permissions: ['chat:read', 'chat:delete'] }, { expectedVersion: 1, actor: 'b' }),
        ]);
        other.close();
        const won = results.filter((result) => result.status === 'fulfilled');
        const lost = results.filter((result) => result.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost.map((result) => (result as PromiseRejectedResult).reason.code)).toEqual(['POLICY_CONFLICT']);
        const stored = (await rbac.listRoles()).find((info) => info.name === role);
        expect(stored?.version).toBe(2);
        expect(stored?.definition).toEqual(
          (won[0] as PromiseFulfilledResult<{ definition: unknown }>).value.definition,
        );
        await expect(rbac.defineRole(role, {})).rejects.toMatchObject({ code: 'POLICY_CONFLICT' });
      }));

    test('concurrent changes from several instances all land (each validated on the policy it lands on)', async () => {
      const stores = options.stores();
      const instances = await Promise.all([open(stores), open(stores), open(stores)]);
      try {
        const base = unique('base');
        await instances[0]?.defineRole(base, { permissions: ['chat:read'] });
        const roles = Array.from({ length: 6 }, (_, i) => unique(`child${i}`));
        // Without expectedVersion: last writer wins per role, but no change to another role is lost.
        await Promise.all(roles.map((role, i) => instances[i % 3]?.defineRole(role, { inherits: [base] })));
        await Promise.all(
          roles.map((role, i) => instances[(i + 1) % 3]?.updateRole(role, { permissions: ['chat:rename'] })),
        );
        const fresh = await open(stores);
        const listed = await fresh.listRoles();
        fresh.close();
        for (const role of roles)
          expect(listed.find((info) => info.name === role)).toMatchObject({
            version: 2,
            definition: { inherits: [base], permissions: ['chat:rename'] },
          });
      } finally {
        for (const rbac of instances) rbac.close();
      }
    });

    test('deleteRole is refused while the role is granted or inherited; cascade revokes every grant, audited', () =>
      withRbac(async (rbac) => {
        const [parent, child, role, user] = [unique('parent'), unique('child'), unique('doomed'), unique('user')];
        await rbac.defineRole(parent, { permissions: ['chat:read'] });
        await rbac.defineRole(child, { inherits: [parent] });
        await expect(rbac.deleteRole(parent)).rejects.toMatchObject({ code: 'INVALID_POLICY' });
        await rbac.defineRole(role, { permissions: ['chat:read'] });
        await rbac.grant(user, role, 'chat:1');
        await rbac.grant(user, role, 'chat:2');
        await expect(rbac.deleteRole(role)).rejects.toMatchObject({
          code: 'POLICY_CONFLICT',
          message: expect.stringMatching(/2 grants/),
        });
        expect(await rbac.can(user, 'chat:read', { scope: 'chat:1' })).toBe(true);
        await rbac.deleteRole(role, { cascade: true, actor: 'admin-9' });
        expect(await rbac.can(user, 'chat:read', { scope: 'chat:1' })).toBe(false);
        expect(await rbac.rolesOf(user, 'chat:2')).toEqual([]);
        const actions = (await rbac.auditLog({ role })).records.map((record) => [
          record.action,
          record.actor,
          record.scope ?? null,
        ]);
        expect(actions.slice(0, 3).sort()).toEqual([
          ['revoke', 'admin-9', 'chat:1'],
          ['revoke', 'admin-9', 'chat:2'],
          ['role.delete', 'admin-9', null],
        ]);
      }));

    test('every policy change is audited with its actor, request and the definitions before and after', () =>
      withRbac(async (rbac) => {
        const role = unique('audited');
        await rbac.defineRole(role, { permissions: ['chat:read'] }, { actor: 'alice', requestId: 'r1' });
        await rbac.updateRole(role, { deny: ['chat:delete'] }, { actor: 'bob' });
        await rbac.updateRole(role, { permissions: [] });
        await rbac.deleteRole(role, { actor: 'carol' });
        const records = (await rbac.auditLog({ role })).records.map(({ action, actor, before, after, requestId }) => ({
          action,
          actor,
          before,
          after,
          requestId,
        }));
        const defined = { permissions: ['chat:read'], inherits: [], deny: [] };
        const denied = { ...defined, deny: ['chat:delete'] };
        const emptied = { ...denied, permissions: [] };
        expect(records).toEqual([
          { action: 'role.delete', actor: 'carol', before: emptied, after: undefined, requestId: undefined },
          { action: 'role.update', actor: null, before: denied, after: emptied, requestId: undefined },
          { action: 'role.update', actor: 'bob', before: defined, after: denied, requestId: undefined },
          { action: 'role.define', actor: 'alice', before: undefined, after: defined, requestId: 'r1' },
        ]);
      }));

    test('another instance sees a change within 1 s through the bus, and through the poll alone', async () => {
      const stores = options.stores();
      const bus = createMemoryRbacBus();
      const a = await open(stores, { bus });
      const b = await open(stores, { bus });
      const polled = await open(stores, { pollMs: 50 });
      try {
        const [role, user] = [unique('live'), unique('user')];
        await a.defineRole(role, { permissions: ['chat:read', 'chat:rename'] });
        await a.grant(user, role, 'chat:1');
        for (const other of [b, polled])
          expect(await eventually(() => other.can(user, 'chat:rename', { scope: 'chat:1' }), true)).toBeLessThan(1_000);
        await a.updateRole(role, { permissions: ['chat:read'] });
        for (const other of [b, polled])
          expect(await eventually(() => other.can(user, 'chat:rename', { scope: 'chat:1' }), false)).toBeLessThan(
            1_000,
          );
        expect(await b.can(user, 'chat:read', { scope: 'chat:1' })).toBe(true);
      } finally {
        for (const rbac of [a, b, polled]) rbac.close();
      }
    });
  });
}

/** Milliseconds until `check` answers `expected` (fails the test after 2 s). */
async function eventually(check: () => Promise<boolean>, expected: boolean): Promise<number> {
  const startedAt = Date.now();
  while ((await check()) !== expected) {
    if (Date.now() - startedAt > 2_000) throw new Error(`still not ${expected} after 2 s`);
    await sleep(5);
  }
  return Date.now() - startedAt;
}
