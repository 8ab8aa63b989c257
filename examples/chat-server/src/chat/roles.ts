import type { RoleDefinitions } from '@switchboard/rbac';

/** A message as conditions see it: who sent it. */
interface MessageResource {
  senderId: string;
}

const ownMessage = ({ userId, resource }: { userId: string; resource?: unknown }) =>
  (resource as MessageResource | undefined)?.senderId === userId;

/**
 * Roles inside one chat (granted in scope `chat:<id>`): every participant is a member;
 * moderators act on anyone's messages; admins manage members and moderators; the owner also
 * makes, changes and removes admins (`participant:promote`, checked in chats.ts) and deletes the chat.
 */
export const chatRoles = {
  member: {
    permissions: [
      'chat:read',
      'message:read',
      'message:send',
      'typing:send',
      { permission: 'message:edit', when: ownMessage },
      { permission: 'message:delete', when: ownMessage },
    ],
  },
  // Moderators edit and delete anyone's messages; an edit is shown with its editor (editedBy),
  // so nobody's words can be silently changed.
  moderator: { inherits: ['member'], permissions: ['message:edit', 'message:delete'] },
  admin: { inherits: ['moderator'], permissions: ['participant:add', 'participant:remove'] },
  owner: { inherits: ['admin'], permissions: ['participant:promote', 'chat:delete'] },
} satisfies RoleDefinitions;

export type ChatRole = keyof typeof chatRoles;

export const chatScope = (chatId: string) => `chat:${chatId}`;
