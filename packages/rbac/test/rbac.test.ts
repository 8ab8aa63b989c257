import { types } from 'node:util';
import { describe, expect, test, vi } from 'vitest';
import {
  createMemoryGrantStore,
  createRbac,
  ForbiddenError,
  InvalidPolicyError,
  isRbacError,
  RbacError,
} from '../src/index.ts';
import { counting, type Message, roles } from './fixtures.ts';

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

  test('explain: the whole answer, for each way a check is allowed or refused', async () => {
    const rbac = await createRbac({ roles });
    await rbac.grant('alice', 'admin', 'chat:A');
    await rbac.grant('bob', 'member', 'chat:A');
    await rbac.grant('rooty', 'root');
    expect(await rbac.explain('alice', 'message:read', { scope: 'chat:A' })).toEqual({
      allowed: true,
      permission: 'message:read',
      scope: 'chat:A',
      grant: { role: 'admin', scope: 'chat:A' },
      role: 'reader',
      pattern: 'message:read',
      reason: 'role "admin" granted in chat:A inherits "reader", which holds message:read',
    });
    expect(await rbac.explain('rooty', 'invoice:void')).toEqual({
      allowed: true,
      permission: 'invoice:void',
      scope: undefined,
      grant: { role: 'root', scope: null },
      role: 'root',
      pattern: '*:*',
      reason: 'role "root" granted globally holds *:*',
    });
    expect(await rbac.explain('bob', 'message:edit', { scope: 'chat:A', resource: { senderId: 'bob' } })).toMatchObject(
      { allowed: true, role: 'member', pattern: 'message:edit' },
    );
    expect(await rbac.explain('bob', 'message:edit', { scope: 'chat:A', resource: { senderId: 'eve' } })).toEqual({
      allowed: false,
      permission: 'message:edit',
      scope: 'chat:A',
      reason: 'role "member" holds message:edit only under a condition the resource does not meet',
    });
    expect(await rbac.explain('bob', 'chat:rename', { scope: 'chat:A' })).toEqual({
      allowed: false,
      permission: 'chat:rename',
      scope: 'chat:A',
      reason: 'no role granted to the user globally or in chat:A holds chat:rename',
    });
    expect(await rbac.explain('bob', 'message:read', { scope: 'chat:B' })).toEqual({
      allowed: false,
      permission: 'message:read',
      scope: 'chat:B',
      reason: 'the user has no role globally or in chat:B',
    });
    expect((await rbac.explain('nobody', 'message:read')).reason).toBe('the user has no role globally');
  });

  test('assert is can plus a throw: a warm pass hands out one settled promise, a refusal the same error cold or warm', async () => {
    const store = counting();
    const rbac = await createRbac({ roles, store });
    await rbac.grant('bob', 'member', 'chat:A');
    // Cold: the grants are loaded first, then the same answer as warm.
    const cold = await rbac.assert('bob', 'chat:rename', { scope: 'chat:A' }).catch((caught: unknown) => caught);
    expect(store.loads).toBe(1);
    const warm = await rbac.assert('bob', 'chat:rename', { scope: 'chat:A' }).catch((caught: unknown) => caught);
    for (const error of [cold, warm]) {
      expect(error).toBeInstanceOf(ForbiddenError);
      expect(error).toMatchObject({
        name: 'ForbiddenError',
        code: 'FORBIDDEN',
        permission: 'chat:rename',
        scope: 'chat:A',
        message: 'not allowed: chat:rename in chat:A',
      });
    }
    await expect(rbac.assert('bob', 'chat:rename')).rejects.toMatchObject({
      scope: undefined,
      message: 'not allowed: chat:rename',
    });
    // No explanation built and no promise allocated per passing check, as with can.
    const first = rbac.assert('bob', 'message:send', { scope: 'chat:A' });
    expect(rbac.assert('bob', 'message:read', { scope: 'chat:A' })).toBe(first);
    await expect(first).resolves.toBeUndefined();
    expect(store.loads).toBe(1);
    // Conditions are evaluated once per check, against the resource passed.
    const when = vi.fn(
      ({ userId, resource }: { userId: string; resource: Message | undefined }) => resource?.senderId === userId,
    );
    const conditional = await createRbac({
      roles: { author: { permissions: [{ permission: 'message:edit', when }] } },
    });
    await conditional.grant('bob', 'author');
    await expect(conditional.assert('bob', 'message:edit', { resource: { senderId: 'bob' } })).resolves.toBeUndefined();
    await expect(conditional.assert('bob', 'message:edit', { resource: { senderId: 'eve' } })).rejects.toThrow(
      ForbiddenError,
    );
    expect(when).toHaveBeenCalledTimes(2);
    // Bad input and a failing store reject; they are not refusals.
    await expect(rbac.assert('', 'chat:read')).rejects.toThrow(TypeError);
    await expect(rbac.assert('bob', 'chat:*')).rejects.toThrow(TypeError);
    const broken = await createRbac({
      roles,
      store: { ...createMemoryGrantStore(), grantsOf: () => Promise.reject(new Error('store down')) },
    });
    await expect(broken.assert('bob', 'chat:read')).rejects.toThrow('store down');
    for (const instance of [rbac, conditional, broken]) instance.close();
  });

  test('a refusal is a real ForbiddenError: its fields, a native promise rejected with it, a stack that names the caller', async () => {
    const rbac = await createRbac({ roles });
    await rbac.grant('bob', 'member', 'chat:A');
    await rbac.can('bob', 'chat:read', { scope: 'chat:A' }); // warm: the refusals below take the synchronous path
    // Named, so the stack can be searched for it.
    const renameChat = () => rbac.assert('bob', 'chat:rename', { scope: 'chat:A' });
    const pending = renameChat();
    // A native promise (not a thenable), whose rejection waits for the caller's handler.
    expect(pending).toBeInstanceOf(Promise);
    const warm = await pending.catch((caught: unknown) => caught);
    const bob = await rbac.forUser('bob');
    const deleteChat = () => bob.assert('chat:delete', { scope: 'chat:A' });
    let snapshot: unknown;
    try {
      deleteChat();
    } catch (caught) {
      snapshot = caught;
    }
    const uncached = await createRbac({ roles, cache: false });
    await uncached.grant('bob', 'member', 'chat:A');
    const cold = await uncached.assert('bob', 'chat:rename', { scope: 'chat:A' }).catch((caught: unknown) => caught);
    const ownFields = (error: object) => {
      const { stack: _stack, ...rest } = Object.getOwnPropertyDescriptors(error);
      return { names: Object.getOwnPropertyNames(error), descriptors: rest };
    };
    for (const [refusal, caller, permission] of [
      [warm, 'renameChat', 'chat:rename'],
      [snapshot, 'deleteChat', 'chat:delete'],
      [cold, undefined, 'chat:rename'],
    ] as const) {
      // Made by the Error constructor, not an object with Error.prototype in its chain.
      expect(types.isNativeError(refusal)).toBe(true);
      expect(Object.getPrototypeOf(refusal)).toBe(ForbiddenError.prototype);
      expect(refusal).toBeInstanceOf(RbacError);
      expect(refusal).toBeInstanceOf(Error);
      expect(isRbacError(refusal)).toBe(true);
      // The same own properties, with the same attributes and in the same order, as `new`.
      expect(ownFields(refusal as object)).toEqual(ownFields(new ForbiddenError(permission, 'chat:A')));
      const message = `not allowed: ${permission} in chat:A`;
      expect(JSON.stringify(refusal)).toBe(
        `{"code":"FORBIDDEN","name":"ForbiddenError","permission":"${permission}","scope":"chat:A"}`,
      );
      expect(Object.getOwnPropertyDescriptor(refusal, 'message')).toMatchObject({ value: message, enumerable: false });
      expect('then' in (refusal as object)).toBe(false);
      const lines = ((refusal as Error).stack ?? '').split('\n');
      expect(lines[0]).toBe(`ForbiddenError: ${message}`);
      if (caller === undefined) continue;
      // Our own frame (`assert`), then the caller's, in this file.
      expect(lines[1], (refusal as Error).stack).toContain('assert');
      expect(lines[2], (refusal as Error).stack).toContain(caller);
      expect(lines[2]).toContain('rbac.test.ts');
    }
    // The stack holds as many frames as Error.stackTraceLimit asks for, like any error's.
    const limit = Error.stackTraceLimit;
    try {
      Error.stackTraceLimit = 1;
      const short = (await renameChat().catch((caught: unknown) => caught)) as Error;
      expect(short.stack?.split('\n')).toHaveLength(2);
    } finally {
      Error.stackTraceLimit = limit;
    }
    rbac.close();
    uncached.close();
  });

  test('the error classes: code, name and message from the constructors', () => {
    const denied = new ForbiddenError('chat:rename', undefined);
    expect(denied).toMatchObject({ code: 'FORBIDDEN', name: 'ForbiddenError', message: 'not allowed: chat:rename' });
    expect(denied.scope).toBeUndefined();
    expect(new ForbiddenError('chat:rename', 'chat:A', 'no renaming here').message).toBe('no renaming here');
    expect(new InvalidPolicyError('bad')).toMatchObject({ code: 'INVALID_POLICY', name: 'InvalidPolicyError' });
    expect(new RbacError('FORBIDDEN', 'base')).toMatchObject({ code: 'FORBIDDEN', name: 'RbacError', message: 'base' });
    // A subclass of ours is named after itself.
    class ChatForbidden extends ForbiddenError {}
    expect(new ChatForbidden('chat:rename', 'chat:A').name).toBe('ChatForbidden');
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
          const asserted = await rbac.assert(user, permission, context).then(
            () => undefined,
            (error: unknown) => error,
          );
          if (explained) expect(asserted, `assert: ${label}`).toBeUndefined();
          else
            expect(asserted, `assert: ${label}`).toMatchObject({ code: 'FORBIDDEN', permission, scope: context.scope });
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

describe('grant and revoke misuse', () => {
  test('a scope without its type prefix is a TypeError (it would match no check)', async () => {
    const rbac = await createRbac({ roles: { member: { permissions: ['message:send'] } } });
    for (const scope of ['42', ':42', 'chat:', 'chat 42:x', '']) {
      await expect(rbac.grant('alice', 'member', scope)).rejects.toThrow(TypeError);
      await expect(rbac.revoke('alice', 'member', scope)).rejects.toThrow(TypeError);
    }
    await expect(rbac.grant('alice', 'member', '42')).rejects.toThrow(
      'grant: scope must be "type:id" (e.g. "chat:42"), got "42"',
    );
    await rbac.grant('alice', 'member', 'chat:42');
    expect(await rbac.can('alice', 'message:send', { scope: 'chat:42' })).toBe(true);
    expect(await rbac.can('alice', 'message:send', { scope: 'chat:43' })).toBe(false);
  });
});
