import type { Conditions, RoleDefinitions } from '@switchboard/rbac';

/** A message as conditions see it: who sent it. */
interface MessageResource {
  senderId: string;
}

/**
 * Conditions the stored roles refer to by name (`{ permission: 'message:edit', condition:
 * 'ownMessage' }`): code, registered with rbac at start-up; a policy kept as data cannot hold a
 * function.
 */
export const conditions = {
  ownMessage: ({ userId, resource }) => (resource as MessageResource | undefined)?.senderId === userId,
} satisfies Conditions;

/**
 * Roles inside one chat, granted in scope `chat:<id>`. Their permissions live in the rbac
 * policy store (migration 0007_chat_roles_in_policy_store.sql writes the defaults; an operator
 * may change them at runtime, and every instance follows within a second through the Redis bus;
 * later default changes ship as new migrations): every participant
 * is a member; moderators act on anyone's messages; admins manage members and moderators; the
 * owner also makes, changes and removes admins (`participant:promote`, checked in chats.ts),
 * reads the chat's audit trail and deletes the chat.
 */
export type ChatRole = 'member' | 'moderator' | 'admin' | 'owner';

/** The global role of the operators (`npm run admin -- grant <username>`). */
export const PLATFORM_ADMIN = 'platform-admin';

/**
 * Roles in code, read-only at runtime: the platform admin reads, moderates and deletes in any
 * chat (granted globally). Every such action on a chat they are not a participant of is audited
 * (see admin-audit.ts); they cannot send there, nor add anyone.
 */
export const codeRoles = {
  [PLATFORM_ADMIN]: {
    permissions: [
      'chat:read',
      'message:read',
      'message:edit',
      'message:delete',
      'participant:remove',
      'chat:delete',
      'chat:audit',
    ],
  },
} satisfies RoleDefinitions;

export const chatScope = (chatId: string) => `chat:${chatId}`;
