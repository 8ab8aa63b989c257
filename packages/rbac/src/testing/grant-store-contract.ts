import { describe, expect, test } from 'vitest';
import type { AuditRecord } from '../audit.ts';
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
 * `grantsOf` returns belongs to the caller; every change is in the audit trail with its actor,
 * paged newest first; grants are counted and revoked by role. Also checks the store behind
 * `createRbac`.
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

    // What the audit trail holds of a record, without the store's id and time.
    const entry = ({ id: _id, at: _at, ...rest }: AuditRecord) => rest;

    test('every grant and revoke is recorded with its actor and request; a no-op records nothing', async () => {
      const store = options.store();
      const kim = user('kim');
      const before = new Date(Date.now() - 1_000);
      await store.grant(kim, 'member', 'chat:1', { actor: 'alice', requestId: 'req-1' });
      await store.grant(kim, 'member', 'chat:1', { actor: 'alice' }); // already held
      await store.grant(kim, 'admin', null);
      await store.revoke(kim, 'admin', null, { actor: 'bob' });
      await store.revoke(kim, 'admin', null, { actor: 'bob' }); // already gone
      const { records, hasNextPage } = await store.auditLog({ userId: kim });
      expect(records.map(entry)).toEqual([
        { action: 'revoke', role: 'admin', userId: kim, actor: 'bob' },
        { action: 'grant', role: 'admin', userId: kim, actor: null },
        { action: 'grant', role: 'member', userId: kim, scope: 'chat:1', actor: 'alice', requestId: 'req-1' },
      ]);
      expect(hasNextPage).toBe(false);
      for (const record of records) {
        expect(record.at).toBeInstanceOf(Date);
        expect(record.at.getTime()).toBeGreaterThanOrEqual(before.getTime());
      }
    });

    test('revokeScope records one revoke per grant removed', async () => {
      const store = options.store();
      const lee = user('lee');
      await store.grant(lee, 'member', 'chat:7');
      await store.grant(lee, 'moderator', 'chat:7');
      await store.revokeScope(lee, 'chat:7', { actor: 'owner-1' });
      const { records } = await store.auditLog({ userId: lee, scope: 'chat:7' });
      expect(
        records
          .filter((record) => record.action === 'revoke')
          .map((record) => [record.role, record.actor])
          .sort(),
      ).toEqual([
        ['member', 'owner-1'],
        ['moderator', 'owner-1'],
      ]);
    });

    test('auditLog pages newest first with cursors, filters combine, and a bad query is refused', async () => {
      const store = options.store();
      const max = user('max');
      for (let i = 0; i < 5; i++) await store.grant(max, 'member', `chat:${i}`, { actor: `a${i}` });
      const first = await store.auditLog({ userId: max, first: 2 });
      expect(first.records.map((record) => record.actor)).toEqual(['a4', 'a3']);
      expect(first.hasNextPage).toBe(true);
      const second = await store.auditLog({ userId: max, first: 2, after: first.endCursor as string });
      expect(second.records.map((record) => record.actor)).toEqual(['a2', 'a1']);
      const third = await store.auditLog({ userId: max, first: 2, after: second.endCursor as string });
      expect(third.records.map((record) => record.actor)).toEqual(['a0']);
      expect(third.hasNextPage).toBe(false);
      expect((await store.auditLog({ userId: max, scope: 'chat:3' })).records.map((record) => record.actor)).toEqual([
        'a3',
      ]);
      expect((await store.auditLog({ userId: max, since: new Date(Date.now() + 60_000) })).records).toEqual([]);
      expect((await store.auditLog({ userId: user('none') })).endCursor).toBeNull();
      // The last: a well-formed cursor past a bigint (a tampered one), refused before any query.
      const huge = Buffer.from('a9999999999999999999').toString('base64url');
      for (const bad of [
        { first: 0 },
        { first: 501 },
        { first: 1.5 },
        { after: 'not-a-cursor' },
        { userId: '' },
        { after: huge },
      ]) {
        await expect(store.auditLog({ userId: max, ...bad })).rejects.toMatchObject({ code: 'INVALID_AUDIT_QUERY' });
      }
    });

    test('auditLog keeps numeric order however many records there are (id 9 before id 10, never as text)', async () => {
      const store = options.store();
      const quinn = user('quinn');
      // Enough records for the ids to reach a new digit in a fresh log (a store ordering ids as text sorts 9 after 10).
      for (let i = 0; i < 12; i++) await store.grant(quinn, 'member', `chat:${i}`);
      const { records } = await store.auditLog({ userId: quinn });
      expect(records.map((record) => record.scope)).toEqual(Array.from({ length: 12 }, (_, i) => `chat:${11 - i}`));
    });

    test('countGrants and revokeRole find a role wherever it is granted; revokeRole records each grant', async () => {
      const store = options.store();
      const role = `runtime-${user('role')}`;
      const [nia, oto] = [user('nia'), user('oto')];
      expect(await store.countGrants(role)).toBe(0);
      await store.grant(nia, role, 'chat:1');
      await store.grant(nia, role, null);
      await store.grant(oto, role, 'chat:2');
      await store.grant(oto, 'member', 'chat:2');
      expect(await store.countGrants(role)).toBe(3);
      expect((await store.revokeRole(role, { actor: 'admin-1' })).sort()).toEqual([nia, oto].sort());
      expect(await store.countGrants(role)).toBe(0);
      expect(await store.grantsOf(oto)).toEqual([{ role: 'member', scope: 'chat:2' }]);
      const revoked = (await store.auditLog({ role })).records.filter((record) => record.action === 'revoke');
      expect(revoked).toHaveLength(3);
      expect(new Set(revoked.map((record) => record.actor))).toEqual(new Set(['admin-1']));
    });

    test('recordAudit keeps an application’s own action', async () => {
      const store = options.store();
      const pia = user('pia');
      await store.recordAudit({
        action: 'chat.read',
        role: 'platform-admin',
        actor: pia,
        scope: 'chat:9',
        requestId: 'r',
      });
      expect((await store.auditLog({ role: 'platform-admin', scope: 'chat:9' })).records.map(entry)).toContainEqual({
        action: 'chat.read',
        role: 'platform-admin',
        actor: pia,
        scope: 'chat:9',
        requestId: 'r',
      });
      await expect(store.recordAudit({ action: '', role: 'x', actor: null })).rejects.toThrow(TypeError);
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
