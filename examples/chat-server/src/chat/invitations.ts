import type { Cache } from '@switchboard/cache';
import type { Rbac } from '@switchboard/rbac';
import { type Outbox, type Transaction, withTransaction } from '@switchboard/tx';
import { parseInput } from '@switchboard/validation';
import { type Chat, type ChatRow, toChat } from './chats.ts';
import type { ChatDb } from './db.ts';
import { notFound } from './errors.ts';
import { idInput } from './inputs.ts';
import { createMembership } from './membership.ts';
import { type ChatRole, chatScope } from './roles.ts';
import type { Invitation, UserEventPayload } from './user-events.ts';

/** The most invitations `list` answers: the newest. */
const MAX_LISTED = 100;

/**
 * Pending invitations, as their invitee handles them. An invited user holds no role in the chat
 * (so `chat`, `chats`, `messages`, the subscriptions and unread counts all treat them as a
 * stranger) and sees only what the invitation shows: the chat's id, kind, title, owner and
 * creation time (a preview: no participants, no messages, no unread count).
 */
export function createInvitations(deps: {
  db: ChatDb;
  rbac: Rbac;
  cache: Cache;
  outbox: Outbox;
  /** Called after a change that wrote outbox events committed: wakes this process's relay. */
  onEnqueued?: () => void;
}) {
  const { db } = deps;
  const pool = db.primary;
  const membership = createMembership(deps);

  /** The invitation's row, locked, or NOT_FOUND (none, or already accepted, declined or withdrawn). */
  const take = async (tx: Transaction, userId: string, chatId: string) => {
    await membership.lock(tx, chatId, userId);
    const { rows } = await tx.query<ChatRow & { role: ChatRole; invited_by: string | null }>(
      `SELECT c.*, p.role, p.invited_by
         FROM participants p JOIN chats c ON c.id = p.chat_id
        WHERE p.chat_id = $1 AND p.user_id = $2 AND p.status = 'invited'
          FOR UPDATE OF p`,
      [chatId, userId],
    );
    if (!rows[0]) throw notFound('invitation');
    return { chat: toChat(rows[0]), role: rows[0].role, inviterId: rows[0].invited_by };
  };

  /** The inviter learns that their invitation was answered (if they are still in the chat: checked on delivery). */
  const toInviter = (inviterId: string | null, userId: string, chat: Chat): UserEventPayload[] =>
    inviterId && inviterId !== userId ? [{ userId: inviterId, type: 'CHAT_UPDATED', chat }] : [];

  return {
    /** The user's pending invitations, newest first (at most 100). */
    async list(userId: string): Promise<Invitation[]> {
      const { rows } = await db
        .readerFor(userId)
        .query<ChatRow & { role: ChatRole; invited_by: string; invited_at: Date }>(
          `SELECT c.*, p.role, p.invited_by, p.joined_at AS invited_at
           FROM participants p JOIN chats c ON c.id = p.chat_id
          WHERE p.user_id = $1 AND p.status = 'invited'
          ORDER BY p.joined_at DESC, p.chat_id DESC
          LIMIT ${MAX_LISTED}`,
          [userId],
        );
      return rows.map((row) => ({
        chat: { ...toChat(row), preview: true },
        invitedById: row.invited_by,
        role: row.role,
        createdAt: new Date(row.invited_at).toISOString(),
      }));
    },

    /**
     * Becomes a member with the invitation's role (the rbac grant is written now, in the same
     * transaction), with nothing unread: the history before joining is not news.
     */
    async accept(userId: string, rawChatId: unknown): Promise<Chat> {
      const chatId = parseInput(idInput, rawChatId);
      const scope = chatScope(chatId);
      const chat = await withTransaction(pool, async (tx) => {
        const { chat, role, inviterId } = await take(tx, userId, chatId);
        const { rows } = await tx.query<{ last_read_seq: string }>(
          `UPDATE participants p SET status = 'active', joined_at = now(), last_read_seq = c.last_seq
             FROM chats c
            WHERE c.id = p.chat_id AND p.chat_id = $1 AND p.user_id = $2
           RETURNING p.last_read_seq`,
          [chatId, userId],
        );
        await tx.query('DELETE FROM former_participants WHERE chat_id = $1 AND user_id = $2', [chatId, userId]);
        await membership.revokeEveryRole(tx, userId, scope, userId);
        await membership.grant(tx, userId, role, scope, userId);
        await membership.notify(tx, [
          { userId, type: 'ADDED_TO_CHAT', chat, readSeq: Number(rows[0]?.last_read_seq ?? 0) },
          ...toInviter(inviterId, userId, chat),
        ]);
        membership.invalidateAfterCommit(tx, chatId, [userId]);
        return chat;
      });
      await db.afterWrite(userId);
      return chat;
    },

    /** The invitation goes; so does any way back other than a new invitation. */
    async decline(userId: string, rawChatId: unknown): Promise<boolean> {
      const chatId = parseInput(idInput, rawChatId);
      await withTransaction(pool, async (tx) => {
        const { chat, inviterId } = await take(tx, userId, chatId);
        await tx.query("DELETE FROM participants WHERE chat_id = $1 AND user_id = $2 AND status = 'invited'", [
          chatId,
          userId,
        ]);
        await membership.recordDeparture(tx, chatId, userId);
        await membership.notify(tx, [
          { userId, type: 'REMOVED_FROM_CHAT', chat },
          ...toInviter(inviterId, userId, chat),
        ]);
        membership.invalidateAfterCommit(tx, chatId, []);
      });
      await db.afterWrite(userId);
      return true;
    },
  };
}

export type Invitations = ReturnType<typeof createInvitations>;
