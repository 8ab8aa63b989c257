import { logContext } from '@switchboard/logging';
import type { AuditContext, Rbac } from '@switchboard/rbac';
import { chatScope, PLATFORM_ADMIN } from './roles.ts';

/** What a platform admin only reads (audited in chats they are not a participant of). */
const READ_ACTIONS = ['chat.read', 'messages.read', 'message.read', 'messages.subscribe', 'typing.subscribe'] as const;
const READS = new Set<string>(READ_ACTIONS);

/** What a platform admin did in a chat (the audit record's `action`). */
export type AdminAction =
  | (typeof READ_ACTIONS)[number]
  | 'chat.audit.read'
  | 'message.edit'
  | 'message.delete'
  | 'participant.remove'
  | 'chat.delete';

/** What the action was about: the participant removed, the message edited or deleted. */
export interface AdminActionTarget {
  userId?: string;
  messageId?: string;
}

/**
 * Called once a check passed, before the action: for a platform admin, the action goes into the
 * rbac audit trail (actor, chat, target, the request's id) before anything is done or answered;
 * a failed write fails the action, so an operator's access to a chat is never unrecorded (an
 * action that then fails, e.g. removing the owner, stays recorded as attempted).
 *
 * What is recorded: every read of a chat they are not a participant of (the rule), and
 * every moderation wherever they are (their chat role may not allow it: a plain member deleting
 * someone else's message can only be doing it as an admin). For everyone else it is one look at
 * the cached grants.
 *
 * `requestId` is the id every log line of the request carries: the client's `X-Request-Id` when
 * it sent one (see the logging README), so it correlates, it does not authenticate.
 */
export function createAdminAudit(rbac: Rbac) {
  return async function auditAdminAccess(
    userId: string,
    chatId: string,
    action: AdminAction,
    target: AdminActionTarget = {},
  ): Promise<void> {
    const global = await rbac.rolesOf(userId);
    if (!global.includes(PLATFORM_ADMIN)) return;
    const scope = chatScope(chatId);
    // rolesOf(scope) adds the roles held in the chat to the global ones: any added, a participant.
    if (READS.has(action) && (await rbac.rolesOf(userId, scope)).length > global.length) return;
    await rbac.recordAudit({
      action,
      role: PLATFORM_ADMIN,
      scope,
      ...(target.userId === undefined ? {} : { userId: target.userId }),
      ...(target.messageId === undefined ? {} : { after: { messageId: target.messageId } }),
      ...auditContext(userId),
    });
  };
}

export type AuditAdminAccess = ReturnType<typeof createAdminAudit>;

/**
 * Who did something, and in which request (the id every log line of it carries): what the
 * server records with each grant, revoke and platform-admin action.
 */
export function auditContext(actorId: string): AuditContext & { actor: string } {
  const requestId = logContext()?.requestId;
  return requestId === undefined ? { actor: actorId } : { actor: actorId, requestId };
}
