import { describe, expect, test } from 'vitest';
import { createRbac, ForbiddenError, InvalidPolicyError, type RoleDefinitions } from '../src/index.ts';

// A policy with deny rules: `muted` keeps everything a member may do but sending; `banned` refuses
// every message action; `no-deletes` refuses deleting anything, through inheritance too.
const roles: RoleDefinitions = {
  reader: { permissions: ['message:read', 'chat:read'] },
  member: { inherits: ['reader'], permissions: ['message:send', 'message:react'] },
  muted: { inherits: ['member'], deny: ['message:send'] },
  banned: { deny: ['message:*'] },
  'no-deletes': { deny: ['*:delete'] },
  moderator: { inherits: ['member', 'no-deletes'], permissions: ['message:delete', 'message:pin'] },
  admin: { permissions: ['*'] },
  author: {
    permissions: [{ permission: 'message:edit', when: ({ userId, resource }) => resource?.senderId === userId }],
  },
};

describe('deny rules', () => {
  test("a role's own deny beats the allow it inherits", async () => {
    const rbac = await createRbac({ roles });
    await rbac.grant('mia', 'muted', 'chat:1');
    expect(await rbac.can('mia', 'message:read', { scope: 'chat:1' })).toBe(true);
    expect(await rbac.can('mia', 'message:react', { scope: 'chat:1' })).toBe(true);
    expect(await rbac.can('mia', 'message:send', { scope: 'chat:1' })).toBe(false);
    await expect(rbac.assert('mia', 'message:send', { scope: 'chat:1' })).rejects.toBeInstanceOf(ForbiddenError);
  });

  test('a deny inherited from a parent role binds the child, even over its own allow', async () => {
    const rbac = await createRbac({ roles });
    await rbac.grant('mo', 'moderator', 'chat:1');
    expect(await rbac.can('mo', 'message:pin', { scope: 'chat:1' })).toBe(true);
    // moderator allows message:delete itself, and inherits no-deletes' `*:delete` deny: deny wins.
    expect(await rbac.can('mo', 'message:delete', { scope: 'chat:1' })).toBe(false);
  });

  test('a deny through one grant wins over an allow through another, in the scope it applies to', async () => {
    const rbac = await createRbac({ roles });
    await rbac.grant('ada', 'admin');
    await rbac.grant('ada', 'banned', 'chat:1');
    // The global admin allows everything; in chat:1 the banned grant applies too and wins.
    expect(await rbac.can('ada', 'message:send', { scope: 'chat:1' })).toBe(false);
    expect(await rbac.can('ada', 'chat:rename', { scope: 'chat:1' })).toBe(true);
    // Elsewhere the scoped deny does not apply.
    expect(await rbac.can('ada', 'message:send', { scope: 'chat:2' })).toBe(true);
    expect(await rbac.can('ada', 'message:send')).toBe(true);
  });

  test('a global deny applies in every scope and wins over scoped allows', async () => {
    const rbac = await createRbac({ roles });
    await rbac.grant('bob', 'banned');
    await rbac.grant('bob', 'admin', 'chat:1');
    expect(await rbac.can('bob', 'message:read', { scope: 'chat:1' })).toBe(false);
    expect(await rbac.can('bob', 'chat:read', { scope: 'chat:1' })).toBe(true);
    expect(await rbac.can('bob', 'message:read')).toBe(false);
  });

  test('a deny wins over a conditional allow whose condition holds', async () => {
    const rbac = await createRbac({
      roles: { ...roles, 'frozen-author': { inherits: ['author'], deny: ['message:edit'] } },
    });
    await rbac.grant('al', 'author', 'chat:1');
    await rbac.grant('fay', 'frozen-author', 'chat:1');
    const own = (userId: string) => ({ scope: 'chat:1', resource: { senderId: userId } });
    expect(await rbac.can('al', 'message:edit', own('al'))).toBe(true);
    expect(await rbac.can('fay', 'message:edit', own('fay'))).toBe(false);
  });

  test('every way of checking applies denies: canMany, forUser, and the answers agree', async () => {
    const rbac = await createRbac({ roles });
    await rbac.grant('mia', 'muted', 'chat:1');
    const checks = [
      { permission: 'message:send', scope: 'chat:1' },
      { permission: 'message:read', scope: 'chat:1' },
    ];
    expect(await rbac.canMany('mia', checks)).toEqual([false, true]);
    const mia = await rbac.forUser('mia');
    expect(checks.map((check) => mia.can(check.permission, check))).toEqual([false, true]);
    expect(() => mia.assert('message:send', { scope: 'chat:1' })).toThrow(ForbiddenError);
  });

  test('explain names the denying grant, the role that holds the deny, and its pattern', async () => {
    const rbac = await createRbac({ roles });
    await rbac.grant('mo', 'moderator', 'chat:1');
    await rbac.grant('ada', 'admin');
    await rbac.grant('ada', 'banned', 'chat:1');
    const inherited = await rbac.explain('mo', 'message:delete', { scope: 'chat:1' });
    expect(inherited).toMatchObject({
      allowed: false,
      denied: { grant: { role: 'moderator', scope: 'chat:1' }, role: 'no-deletes', pattern: '*:delete' },
    });
    expect(inherited.reason).toBe(
      'role "moderator" granted in chat:1 inherits "no-deletes", which denies *:delete (a deny wins over every allow)',
    );
    const scoped = await rbac.explain('ada', 'message:send', { scope: 'chat:1' });
    expect(scoped.denied).toEqual({ grant: { role: 'banned', scope: 'chat:1' }, role: 'banned', pattern: 'message:*' });
    expect(scoped).not.toHaveProperty('grant');
    // Where no deny applies, the allow is explained as before.
    expect(await rbac.explain('ada', 'message:send', { scope: 'chat:2' })).toMatchObject({
      allowed: true,
      grant: { role: 'admin', scope: null },
      pattern: '*:*',
    });
  });

  test('scopesWith leaves out denied scopes; a global allow with scoped denies is { except }', async () => {
    const rbac = await createRbac({ roles });
    await rbac.grant('kim', 'member', 'chat:1');
    await rbac.grant('kim', 'muted', 'chat:2');
    await rbac.grant('kim', 'member', 'chat:3');
    expect(((await rbac.scopesWith('kim', 'message:send', 'chat')) as string[]).sort()).toEqual(['1', '3']);
    await rbac.grant('ada', 'admin');
    await rbac.grant('ada', 'banned', 'chat:9');
    expect(await rbac.scopesWith('ada', 'message:send', 'chat')).toEqual({ except: ['9'] });
    expect(await rbac.scopesWith('ada', 'chat:rename', 'chat')).toBe('*');
    await rbac.grant('bob', 'banned');
    await rbac.grant('bob', 'admin', 'chat:1');
    expect(await rbac.scopesWith('bob', 'message:read', 'chat')).toEqual([]);
  });

  test('a malformed deny pattern, or deny that is not a list, is refused when the policy compiles', async () => {
    for (const deny of [['message'], ['message:send:now'], ['mess age:send'], [''], [42]]) {
      await expect(createRbac({ roles: { r: { deny: deny as string[] } } })).rejects.toThrow(InvalidPolicyError);
    }
    await expect(createRbac({ roles: { r: { deny: 'message:send' as never } } })).rejects.toThrow(
      /deny must be an array/,
    );
  });
});
