import { randomUUID } from 'node:crypto';
import type { Cache } from '@switchboard/cache';
import type { Paginator } from '@switchboard/pagination';
import { auditCursor, type Rbac } from '@switchboard/rbac';
import { type Outbox, type Transaction, withTransaction } from '@switchboard/tx';
import { parseInput } from '@switchboard/validation';
import type { AuditAdminAccess } from './admin-audit.ts';
import { consentTowards } from './consent.ts';
import type { ChatDb } from './db.ts';
import { AppError, notFound } from './errors.ts';
import { createChatInput, idInput } from './inputs.ts';
import { createMembership } from './membership.ts';
import { type ChatRole, chatScope } from './roles.ts';
import type { UserEventPayload } from './user-events.ts';

export interface Chat {
  id: string;
  kind: 'direct' | 'group';
  title: string | null;
  ownerId: string;
  createdAt: string;
  /**
   * Seen from outside (an invitation, a chat you were removed from): its participants and your
   * unread count stay hidden (empty and 0). Unset for a chat read by a member.
   */
  preview?: boolean;
  /**
   * Delivered with a membership event: its participants are read from the primary, not the
   * cache (another instance's invalidation may still be on its way).
   */
  fresh?: boolean;
}

/** `active`: a member. `invited`: a pending invitation (no role granted, nothing of the chat visible). */
export type ParticipantStatus = 'active' | 'invited';

export interface Participant {
  chatId: string;
  userId: string;
  /** For an invited participant: the role accepting gives. */
  role: ChatRole;
  status: ParticipantStatus;
  lastReadSeq: number;
}

export interface ChatRow {
  id: string;
  kind: 'direct' | 'group';
  title: string | null;
  owner_id: string;
  created_at: Date | string;
}

export const toChat = (row: ChatRow): Chat => ({
  id: row.id,
  kind: row.kind,
  title: row.title,
  ownerId: row.owner_id,
  createdAt: new Date(row.created_at).toISOString(),
});

const FOREIGN_KEY_VIOLATION = '23503';

const onlyTheOwner = () => new AppError('FORBIDDEN', "only the chat's owner makes, changes or removes an admin");
/**
 * createChat's answer for a participant id it cannot use: a user that does not exist, and one
 * who blocked the creator, alike.
 */
const unknownParticipant = () => new AppError('BAD_USER_INPUT', 'participantIds names a user that does not exist');

/**
 * Chats and who is in them (see {@link createMembership} for how membership is kept). Nobody is
 * put in a chat against their will: a user who blocked the actor is answered as an unknown user;
 * a group puts users who require invitations, and anyone who left it before, in as INVITED
 * (invitations.ts takes it from there).
 */
