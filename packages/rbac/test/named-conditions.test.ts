import { describe, expect, test } from 'vitest';
import { type ConditionContext, createRbac, InvalidPolicyError } from '../src/index.ts';

interface Message {
  senderId: string;
}

const conditions = {
  ownMessage: ({ userId, resource }: ConditionContext<Message>) => resource?.senderId === userId,
};

describe('conditions registered by name', () => {
  test('a permission that names a condition holds only when it does, like one with its own function', async () => {
    const rbac = await createRbac({
      conditions,
      roles: {
        member: { permissions: ['message:send', { permission: 'message:edit', condition: 'ownMessage' }] },
        inline: { permissions: [{ permission: 'message:edit', when: conditions.ownMessage }] },
      },
    });
    await rbac.grant('al', 'member', 'chat:1');
    await rbac.grant('in', 'inline', 'chat:1');
    for (const user of ['al', 'in']) {
      expect(await rbac.can(user, 'message:edit', { scope: 'chat:1', resource: { senderId: user } })).toBe(true);
      expect(await rbac.can(user, 'message:edit', { scope: 'chat:1', resource: { senderId: 'other' } })).toBe(false);
    }
    const why = await rbac.explain('al', 'message:edit', { scope: 'chat:1', resource: { senderId: 'other' } });
    expect(why.reason).toBe('role "member" holds message:edit only under a condition the resource does not meet');
    rbac.close();
  });

  test('an unknown name fails createRbac and lists the registered ones; inherited names from Object do not count', async () => {
    const policy = (condition: string) => ({ r: { permissions: [{ permission: 'message:edit', condition }] } });
    await expect(createRbac({ conditions, roles: policy('ownMesage') })).rejects.toThrow(
      new InvalidPolicyError('role "r": unknown condition "ownMesage" (registered: ownMessage)'),
    );
    await expect(createRbac({ roles: policy('ownMessage') })).rejects.toThrow(/registered: none/);
    for (const name of ['toString', '__proto__', 'constructor', 'hasOwnProperty']) {
      await expect(createRbac({ conditions, roles: policy(name) })).rejects.toThrow(InvalidPolicyError);
    }
  });

  test('a permission with both a function and a name, or with neither, is refused; so is a condition that is not a function', async () => {
    await expect(
      createRbac({
        conditions,
        roles: {
          r: { permissions: [{ permission: 'message:edit', condition: 'ownMessage', when: () => true } as never] },
        },
      }),
    ).rejects.toThrow(/not both/);
    await expect(
      createRbac({ roles: { r: { permissions: [{ permission: 'message:edit' } as never] } } }),
    ).rejects.toThrow(/needs a "when" function or a "condition" name/);
    await expect(
      createRbac({ conditions: { ownMessage: 'yes' as never }, roles: { r: { permissions: ['message:send'] } } }),
    ).rejects.toThrow(new InvalidPolicyError('condition "ownMessage" must be a function'));
  });
});
