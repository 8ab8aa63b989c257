import { logContext } from '@switchboard/logging';
import type { Rbac } from '@switchboard/rbac';
import { chatScope, PLATFORM_ADMIN } from './roles.ts';

/** What a platform admin did in a chat they are not a participant of (the audit record's `action`). */
export type AdminAction =
  | 'chat.read'
  | 'chat.audit.read'
  | 'messages.read'
  | 'message.read'
  | 'message.edit'
  | 'message.delete'
  | 'messages.subscribe'
  | 'participant.remove'
  | 'chat.delete';

/**
 * Called after a check passed: when the user got there through their global platform-admin
 * grant alone (no role in the chat), the action goes into the rbac audit trail, with the
 * request's id, before the answer does. A failed write fails the action: an operator's access
 * to a chat is never unrecorded. For everyone else it is one look at the cached grants.
 */
export function createAdminAudit(rbac: Rbac) {
  return async function auditAdminAccess(userId: string, chatId: string, action: AdminAction): Promise<void> {
    const global = await rbac.rolesOf(userId);
    if (!global.includes(PLATFORM_ADMIN)) return;
    const scope = chatScope(chatId);
    // rolesOf(scope) adds the roles held in the chat to the global ones: none added, not a participant.
    if ((await rbac.rolesOf(userId, scope)).length > global.length) return;
    const requestId = logContext()?.requestId;
    await rbac.recordAudit({
      action,
      role: PLATFORM_ADMIN,
      actor: userId,
      scope,
      ...(requestId === undefined ? {} : { requestId }),
    });
  };
}

export type AuditAdminAccess = ReturnType<typeof createAdminAudit>;
