import { randomUUID } from 'node:crypto';
import type { Cache } from '@switchboard/cache';
import type { Paginator } from '@switchboard/pagination';
import type { Rbac } from '@switchboard/rbac';
import { createPostgresGrantStore } from '@switchboard/rbac/postgres';
import { type Transaction, withTransaction } from '@switchboard/tx';
import { parseInput } from '@switchboard/validation';
import type { ChatDb } from './db.ts';
import { AppError, notFound } from './errors.ts';
import { createChatInput, idInput } from './inputs.ts';
import { CHAT_ROLES, type ChatRole, chatScope } from './roles.ts';

export interface Chat {
  id: string;
  kind: 'direct' | 'group';
  title: string | null;
  ownerId: string;
  createdAt: string;
}

export interface Participant {
  chatId: string;
  userId: string;
  role: ChatRole;
  lastReadSeq: number;
}

interface ChatRow {
  id: string;
  kind: 'direct' | 'group';
  title: string | null;
  owner_id: string;
  created_at: Date | string;
}

const toChat = (row: ChatRow): Chat => ({
  id: row.id,
  kind: row.kind,
  title: row.title,
  ownerId: row.owner_id,
  createdAt: new Date(row.created_at).toISOString(),
});

const FOREIGN_KEY_VIOLATION = '23503';

const onlyTheOwner = () => new AppError('FORBIDDEN', "only the chat's owner makes, changes or removes an admin");

/**
 * Chats and who is in them. Membership lives twice, on purpose: the `participants` rows (what
 * lists and unread counts read) and the rbac grants in scope `chat:<id>` (what every check
 * reads). Both change in one transaction: the grant store is bound to it, and the rbac cache
 * forgets the user only after the commit.
 */
