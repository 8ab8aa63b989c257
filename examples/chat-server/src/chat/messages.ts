import { randomUUID } from 'node:crypto';
import type { Paginator } from '@switchboard/pagination';
import type { Rbac } from '@switchboard/rbac';
import { type Outbox, uuidv7 } from '@switchboard/tx';
import { parseInput } from '@switchboard/validation';
import type { AuditAdminAccess } from './admin-audit.ts';
import type { ChatDb } from './db.ts';
import { notFound } from './errors.ts';
import type { ChatEvents } from './events.ts';
import { editMessageInput, idInput, sendMessageBody, sendMessageChatId, sendMessageInput, seqInput } from './inputs.ts';
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
 * The {@link Message} of a `messages` row, built by PostgreSQL: the event a statement enqueues
 * and the answer it returns are then one value. Must agree with {@link toMessage} (tested).
 */
const messageJson = (row: string) => `jsonb_build_object(
    'id', ${row}.id, 'chatId', ${row}.chat_id, 'seq', ${row}.seq,
    'content', CASE WHEN ${row}.deleted_at IS NULL THEN ${row}.content ELSE '' END,
    'senderId', ${row}.sender_id,
    'createdAt', to_char(${row}.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'editedAt', to_char(${row}.edited_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'editedById', ${row}.edited_by, 'deleted', ${row}.deleted_at IS NOT NULL)`;

const UNIQUE_VIOLATION = '23505';

/**
 * Messages. Every write is ONE statement (atomic without BEGIN/COMMIT, one round trip): the
 * change, and its outbox event that the relay publishes after the commit. `send` takes the next
 * sequence number under the chat row's lock (so numbers are in commit order, without holes),
 * inserts the message and moves the sender's read mark to it. A participant's unread count is
 * `chats.last_seq - last_read_seq`: no per-message write for the others.
 */
