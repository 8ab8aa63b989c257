import { describe, expect, test } from 'vitest';
import { createRbac } from '../rbac.ts';
import type { Grant, GrantStore } from '../types.ts';

/** Options of {@link grantStoreContract}. */
export interface GrantStoreContractOptions {
  /** Shown in the suite name. */
  name: string;
  /**
   * The store under test. Called once per test; the tests use user ids of their own, so the
   * stores may share their data (one database, one table).
   */
  store: () => GrantStore;
}

let users = 0;

// Grants come back in no particular order (a SQL store answers in whatever order its index gives).
const sorted = (grants: Grant[]) =>
  [...grants].sort((a, b) => `${a.scope ?? ''}\u0000${a.role}`.localeCompare(`${b.scope ?? ''}\u0000${b.role}`));

/**
 * The grant store contract as a vitest suite: grants are kept per user, role and scope (global
 * and scoped grants apart), granting is idempotent, revoking removes exactly one grant, and what
 * `grantsOf` returns belongs to the caller. Also checks the store behind `createRbac`.
 *
 * @example
 * grantStoreContract({ name: 'my store', store: () => createMyGrantStore(db) });
 */
export function grantStoreContract(options: GrantStoreContractOptions): void {
  const user = (label: string) => `contract-${label}-${process.pid}-${Date.now().toString(36)}-${++users}`;

  describe(`grant store contract: ${options.name}`, () => {
    test('a user never granted anything has no grants', async () => {
      expect(await options.store().grantsOf(user('nobody'))).toEqual([]);
    });

    test('keeps a global grant and a scoped grant of the same role apart', async () => {
      const store = options.store();
      const alice = user('alice');
      await store.grant(alice, 'admin', null);
      await store.grant(alice, 'admin', 'chat:1');
      await store.grant(alice, 'member', 'chat:2');
      expect(sorted(await store.grantsOf(alice))).toEqual(
        sorted([
          { role: 'admin', scope: null },
          { role: 'admin', scope: 'chat:1' },
          { role: 'member', scope: 'chat:2' },
        ]),
      );
    });

    test('granting twice keeps one grant', async () => {
      const store = options.store();
      const bob = user('bob');
      await store.grant(bob, 'member', 'chat:1');
      await store.grant(bob, 'member', 'chat:1');
      await store.grant(bob, 'member', null);
      await store.grant(bob, 'member', null);
      expect(sorted(await store.grantsOf(bob))).toEqual(
        sorted([
          { role: 'member', scope: 'chat:1' },
          { role: 'member', scope: null },
        ]),
      );
    });

    test('revoke removes exactly that user, role and scope', async () => {
      const store = options.store();
      const [carol, dave] = [user('carol'), user('dave')];
      for (const who of [carol, dave]) {
        await store.grant(who, 'admin', 'chat:1');
        await store.grant(who, 'admin', 'chat:2');
        await store.grant(who, 'admin', null);
        await store.grant(who, 'member', 'chat:1');
      }
      await store.revoke(carol, 'admin', 'chat:1');
      expect(sorted(await store.grantsOf(carol))).toEqual(
        sorted([
          { role: 'admin', scope: 'chat:2' },
          { role: 'admin', scope: null },
          { role: 'member', scope: 'chat:1' },
        ]),
      );
      await store.revoke(carol, 'admin', null);
      expect(sorted(await store.grantsOf(carol))).toEqual(
        sorted([
          { role: 'admin', scope: 'chat:2' },
          { role: 'member', scope: 'chat:1' },
        ]),
      );
      expect(await store.grantsOf(dave)).toHaveLength(4);
    });

    test('revokeScope removes every role the user holds in that scope, and nothing else', async () => {
      const store = options.store();
      const [hana, ivan] = [user('hana'), user('ivan')];
      for (const who of [hana, ivan]) {
        // A role no code knows of (one defined at runtime) goes too.
        for (const role of ['member', 'admin', 'defined-at-runtime']) await store.grant(who, role, 'chat:1');
        await store.grant(who, 'member', 'chat:10');
        await store.grant(who, 'admin', null);
      }
      await store.revokeScope(hana, 'chat:1');
      expect(sorted(await store.grantsOf(hana))).toEqual(
        sorted([
          { role: 'member', scope: 'chat:10' },
          { role: 'admin', scope: null },
        ]),
      );
      expect(await store.grantsOf(ivan)).toHaveLength(5);
      // Nothing there: no change, no failure.
      await store.revokeScope(hana, 'chat:1');
      await store.revokeScope(user('nobody'), 'chat:1');
      expect(await store.grantsOf(hana)).toHaveLength(2);
    });

    test('revokeScope refuses an empty scope rather than touch global grants', async () => {
      const store = options.store();
      const jo = user('jo');
      await store.grant(jo, 'admin', null);
      await store.grant(jo, 'member', 'chat:1');
      // A SQL store may keep global grants under '': an empty scope must not reach it.
      await expect(store.revokeScope(jo, '')).rejects.toThrow(TypeError);
      expect(sorted(await store.grantsOf(jo))).toEqual(
        sorted([
          { role: 'admin', scope: null },
          { role: 'member', scope: 'chat:1' },
        ]),
      );
    });

    test('revoking a grant that is not there changes nothing and does not fail', async () => {
      const store = options.store();
      const erin = user('erin');
      await store.revoke(erin, 'admin', 'chat:1');
      await store.grant(erin, 'member', 'chat:1');
      await store.revoke(erin, 'member', 'chat:2');
      await store.revoke(erin, 'member', null);
      await store.revoke(erin, 'admin', 'chat:1');
      expect(await store.grantsOf(erin)).toEqual([{ role: 'member', scope: 'chat:1' }]);
    });

    test('what grantsOf returns is the caller’s: changing it does not change the store', async () => {
      const store = options.store();
      const frank = user('frank');
      await store.grant(frank, 'member', 'chat:1');
      const grants = await store.grantsOf(frank);
      (grants[0] as Grant).role = 'admin';
      (grants[0] as Grant).scope = null;
      grants.push({ role: 'owner', scope: null });
      expect(await store.grantsOf(frank)).toEqual([{ role: 'member', scope: 'chat:1' }]);
    });

    test('concurrent grants to one user all land', async () => {
      const store = options.store();
      const gina = user('gina');
      const scopes = Array.from({ length: 20 }, (_, i) => `chat:${i}`);
      await Promise.all(scopes.map((scope) => store.grant(gina, 'member', scope)));
      expect(sorted(await store.grantsOf(gina))).toEqual(sorted(scopes.map((scope) => ({ role: 'member', scope }))));
    });

    test('behind createRbac: scoped and global grants, and revoke', async () => {
      const rbac = await createRbac({
        roles: {
          member: { permissions: ['message:send'] },
          admin: { inherits: ['member'], permissions: ['chat:*'] },
        },
        store: options.store(),
      });
      const [scoped, global] = [user('scoped'), user('global')];
      await rbac.grant(scoped, 'admin', 'chat:A');
      await rbac.grant(global, 'admin');
      expect(await rbac.can(scoped, 'chat:rename', { scope: 'chat:A' })).toBe(true);
      expect(await rbac.can(scoped, 'chat:rename', { scope: 'chat:B' })).toBe(false);
      expect(await rbac.can(global, 'chat:rename', { scope: 'chat:B' })).toBe(true);
      expect(await rbac.rolesOf(scoped, 'chat:A')).toEqual(['admin']);
      await rbac.revoke(scoped, 'admin', 'chat:A');
      expect(await rbac.can(scoped, 'chat:rename', { scope: 'chat:A' })).toBe(false);
      // Removed from a scope: every role there goes at once (the cached grants too).
      await rbac.grant(scoped, 'admin', 'chat:C');
      await rbac.grant(scoped, 'member', 'chat:C');
      expect(await rbac.can(scoped, 'message:send', { scope: 'chat:C' })).toBe(true);
      await rbac.revokeScope(scoped, 'chat:C');
      expect(await rbac.can(scoped, 'message:send', { scope: 'chat:C' })).toBe(false);
      expect(await rbac.rolesOf(scoped, 'chat:C')).toEqual([]);
      await expect(rbac.revokeScope(scoped, '42')).rejects.toThrow(TypeError);
      rbac.close();
    });
  });
}
