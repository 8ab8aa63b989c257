import { randomUUID } from 'node:crypto';
import type { Paginator } from '@switchboard/pagination';
import type { Rbac } from '@switchboard/rbac';
import { type Outbox, withTransaction } from '@switchboard/tx';
import { parseInput } from '@switchboard/validation';
import type { ChatDb } from './db.ts';
import { notFound } from './errors.ts';
import { editMessageInput, idInput, sendMessageInput } from './inputs.ts';
import { chatScope } from './roles.ts';

export interface Message {
  id: string;
  chatId: string;
  seq: number;
  content: string;
  senderId: string;
  createdAt: string;
  editedAt: string | null;
  /** Who last edited it (the sender, or a moderator). */
  editedById: string | null;
  deleted: boolean;
  /** The message's cursor in its chat's connection, when known. */
  cursor?: string;
}

export interface MessageRow {
  id: string;
  chat_id: string;
  seq: string | number;
  content: string;
  sender_id: string;
  created_at: Date | string;
  edited_at: Date | string | null;
  edited_by?: string | null;
  deleted_at: Date | string | null;
}

export const toMessage = (row: MessageRow): Message => ({
  id: row.id,
  chatId: row.chat_id,
  seq: Number(row.seq),
  content: row.deleted_at ? '' : row.content,
  senderId: row.sender_id,
  createdAt: new Date(row.created_at).toISOString(),
  editedAt: row.edited_at ? new Date(row.edited_at).toISOString() : null,
  editedById: row.edited_by ?? null,
  deleted: row.deleted_at !== null,
});

/** Outbox topics: what the relay publishes to subscribers. */
export const MESSAGE_ADDED = 'chat.message.added';
export const MESSAGE_UPDATED = 'chat.message.updated';

/** Where a chat's messages come from, for the connection and for replay: one binding for both. */
export const messagesSource = (chatId: string) => ({
  table: 'messages',
  where: 'chat_id = $1',
  params: [chatId],
});
export const messagesQueryKey = (chatId: string) => `messages:${chatId}`;

/**
 * Messages. `send` is one transaction: the chat row's lock hands out the next sequence number
 * (so numbers are in commit order), the message, every other participant's unread count in one
 * statement, and an outbox event that the relay publishes after the commit.
 */
export function createMessages(deps: { db: ChatDb; rbac: Rbac; paginator: Paginator; outbox: Outbox }) {
  const { db, rbac, paginator, outbox } = deps;
  const pool = db.primary;

  const load = async (userId: string, rawId: unknown): Promise<MessageRow> => {
    const id = parseInput(idInput, rawId);
    const { rows } = await db.readerFor(userId).query<MessageRow>('SELECT * FROM messages WHERE id = $1', [id]);
    if (!rows[0]) throw notFound('message');
    return rows[0];
  };

  /** A message the user may not even read is "not found", not "forbidden". */
  const loadReadable = async (userId: string, rawId: unknown): Promise<MessageRow> => {
    const row = await load(userId, rawId);
    if (!(await rbac.can(userId, 'message:read', { scope: chatScope(row.chat_id) }))) throw notFound('message');
    return row;
  };

  const change = async (
    userId: string,
    rawId: unknown,
    permission: 'message:edit' | 'message:delete',
    update: string,
    params: unknown[],
  ): Promise<Message> => {
    const row = await loadReadable(userId, rawId);
    if (row.deleted_at) throw notFound('message');
    await rbac.assert(userId, permission, { scope: chatScope(row.chat_id), resource: { senderId: row.sender_id } });
    const changed = await withTransaction(pool, async (tx) => {
      const { rows } = await tx.query<MessageRow>(
        `UPDATE messages SET ${update} WHERE id = $1 AND deleted_at IS NULL RETURNING *`,
        [row.id, ...params],
      );
      if (!rows[0]) throw notFound('message');
      const message = toMessage(rows[0]);
      await outbox.enqueue(tx, { topic: MESSAGE_UPDATED, key: message.chatId, payload: message });
      return message;
    });
    await db.afterWrite(userId);
    return changed;
  };

  return {
    async send(userId: string, raw: unknown): Promise<Message> {
      const input = parseInput(sendMessageInput, raw);
      await rbac.assert(userId, 'message:send', { scope: chatScope(input.chatId) });
      const sent = await withTransaction(pool, async (tx) => {
        const chat = await tx.query('UPDATE chats SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq', [
          input.chatId,
        ]);
        if (!chat.rows[0]) throw notFound('chat');
        const { rows } = await tx.query<MessageRow>(
          'INSERT INTO messages (id, chat_id, seq, sender_id, content) VALUES ($1, $2, $3, $4, $5) RETURNING *',
          [randomUUID(), input.chatId, chat.rows[0].last_seq, userId, input.content],
        );
        // One statement, no read-modify-write: concurrent senders cannot lose an increment.
        await tx.query('UPDATE participants SET unread_count = unread_count + 1 WHERE chat_id = $1 AND user_id <> $2', [
          input.chatId,
          userId,
        ]);
        const message = toMessage(rows[0] as MessageRow);
        await outbox.enqueue(tx, { topic: MESSAGE_ADDED, key: message.chatId, payload: message });
        return message;
      });
      await db.afterWrite(userId);
      return sent;
    },

    edit(userId: string, raw: unknown): Promise<Message> {
      const input = parseInput(editMessageInput, raw);
      return change(userId, input.id, 'message:edit', 'content = $2, edited_at = now(), edited_by = $3', [
        input.content,
        userId,
      ]);
    },

    async delete(userId: string, rawId: unknown): Promise<boolean> {
      await change(userId, rawId, 'message:delete', 'deleted_at = now()', []);
      return true;
    },

    /** Oldest to newest; deleted messages keep their place (shown as deleted). */
    async list(userId: string, rawChatId: unknown, args: Record<string, unknown>) {
      const chatId = parseInput(idInput, rawChatId);
      if (!(await rbac.can(userId, 'message:read', { scope: chatScope(chatId) }))) throw notFound('chat');
      const page = await paginator.fromPostgres<MessageRow>(db.readerFor(userId), messagesSource(chatId), args, {
        queryKey: messagesQueryKey(chatId),
      });
      return {
        ...page,
        edges: page.edges.map((edge) => ({
          cursor: edge.cursor,
          node: { ...toMessage(edge.node), cursor: edge.cursor },
        })),
      };
    },

    async markRead(userId: string, rawChatId: unknown): Promise<{ chatId: string; count: number }> {
      const chatId = parseInput(idInput, rawChatId);
      const { rows } = await pool.query(
        `UPDATE participants p SET unread_count = 0, last_read_seq = c.last_seq
           FROM chats c WHERE c.id = p.chat_id AND p.chat_id = $1 AND p.user_id = $2
         RETURNING p.unread_count`,
        [chatId, userId],
      );
      if (!rows[0]) throw notFound('chat');
      await db.afterWrite(userId);
      return { chatId, count: 0 };
    },

    async unreadCounts(userId: string): Promise<{ chatId: string; count: number }[]> {
      const { rows } = await db
        .readerFor(userId)
        .query(
          'SELECT chat_id, unread_count FROM participants WHERE user_id = $1 AND unread_count > 0 ORDER BY chat_id',
          [userId],
        );
      return rows.map((row) => ({ chatId: row.chat_id, count: Number(row.unread_count) }));
    },
  };
}

export type Messages = ReturnType<typeof createMessages>;