export function createMessages(deps: {
  db: ChatDb;
  rbac: Rbac;
  paginator: Paginator;
  outbox: Outbox;
  /** Called after a write committed an outbox event: wakes this process's relay. */
  onEnqueued?: () => void;
  /** Where a moved read mark is told to the user's `userEvents` streams (`UNREAD_CHANGED`). */
  events?: Pick<ChatEvents, 'publishUserEvent'>;
  /** Records a platform admin's action in a chat they are not in (admin-audit.ts). */
  auditAdminAccess: AuditAdminAccess;
}) {
  const { db, rbac, paginator, outbox, onEnqueued = () => {}, events, auditAdminAccess } = deps;
  const pool = db.primary;
  /**
   * The outbox event of the `changed` row, its id in parameter `idParameter` (and its headers, the
   * trace's `traceparent` from `outbox.withTraceHeaders`, in `headersParameter` when given).
   */
  const enqueue = (topic: string, idParameter: string, headersParameter?: string) =>
    outbox.enqueueSql({
      from: 'changed',
      id: `${idParameter}::uuid`,
      topic: `'${topic}'`,
      key: 'changed.chat_id::text',
      payload: 'changed.message',
      ...(headersParameter ? { headers: `${headersParameter}::jsonb` } : {}),
    });

  // $1 id, $2 chat, $3 sender, $4 content, $5 client id (or null), $6 event id, $7 event headers
  // (the trace's traceparent when telemetry is on, else {}). A repeated client
  // id takes no sequence number: the existing message is answered instead (second branch, which
  // reads the snapshot from before this statement, so never the row the first branch inserts).
  const sendSql = `
WITH chat AS (
  UPDATE chats SET last_seq = last_seq + 1
   WHERE id = $2
     AND ($5::text IS NULL OR NOT EXISTS (
           SELECT 1 FROM messages WHERE chat_id = $2 AND sender_id = $3 AND client_id = $5))
  RETURNING last_seq
), inserted AS (
  INSERT INTO messages (id, chat_id, seq, sender_id, content, client_id)
  SELECT $1, $2, chat.last_seq, $3, $4, $5 FROM chat
  RETURNING *
), changed AS (
  SELECT inserted.chat_id, ${messageJson('inserted')} AS message FROM inserted
), sender AS (
  -- The sender has read up to their own message; everyone else's unread count is the distance
  -- from their read mark to the chat's last_seq, so nobody else's row is written.
  UPDATE participants SET last_read_seq = GREATEST(last_read_seq, inserted.seq)
    FROM inserted
   WHERE participants.chat_id = $2 AND participants.user_id = $3
), event AS (${enqueue(MESSAGE_ADDED, '$6', '$7')})
SELECT message FROM changed
UNION ALL
SELECT ${messageJson('earlier')} FROM messages earlier
 WHERE $5::text IS NOT NULL AND earlier.chat_id = $2 AND earlier.sender_id = $3 AND earlier.client_id = $5`;
  const sentEarlierSql = `SELECT ${messageJson('m')} AS message FROM messages m
 WHERE m.chat_id = $1 AND m.sender_id = $2 AND m.client_id = $3`;

  /**
   * `update` sets columns of the message `$1` (more parameters from `$4` on; `$2` is the event id,
   * `$3` its headers, as for a send).
   */
  const changeSql = (update: string) => `
WITH updated AS (
  UPDATE messages SET ${update} WHERE id = $1 AND deleted_at IS NULL RETURNING *
), changed AS (
  SELECT updated.chat_id, ${messageJson('updated')} AS message FROM updated
), event AS (${enqueue(MESSAGE_UPDATED, '$2', '$3')})
SELECT message FROM changed`;
  const editSql = changeSql('content = $4, edited_at = now(), edited_by = $5');
  const deleteSql = changeSql('deleted_at = now()');

  /** The message's cursor in its chat's connection: a client can resume from it with `after`. */
  const withCursor = (message: Message): Message => ({
    ...message,
    cursor: paginator.postgresCursor([String(message.seq)], messagesSource(message.chatId), {
      queryKey: messagesQueryKey(message.chatId),
    }),
  });

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
    sql: string,
    params: unknown[],
  ): Promise<Message> => {
    const row = await loadReadable(userId, rawId);
    if (row.deleted_at) throw notFound('message');
    await rbac.assert(userId, permission, { scope: chatScope(row.chat_id), resource: { senderId: row.sender_id } });
    await auditAdminAccess(userId, row.chat_id, permission === 'message:edit' ? 'message.edit' : 'message.delete', {
      messageId: row.id,
    });
    // As a send: an edit or delete reaches the other instances' subscribers in the same trace.
    const { rows } = await outbox.withTraceHeaders(MESSAGE_UPDATED, (headers) =>
      pool.query<{ message: Message }>(sql, [row.id, uuidv7(), JSON.stringify(headers), ...params]),
    );
    if (!rows[0]) throw notFound('message');
    onEnqueued();
    await db.afterWrite(userId);
    return rows[0].message;
  };

  return {
    /**
     * Sends a message; with a `clientId` already used by this sender in this chat, answers the
     * message sent then (whatever its state now) and sends nothing.
     */
    async send(userId: string, raw: unknown): Promise<Message> {
      const chatId = sendMessageChatId(raw);
      // Without a valid id, the whole input is parsed to report every problem at once.
      const input =
        chatId === null ? parseInput(sendMessageInput, raw) : { chatId, ...parseInput(sendMessageBody, raw) };
      await rbac.assert(userId, 'message:send', { scope: chatScope(input.chatId) });
      const clientId = input.clientId ?? null;
      let message: Message | undefined;
      try {
        // With telemetry, the statement runs in the enqueue's span and stores its traceparent with
        // the event: the relay's publish and every delivery link back to this request.
        const { rows } = await outbox.withTraceHeaders(MESSAGE_ADDED, (headers) =>
          pool.query<{ message: Message }>({
            // Named: each connection parses and plans it once (planning this statement cost more
            // of PostgreSQL's CPU than running it).
            name: 'chat-send-message',
            text: sendSql,
            values: [randomUUID(), input.chatId, userId, input.content, clientId, uuidv7(), JSON.stringify(headers)],
          }),
        );
        message = rows[0]?.message;
        if (message) onEnqueued();
      } catch (error) {
        // The same client id sent twice at once: the other send won, answer its message.
        if (clientId === null || (error as { code?: string }).code !== UNIQUE_VIOLATION) throw error;
        const { rows } = await pool.query<{ message: Message }>(sentEarlierSql, [input.chatId, userId, clientId]);
        message = rows[0]?.message;
        if (!message) throw error;
      }
      if (!message) throw notFound('chat');
      await db.afterWrite(userId);
      return withCursor(message);
    },

    edit(userId: string, raw: unknown): Promise<Message> {
      const input = parseInput(editMessageInput, raw);
      return change(userId, input.id, 'message:edit', editSql, [input.content, userId]);
    },

    async delete(userId: string, rawId: unknown): Promise<boolean> {
      await change(userId, rawId, 'message:delete', deleteSql, []);
      return true;
    },

    /** Oldest to newest; deleted messages keep their place (shown as deleted). */
    async list(userId: string, rawChatId: unknown, args: Record<string, unknown>) {
      const chatId = parseInput(idInput, rawChatId);
      if (!(await rbac.can(userId, 'message:read', { scope: chatScope(chatId) }))) throw notFound('chat');
      await auditAdminAccess(userId, chatId, 'messages.read');
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

    /**
     * Only a member has a read mark (an invitation is NOT_FOUND). When it moved, the user's
     * `userEvents` streams hear UNREAD_CHANGED (count 0), so their other devices update.
     */
    /**
     * Moves the user's read mark to `upToSeq` (the last message they have seen), or to the
     * chat's last message without it; never backwards, never past the last message. Answers the
     * messages still unread after the mark.
     */
    async markRead(
      userId: string,
      rawChatId: unknown,
      rawUpToSeq?: unknown,
    ): Promise<{ chatId: string; count: number }> {
      const chatId = parseInput(idInput, rawChatId);
      const upToSeq = rawUpToSeq === undefined || rawUpToSeq === null ? null : parseInput(seqInput, rawUpToSeq);
      // `prior` reads the row as it was when the statement began: whether the mark moved.
      const { rows } = await pool.query(
        `WITH prior AS (
           SELECT last_read_seq FROM participants WHERE chat_id = $1 AND user_id = $2 AND status = 'active'
         )
         UPDATE participants p
            SET last_read_seq = GREATEST(p.last_read_seq, LEAST(c.last_seq, COALESCE($3::bigint, c.last_seq)))
           FROM chats c, prior
          WHERE c.id = p.chat_id AND p.chat_id = $1 AND p.user_id = $2 AND p.status = 'active'
         RETURNING p.last_read_seq, prior.last_read_seq AS prior_seq, c.last_seq`,
        [chatId, userId, upToSeq],
      );
      const row = rows[0];
      if (!row) throw notFound('chat');
      await db.afterWrite(userId);
      const count = Math.max(0, Number(row.last_seq) - Number(row.last_read_seq));
      if (Number(row.last_read_seq) > Number(row.prior_seq)) {
        events?.publishUserEvent({
          userId,
          type: 'UNREAD_CHANGED',
          unreadCount: { chatId, count },
          readSeq: Number(row.last_read_seq),
        });
      }
      return { chatId, count };
    },

    async unreadCounts(userId: string): Promise<{ chatId: string; count: number }[]> {
      const { rows } = await db.readerFor(userId).query(
        `SELECT p.chat_id, c.last_seq - p.last_read_seq AS unread
             FROM participants p JOIN chats c ON c.id = p.chat_id
            WHERE p.user_id = $1 AND p.status = 'active' AND c.last_seq > p.last_read_seq
            ORDER BY p.chat_id`,
        [userId],
      );
      return rows.map((row) => ({ chatId: row.chat_id, count: Number(row.unread) }));
    },
  };
}

export type Messages = ReturnType<typeof createMessages>;