export function createChats(deps: { db: ChatDb; rbac: Rbac; paginator: Paginator; cache: Cache }) {
  const { db, rbac, paginator, cache } = deps;
  const pool = db.primary;

  const grantsIn = (tx: Transaction) => createPostgresGrantStore({ pool: tx });
  // After the commit: the members' cached grants (rbac) and the chat's cached participant list
  // go, here and, through their buses, on every other instance.
  const invalidateAfterCommit = (tx: Transaction, chatId: string, userIds: readonly string[]) =>
    tx.afterCommit(async () => {
      await Promise.all(userIds.map((userId) => rbac.invalidate(userId)));
      await cache.deleteByTag(chatScope(chatId));
    });

  // Membership changes of one user in one chat take turns (an advisory lock: a row lock cannot
  // cover a participant that does not exist yet), and replace every role the user holds in the
  // chat, so two concurrent changes can never leave a second grant behind.
  const lockMembership = (tx: Transaction, chatId: string, userId: string) =>
    tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`membership:${chatId}:${userId}`]);
  const revokeEveryRole = async (tx: Transaction, userId: string, scope: string) => {
    const grants = grantsIn(tx);
    for (const role of CHAT_ROLES) await grants.revoke(userId, role, scope);
  };

  // From the primary: the list is cached for everyone, so it must not come from a replica that
  // has not replayed the latest change yet.
  const loadParticipants = async (chatId: string): Promise<Participant[]> => {
    const { rows } = await pool.query(
      'SELECT chat_id, user_id, role, last_read_seq FROM participants WHERE chat_id = $1 ORDER BY joined_at, user_id',
      [chatId],
    );
    return rows.map((row) => ({
      chatId: row.chat_id,
      userId: row.user_id,
      role: row.role,
      lastReadSeq: Number(row.last_read_seq),
    }));
  };

  const get = async (userId: string, rawId: unknown): Promise<Chat> => {
    const id = parseInput(idInput, rawId);
    // Not a participant and not there answer alike: ids of other people's chats stay secret.
    if (!(await rbac.can(userId, 'chat:read', { scope: chatScope(id) }))) throw notFound('chat');
    const { rows } = await db.readerFor(userId).query<ChatRow>('SELECT * FROM chats WHERE id = $1', [id]);
    if (!rows[0]) throw notFound('chat');
    return toChat(rows[0]);
  };

  return {
    get,

    async create(userId: string, raw: unknown): Promise<Chat> {
      const input = parseInput(createChatInput, raw);
      const others = input.participantIds.filter((id) => id !== userId);
      const kind = others.length === 1 && !input.title ? 'direct' : 'group';
      if (kind === 'group' && !input.title) throw new AppError('BAD_USER_INPUT', 'a group chat needs a title');
      const id = randomUUID();
      const chat = await withTransaction(pool, async (tx) => {
        const { rows } = await tx.query<ChatRow>(
          'INSERT INTO chats (id, kind, title, owner_id) VALUES ($1, $2, $3, $4) RETURNING *',
          [id, kind, input.title ?? null, userId],
        );
        try {
          await tx.query(
            `INSERT INTO participants (chat_id, user_id, role)
             SELECT $1, member, CASE WHEN member = $2 THEN 'owner' ELSE 'member' END
               FROM unnest($3::uuid[]) AS member`,
            [id, userId, [userId, ...others]],
          );
        } catch (error) {
          if ((error as { code?: string }).code === FOREIGN_KEY_VIOLATION) {
            throw new AppError('BAD_USER_INPUT', 'participantIds names a user that does not exist');
          }
          throw error;
        }
        const grants = grantsIn(tx);
        await grants.grant(userId, 'owner', chatScope(id));
        for (const other of others) await grants.grant(other, 'member', chatScope(id));
        invalidateAfterCommit(tx, id, [userId, ...others]);
        return toChat(rows[0] as ChatRow);
      });
      await db.afterWrite(userId);
      return chat;
    },

    /** The chats the user may read, newest first: filtered in SQL by the user's rbac scopes. */
    async list(userId: string, args: Record<string, unknown>) {
      const scopes = await rbac.scopesWith(userId, 'chat:read', 'chat');
      const where = scopes === '*' ? 'true' : 'id = ANY($1::uuid[])';
      const params = scopes === '*' ? [] : [scopes];
      const page = await paginator.fromPostgres<ChatRow>(
        db.readerFor(userId),
        { table: 'chats', where, params },
        args,
        {
          queryKey: `chats:${userId}`,
        },
      );
      return { ...page, edges: page.edges.map((edge) => ({ cursor: edge.cursor, node: toChat(edge.node) })) };
    },

    /** Cached per chat (tagged with its scope), dropped on every membership change. */
    participants(chatId: string): Promise<Participant[]> {
      return cache.getOrSet(`participants:${chatId}`, () => loadParticipants(chatId), {
        tags: [chatScope(chatId)],
      });
    },

    async unreadCount(userId: string, chatId: string): Promise<number> {
      const { rows } = await db.readerFor(userId).query(
        `SELECT c.last_seq - p.last_read_seq AS unread
             FROM participants p JOIN chats c ON c.id = p.chat_id
            WHERE p.chat_id = $1 AND p.user_id = $2`,
        [chatId, userId],
      );
      return Math.max(0, Number(rows[0]?.unread ?? 0));
    },

    async addParticipant(
      actorId: string,
      rawChatId: unknown,
      rawUserId: unknown,
      role: ChatRole,
    ): Promise<Participant> {
      const chatId = parseInput(idInput, rawChatId);
      const userId = parseInput(idInput, rawUserId);
      const scope = chatScope(chatId);
      await rbac.assert(actorId, 'participant:add', { scope });
      if (role === 'owner') throw new AppError('BAD_USER_INPUT', 'a chat has one owner');
      // Admins are the owner's to make and unmake: an admin adds members and moderators, but
      // neither promotes to admin nor changes a co-admin's role.
      const managesAdmins = await rbac.can(actorId, 'participant:promote', { scope });
      if (role === 'admin' && !managesAdmins) throw onlyTheOwner();
      const chat = await get(actorId, chatId);
      if (chat.kind === 'direct') throw new AppError('BAD_USER_INPUT', 'a direct chat has exactly two participants');
      const participant = await withTransaction(pool, async (tx) => {
        await lockMembership(tx, chatId, userId);
        const current = await tx.query('SELECT role FROM participants WHERE chat_id = $1 AND user_id = $2 FOR UPDATE', [
          chatId,
          userId,
        ]);
        if (current.rows[0]?.role === 'owner') throw new AppError('BAD_USER_INPUT', "the owner's role cannot change");
        if (current.rows[0]?.role === 'admin' && role !== 'admin' && !managesAdmins) throw onlyTheOwner();
        try {
          await tx.query(
            // A newcomer has nothing unread: the history before joining is not news to them.
            `INSERT INTO participants (chat_id, user_id, role, last_read_seq)
             SELECT $1, $2, $3, last_seq FROM chats WHERE id = $1
             ON CONFLICT (chat_id, user_id) DO UPDATE SET role = excluded.role`,
            [chatId, userId, role],
          );
        } catch (error) {
          if ((error as { code?: string }).code === FOREIGN_KEY_VIOLATION) throw notFound('user');
          throw error;
        }
        await revokeEveryRole(tx, userId, scope);
        await grantsIn(tx).grant(userId, role, scope);
        invalidateAfterCommit(tx, chatId, [userId]);
        const { rows } = await tx.query('SELECT last_read_seq FROM participants WHERE chat_id = $1 AND user_id = $2', [
          chatId,
          userId,
        ]);
        return { chatId, userId, role, lastReadSeq: Number(rows[0]?.last_read_seq ?? 0) };
      });
      await db.afterWrite(actorId);
      return participant;
    },

    /**
     * Admins remove members and moderators, the owner removes admins too; anyone may leave; the
     * owner stays (delete the chat instead).
     */
    async removeParticipant(actorId: string, rawChatId: unknown, rawUserId: unknown): Promise<boolean> {
      const chatId = parseInput(idInput, rawChatId);
      const userId = parseInput(idInput, rawUserId);
      await get(actorId, chatId);
      const scope = chatScope(chatId);
      const leaving = userId === actorId;
      if (!leaving) await rbac.assert(actorId, 'participant:remove', { scope });
      const managesAdmins = leaving || (await rbac.can(actorId, 'participant:promote', { scope }));
      await withTransaction(pool, async (tx) => {
        await lockMembership(tx, chatId, userId);
        // The role is read under the membership lock: a promotion committed meanwhile counts.
        const target = await tx.query('SELECT role FROM participants WHERE chat_id = $1 AND user_id = $2 FOR UPDATE', [
          chatId,
          userId,
        ]);
        if (target.rows[0]?.role === 'admin' && !managesAdmins) throw onlyTheOwner();
        const { rows } = await tx.query(
          'DELETE FROM participants WHERE chat_id = $1 AND user_id = $2 AND role <> $3 RETURNING role',
          [chatId, userId, 'owner'],
        );
        if (!rows[0]) {
          const owner = await tx.query('SELECT 1 FROM participants WHERE chat_id = $1 AND user_id = $2', [
            chatId,
            userId,
          ]);
          if (owner.rows[0]) throw new AppError('BAD_USER_INPUT', 'the owner cannot leave; delete the chat instead');
          throw notFound('participant');
        }
        await revokeEveryRole(tx, userId, scope);
        invalidateAfterCommit(tx, chatId, [userId]);
      });
      await db.afterWrite(actorId);
      return true;
    },

    async delete(actorId: string, rawChatId: unknown): Promise<boolean> {
      const chatId = parseInput(idInput, rawChatId);
      await get(actorId, chatId);
      const scope = chatScope(chatId);
      await rbac.assert(actorId, 'chat:delete', { scope });
      await withTransaction(pool, async (tx) => {
        const { rows } = await tx.query('SELECT user_id, role FROM participants WHERE chat_id = $1', [chatId]);
        for (const row of rows) await revokeEveryRole(tx, row.user_id, scope);
        await tx.query('DELETE FROM chats WHERE id = $1', [chatId]);
        invalidateAfterCommit(
          tx,
          chatId,
          rows.map((row) => row.user_id),
        );
      });
      await db.afterWrite(actorId);
      return true;
    },
  };
}

export type Chats = ReturnType<typeof createChats>;
