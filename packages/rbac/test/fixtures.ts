import { createMemoryGrantStore, type GrantStore, type RoleDefinitions } from '../src/index.ts';

export interface Message {
  senderId: string;
}

export const roles: RoleDefinitions = {
  reader: { permissions: ['message:read', 'chat:read'] },
  member: {
    inherits: ['reader'],
    permissions: [
      'message:send',
      {
        permission: 'message:edit',
        when: ({ userId, resource }) => (resource as Message | undefined)?.senderId === userId,
      },
    ],
  },
  moderator: { inherits: ['member'], permissions: ['message:delete'] },
  admin: { inherits: ['moderator'], permissions: ['chat:*'] },
  auditor: { permissions: ['*:read'] },
  root: { permissions: ['*'] },
};

/** A memory grant store that counts its loads. */
export const counting = (): GrantStore & { loads: number } => {
  const inner = createMemoryGrantStore();
  const store = {
    ...inner,
    loads: 0,
    grantsOf: (userId: string) => {
      store.loads++;
      return inner.grantsOf(userId);
    },
  };
  return store;
};
