import { strictEqual } from 'node:assert/strict';
import { createMemoryGrantStore, createRbac } from '@switchboard/rbac';

export async function check(): Promise<void> {
  const rbac = await createRbac({
    roles: {
      member: { permissions: ['message:send'] },
      admin: { inherits: ['member'], permissions: ['chat:*'] },
    },
    store: createMemoryGrantStore(),
  });
  await rbac.grant('u1', 'admin', 'chat:42');
  strictEqual(await rbac.can('u1', 'chat:rename', { scope: 'chat:42' }), true);
  strictEqual(await rbac.can('u1', 'chat:rename', { scope: 'chat:43' }), false);
  strictEqual(await rbac.can('u2', 'message:send', { scope: 'chat:42' }), false);
  rbac.close();
}