export function createChats(deps: {
  db: ChatDb;
  rbac: Rbac;
  paginator: Paginator;
  cache: Cache;
  outbox: Outbox;
  /** Called after a change that wrote outbox events committed: wakes this process's relay. */
  onEnqueued?: () => void;
  /** Records a platform admin's action in a chat they are not in (admin-audit.ts). */
  auditAdminAccess: AuditAdminAccess;
}) {
  const { db, rbac, paginator, cache, auditAdminAccess } = deps;
  const pool = db.primary;
  const membership = createMembership(deps);

  // From the primary: the list is cached for everyone, so it must not come from a replica that
  // has not replayed the latest change yet.
  const loadParticipants = async (chatId: string): Promise<Participant[]> => {
    const { rows } = await pool.query(
      `SELECT chat_id, user_id, role, status, last_read_seq FROM participants WHERE chat_id = $1
        ORDER BY joined_at, user_id`,
      [chatId],
    );
    return rows.map((row) => ({
      chatId: row.chat_id,
      userId: row.user_id,
      role: row.role,
      status: row.status,
      lastReadSeq: Number(row.last_read_seq),
    }));
  };

  /** The chat, if the user may read it (not audited: the callers audit what they do with it). */
  const get = async (userId: string, rawId: unknown): Promise<Chat> => {
    const id = parseInput(idInput, rawId);
    // Not a participant and not there answer alike: ids of other people's chats stay secret.
    if (!(await rbac.can(userId, 'chat:read', { scope: chatScope(id) }))) throw notFound('chat');
    const { rows } = await db.readerFor(userId).query<ChatRow>('SELECT * FROM chats WHERE id = $1', [id]);
    if (!rows[0]) throw notFound('chat');
    return toChat(rows[0]);
  };

  /** A newcomer to a group: a member at once, or invited (their settings, or they left it before). */
  const addNewcomer = async (
    tx: Transaction,
    actorId: string,
    chat: Chat,
    userId: string,
    role: ChatRole,
    invited: boolean,
  ): Promise<Participant> => {
    const scope = chatScope(chat.id);
    let inserted: { last_read_seq: string; joined_at: Date } | undefined;
    try {
      const { rows } = await tx.query<{ last_read_seq: string; joined_at: Date }>(
        // A newcomer has nothing unread: the history before joining is not news to them.
        `INSERT INTO participants (chat_id, user_id, role, last_read_seq, status, invited_by)
         SELECT $1, $2, $3, last_seq, $4, $5 FROM chats WHERE id = $1
         RETURNING last_read_seq, joined_at`,
        [chat.id, userId, role, invited ? 'invited' : 'active', invited ? actorId : null],
      );
      inserted = rows[0];
    } catch (error) {
      if ((error as { code?: string }).code === FOREIGN_KEY_VIOLATION) throw notFound('user');
      throw error;
    }
    if (!inserted) throw notFound('chat');
    const lastReadSeq = Number(inserted.last_read_seq);
    if (invited) {
      const createdAt = new Date(inserted.joined_at).toISOString();
      await membership.notify(tx, [
        { userId, type: 'INVITED', chat, invitation: { chat, invitedById: actorId, role, createdAt } },
      ]);
    } else {
      await membership.revokeEveryRole(tx, userId, scope, actorId);
      await membership.grant(tx, userId, role, scope, actorId);
      await membership.notify(tx, [{ userId, type: 'ADDED_TO_CHAT', chat, readSeq: lastReadSeq }]);
    }
    membership.invalidateAfterCommit(tx, chat.id, [userId]);
    return { chatId: chat.id, userId, role, status: invited ? 'invited' : 'active', lastReadSeq };
  };

  return {
    /** The chat, if the user may read it; a platform admin's read of a chat they are not in is audited. */
    async get(userId: string, rawId: unknown): Promise<Chat> {
      const chat = await get(userId, rawId);
      await auditAdminAccess(userId, chat.id, 'chat.read');
      return chat;
    },

    /**
     * A direct chat (one other participant, no title) or a group. In a group, the others who
     * require invitations are INVITED; the others are members at once. Anyone who blocked the
     * creator fails the whole creation exactly as an unknown id does.
     */
    async create(userId: string, raw: unknown): Promise<Chat> {
      const input = parseInput(createChatInput, raw);
      const others = input.participantIds.filter((id) => id !== userId);
      const kind = others.length === 1 && !input.title ? 'direct' : 'group';
      if (kind === 'group' && !input.title) throw new AppError('BAD_USER_INPUT', 'a group chat needs a title');
      const id = randomUUID();
      const chat = await withTransaction(pool, async (tx) => {
        const consent = await consentTowards(tx, userId, null, others);
        if (others.some((other) => consent.get(other)?.blocksActor)) throw unknownParticipant();
        const invited = kind === 'group' ? others.filter((other) => consent.get(other)?.requiresInvitation) : [];
        const members = [userId, ...others.filter((other) => !invited.includes(other))];
        const { rows } = await tx.query<ChatRow>(
          'INSERT INTO chats (id, kind, title, owner_id) VALUES ($1, $2, $3, $4) RETURNING *',
          [id, kind, input.title ?? null, userId],
        );
        try {
          await tx.query(
            `INSERT INTO participants (chat_id, user_id, role, status, invited_by)
             SELECT $1, member, CASE WHEN member = $2 THEN 'owner' ELSE 'member' END,
                    CASE WHEN member = ANY($4::uuid[]) THEN 'invited' ELSE 'active' END,
                    CASE WHEN member = ANY($4::uuid[]) THEN $2::uuid END
               FROM unnest($3::uuid[]) AS member`,
            [id, userId, [userId, ...others], invited],
          );
        } catch (error) {
          if ((error as { code?: string }).code === FOREIGN_KEY_VIOLATION) throw unknownParticipant();
          throw error;
        }
        await membership.grant(tx, userId, 'owner', chatScope(id), userId);
        for (const member of members.slice(1)) await membership.grant(tx, member, 'member', chatScope(id), userId);
        membership.invalidateAfterCommit(tx, id, members);
        const created = toChat(rows[0] as ChatRow);
        const events: UserEventPayload[] = [
          ...members.map(
            (member): UserEventPayload => ({ userId: member, type: 'ADDED_TO_CHAT', chat: created, readSeq: 0 }),
          ),
          ...invited.map(
            (member): UserEventPayload => ({
              userId: member,
              type: 'INVITED',
              chat: created,
              invitation: { chat: created, invitedById: userId, role: 'member', createdAt: created.createdAt },
            }),
          ),
        ];
        await membership.notify(tx, events);
        return created;
      });
      await db.afterWrite(userId);
      return chat;
    },

    /**
     * The chats the user takes part in, newest first: filtered in SQL by the user's rbac scopes.
     * A global grant (a platform admin's) reads any chat, but lists only theirs: by participation.
     */
    async list(userId: string, args: Record<string, unknown>) {
      const scopes = await rbac.scopesWith(userId, 'chat:read', 'chat');
      const [where, params] =
        scopes === '*'
          ? ["id IN (SELECT chat_id FROM participants WHERE user_id = $1 AND status = 'active')", [userId]]
          : Array.isArray(scopes)
            ? ['id = ANY($1::uuid[])', [scopes]]
            : // A global allow with denies in some chats (a deny rule in the policy): still theirs only.
              [
                "id IN (SELECT chat_id FROM participants WHERE user_id = $1 AND status = 'active') AND NOT (id = ANY($2::uuid[]))",
                [userId, scopes.except],
              ];
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

    /**
     * Members and pending invitations; cached per chat (tagged with its scope), dropped on every
     * membership change. `fresh`: from the primary, past the cache.
     */
    participants(chatId: string, fresh = false): Promise<Participant[]> {
      if (fresh) return loadParticipants(chatId);
      return cache.getOrSet(`participants:${chatId}`, () => loadParticipants(chatId), {
        tags: [chatScope(chatId)],
      });
    },

    /** 0 for anyone but a member (an invitation counts nothing). */
    async unreadCount(userId: string, chatId: string): Promise<number> {
      const { rows } = await db.readerFor(userId).query(
        `SELECT c.last_seq - p.last_read_seq AS unread
             FROM participants p JOIN chats c ON c.id = p.chat_id
            WHERE p.chat_id = $1 AND p.user_id = $2 AND p.status = 'active'`,
        [chatId, userId],
      );
      return Math.max(0, Number(rows[0]?.unread ?? 0));
    },

    /**
     * Puts a user in a group, or changes the role of one already in it. A newcomer who requires
     * invitations, or who left this chat before, is INVITED (with the role they will get); a
     * user who blocked the actor is answered exactly as an unknown user. An active member's role
     * change stays a role change; re-adding an invited user changes the role of the invitation.
     */
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
      const participant = await withTransaction(pool, async (tx): Promise<Participant> => {
        await membership.lock(tx, chatId, userId);
        const current = await tx.query(
          'SELECT role, status, last_read_seq FROM participants WHERE chat_id = $1 AND user_id = $2 FOR UPDATE',
          [chatId, userId],
        );
        const existing = current.rows[0];
        if (existing?.role === 'owner') throw new AppError('BAD_USER_INPUT', "the owner's role cannot change");
        if (existing?.role === 'admin' && role !== 'admin' && !managesAdmins) throw onlyTheOwner();
        if (existing?.status === 'active') {
          await tx.query('UPDATE participants SET role = $3 WHERE chat_id = $1 AND user_id = $2', [
            chatId,
            userId,
            role,
          ]);
          await membership.revokeEveryRole(tx, userId, scope, actorId);
          await membership.grant(tx, userId, role, scope, actorId);
          if (existing.role !== role) await membership.notify(tx, [{ userId, type: 'CHAT_UPDATED', chat }]);
          membership.invalidateAfterCommit(tx, chatId, [userId]);
          return { chatId, userId, role, status: 'active', lastReadSeq: Number(existing.last_read_seq) };
        }
        const consent = (await consentTowards(tx, actorId, chatId, [userId])).get(userId);
        // Exactly what an unknown user id gets (the insert's foreign key): no oracle.
        if (consent?.blocksActor) throw notFound('user');
        if (existing?.status === 'invited') {
          await tx.query('UPDATE participants SET role = $3 WHERE chat_id = $1 AND user_id = $2', [
            chatId,
            userId,
            role,
          ]);
          membership.invalidateAfterCommit(tx, chatId, []);
          return { chatId, userId, role, status: 'invited', lastReadSeq: Number(existing.last_read_seq) };
        }
        const invited = consent?.requiresInvitation === true || consent?.formerParticipant === true;
        return addNewcomer(tx, actorId, chat, userId, role, invited);
      });
      await db.afterWrite(actorId);
      return participant;
    },

    /**
     * Admins remove members and moderators (and withdraw invitations), the owner removes admins
     * too; anyone may leave; the owner stays (delete the chat instead). A member who leaves or
     * is removed comes back only by invitation.
     */
    async removeParticipant(actorId: string, rawChatId: unknown, rawUserId: unknown): Promise<boolean> {
      const chatId = parseInput(idInput, rawChatId);
      const userId = parseInput(idInput, rawUserId);
      const chat = await get(actorId, chatId);
      const scope = chatScope(chatId);
      const leaving = userId === actorId;
      if (!leaving) {
        await rbac.assert(actorId, 'participant:remove', { scope });
        await auditAdminAccess(actorId, chatId, 'participant.remove', { userId });
      }
      const managesAdmins = leaving || (await rbac.can(actorId, 'participant:promote', { scope }));
      await withTransaction(pool, async (tx) => {
        await membership.lock(tx, chatId, userId);
        // The role is read under the membership lock: a promotion committed meanwhile counts.
        const target = await tx.query('SELECT role FROM participants WHERE chat_id = $1 AND user_id = $2 FOR UPDATE', [
          chatId,
          userId,
        ]);
        if (target.rows[0]?.role === 'admin' && !managesAdmins) throw onlyTheOwner();
        const { rows } = await tx.query(
          'DELETE FROM participants WHERE chat_id = $1 AND user_id = $2 AND role <> $3 RETURNING role, status',
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
        // A withdrawn invitation is not a departure: the user never joined.
        if (rows[0].status === 'active') await membership.recordDeparture(tx, chatId, userId);
        await membership.revokeEveryRole(tx, userId, scope, actorId);
        await membership.notify(tx, [{ userId, type: 'REMOVED_FROM_CHAT', chat }]);
        membership.invalidateAfterCommit(tx, chatId, [userId]);
      });
      await db.afterWrite(actorId);
      return true;
    },

    /**
     * The chat's audit trail, newest first (the rbac trail of scope `chat:<id>`): every grant and
     * revoke of its roles with who made it, and what platform admins did there. For those who
     * hold `chat:audit` there: its owner, and platform admins (whose reading it is audited too).
     */
    async auditLog(userId: string, rawChatId: unknown, args: { first?: unknown; after?: unknown }) {
      const chat = await get(userId, rawChatId);
      const scope = chatScope(chat.id);
      await rbac.assert(userId, 'chat:audit', { scope });
      await auditAdminAccess(userId, chat.id, 'chat.audit.read');
      const first = args.first ?? 20;
      if (typeof first !== 'number' || !Number.isInteger(first) || first < 1 || first > 100)
        throw new AppError('BAD_USER_INPUT', 'first must be a whole number from 1 to 100');
      const after = typeof args.after === 'string' ? args.after : undefined;
      const page = await rbac.auditLog({ scope, first, ...(after === undefined ? {} : { after }) });
      return {
        edges: page.records.map((record) => ({
          cursor: auditCursor(record.id),
          node: {
            id: record.id,
            at: record.at.toISOString(),
            actor: record.actor,
            action: record.action,
            role: record.role,
            userId: record.userId ?? null,
            messageId: (record.after as { messageId?: string } | undefined)?.messageId ?? null,
            requestId: record.requestId ?? null,
          },
        })),
        pageInfo: {
          hasNextPage: page.hasNextPage,
          hasPreviousPage: false,
          startCursor: page.records[0] ? auditCursor(page.records[0].id) : null,
          endCursor: page.endCursor,
        },
      };
    },

    async delete(actorId: string, rawChatId: unknown): Promise<boolean> {
      const chatId = parseInput(idInput, rawChatId);
      const chat = await get(actorId, chatId);
      const scope = chatScope(chatId);
      await rbac.assert(actorId, 'chat:delete', { scope });
      await auditAdminAccess(actorId, chatId, 'chat.delete');
      await withTransaction(pool, async (tx) => {
        const { rows } = await tx.query('SELECT user_id, role FROM participants WHERE chat_id = $1', [chatId]);
        for (const row of rows) await membership.revokeEveryRole(tx, row.user_id, scope, actorId);
        await tx.query('DELETE FROM chats WHERE id = $1', [chatId]);
        await membership.notify(
          tx,
          rows.map((row): UserEventPayload => ({ userId: row.user_id, type: 'REMOVED_FROM_CHAT', chat })),
        );
        membership.invalidateAfterCommit(
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
