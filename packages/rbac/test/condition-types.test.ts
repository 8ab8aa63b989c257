import { describe, expect, expectTypeOf, test } from 'vitest';
import { type ConditionContext, createRbac } from '../src/index.ts';
import type { Message } from './fixtures.ts';

// The root typecheck (`npm run typecheck`) compiles this file: the conditions below are the two
// ways a README writes one, and both must compile without a cast.
describe('conditions: the type of `when`', () => {
  test('an unannotated condition reads the resource it is given', async () => {
    const rbac = await createRbac({
      roles: {
        member: {
          permissions: [{ permission: 'message:edit', when: ({ userId, resource }) => resource?.senderId === userId }],
        },
      },
    });
    await rbac.grant('ada', 'member');
    expect(await rbac.can('ada', 'message:edit', { resource: { senderId: 'ada' } })).toBe(true);
    expect(await rbac.can('ada', 'message:edit', { resource: { senderId: 'bob' } })).toBe(false);
    expect(await rbac.can('ada', 'message:edit')).toBe(false);
  });

  test('a condition annotated with its resource type is accepted and sees that type', async () => {
    const ownMessage = ({ userId, resource }: ConditionContext<Message>) => {
      expectTypeOf(resource).toEqualTypeOf<Message | undefined>();
      return resource?.senderId === userId;
    };
    const rbac = await createRbac({
      roles: { member: { permissions: [{ permission: 'message:edit', when: ownMessage }] } },
    });
    await rbac.grant('ada', 'member');
    expect(await rbac.can('ada', 'message:edit', { resource: { senderId: 'ada' } satisfies Message })).toBe(true);
    expect(await rbac.can('ada', 'message:edit', { resource: { senderId: 'bob' } satisfies Message })).toBe(false);
  });
});
