import type { Queryable } from '@switchboard/tx';
import { parseInput } from '@switchboard/validation';
import type { ChatDb } from './db.ts';
import { AppError, notFound } from './errors.ts';
import { idInput, updateSettingsInput } from './inputs.ts';
import type { User } from './users.ts';

/** A user's consent settings (`Settings` in the API). */
export interface Settings {
  /** Being put in a group (createChat, addParticipant) makes you INVITED rather than a member. */
  requireInvitation: boolean;
}

/** How one user stands towards being put in a chat by an actor. */
export interface Consent {
  /** They blocked the actor: the actor is answered as if they did not exist. */
  blocksActor: boolean;
  /** Their settings ask for an invitation to groups. */
  requiresInvitation: boolean;
  /** They left this chat, were removed from it or declined it: only an invitation brings them back. */
  formerParticipant: boolean;
}

const FOREIGN_KEY_VIOLATION = '23503';

/**
 * How each of `userIds` stands towards `actorId` putting them in chat `chatId` (`null`: a chat
 * being created): one statement, inside the caller's transaction. Unknown ids get an entry with
 * everything false (the insert that follows refuses them).
 */
export async function consentTowards(
  tx: Queryable,
  actorId: string,
  chatId: string | null,
  userIds: readonly string[],
): Promise<Map<string, Consent>> {
  const { rows } = await tx.query(
    `SELECT u.id,
            EXISTS (SELECT 1 FROM user_blocks b WHERE b.blocker_id = u.id AND b.blocked_id = $1) AS blocks_actor,
            COALESCE((SELECT s.require_invitation FROM user_settings s WHERE s.user_id = u.id), false)
              AS requires_invitation,
            EXISTS (SELECT 1 FROM former_participants f WHERE f.chat_id = $2::uuid AND f.user_id = u.id) AS former
       FROM unnest($3::uuid[]) AS u (id)`,
    [actorId, chatId, userIds],
  );
  return new Map(
    rows.map((row) => [
      row.id as string,
      {
        blocksActor: row.blocks_actor === true,
        requiresInvitation: row.requires_invitation === true,
        formerParticipant: row.former === true,
      },
    ]),
  );
}

/**
 * Blocking and consent settings. A block is one way: the blocked user can neither open a direct
 * chat with the blocker nor add them to a group, and is told exactly what an unknown user id
 * would get (no oracle). Chats the two already share are left as they are.
 */
export function createConsent(deps: { db: ChatDb }) {
  const { db } = deps;
  const pool = db.primary;

  const readSettings = async (userId: string): Promise<Settings> => {
    const { rows } = await db
      .readerFor(userId)
      .query('SELECT require_invitation FROM user_settings WHERE user_id = $1', [userId]);
    return { requireInvitation: rows[0]?.require_invitation === true };
  };

  return {
    /** Idempotent: blocking someone already blocked changes nothing. */
    async block(actorId: string, rawUserId: unknown): Promise<boolean> {
      const userId = parseInput(idInput, rawUserId);
      if (userId === actorId) throw new AppError('BAD_USER_INPUT', 'you cannot block yourself');
      try {
        await pool.query(
          'INSERT INTO user_blocks (blocker_id, blocked_id) VALUES ($1, $2) ON CONFLICT (blocker_id, blocked_id) DO NOTHING',
          [actorId, userId],
        );
      } catch (error) {
        if ((error as { code?: string }).code === FOREIGN_KEY_VIOLATION) throw notFound('user');
        throw error;
      }
      await db.afterWrite(actorId);
      return true;
    },

    /** Idempotent: unblocking someone not blocked changes nothing. */
    async unblock(actorId: string, rawUserId: unknown): Promise<boolean> {
      const userId = parseInput(idInput, rawUserId);
      await pool.query('DELETE FROM user_blocks WHERE blocker_id = $1 AND blocked_id = $2', [actorId, userId]);
      await db.afterWrite(actorId);
      return true;
    },

    /** The users `actorId` blocked, in the order they were blocked. */
    async blocked(actorId: string): Promise<User[]> {
      const { rows } = await db.readerFor(actorId).query(
        `SELECT u.id, u.username, u.display_name
           FROM user_blocks b JOIN users u ON u.id = b.blocked_id
          WHERE b.blocker_id = $1
          ORDER BY b.created_at, b.blocked_id`,
        [actorId],
      );
      return rows.map((row) => ({ id: row.id, username: row.username, displayName: row.display_name }));
    },

    settings: readSettings,

    /** Changes what the input names (an absent or null field stays as it is); answers every setting. */
    async updateSettings(userId: string, raw: unknown): Promise<Settings> {
      const input = parseInput(updateSettingsInput, raw);
      if (input.requireInvitation === null || input.requireInvitation === undefined) return readSettings(userId);
      const { rows } = await pool.query(
        `INSERT INTO user_settings (user_id, require_invitation) VALUES ($1, $2)
         ON CONFLICT (user_id) DO UPDATE SET require_invitation = excluded.require_invitation, updated_at = now()
         RETURNING require_invitation`,
        [userId, input.requireInvitation],
      );
      await db.afterWrite(userId);
      return { requireInvitation: rows[0]?.require_invitation === true };
    },
  };
}

export type ConsentService = ReturnType<typeof createConsent>;
