import { randomUUID } from 'node:crypto';
import type { Auth, SessionMeta } from '@switchboard/auth';
import type { Cache } from '@switchboard/cache';
import { confusableSkeleton, parseInput, ValidationError } from '@switchboard/validation';
import type { ChatDb } from './db.ts';
import { AppError, notFound } from './errors.ts';
import { loginInput, registerInput, typedUsername } from './inputs.ts';

export interface User {
  id: string;
  username: string;
  displayName: string | null;
}

export interface AuthPayload {
  accessToken: string;
  refreshToken: string;
  /** Given at register and login (the client keeps it for its next logins); null on refresh. */
  deviceToken: string | null;
  user: User;
}

const UNIQUE_VIOLATION = '23505';
/** A user id no account has: device-token checks for an unknown username ask about it. */
export const NOBODY = '00000000-0000-0000-0000-000000000000';
/** Thrown by the cache's fetcher so that an unknown id is not cached. */
const NO_SUCH_USER = new Error('no such user');

const toUser = (row: { id: string; username: string; display_name: string | null }): User => ({
  id: row.id,
  username: row.username,
  displayName: row.display_name,
});

/** Accounts: register and log in with @switchboard/auth (argon2id, rotating refresh tokens). */
export function createUsers(deps: { db: ChatDb; auth: Auth; cache: Cache }) {
  const { db, auth, cache } = deps;
  // Accounts are read where they are written: a login right after registering must find the user.
  const pool = db.primary;

  // Accounts do not change once made: cached (L1, and Redis in cluster mode) after the first
  // read. getOrSet, not get-then-set: the subscribers of one message all resolve its sender at
  // once, and share one look-up; a fill is not a change, so nothing is published to the other
  // instances. A miss is not cached: a replica behind the primary must not hide a new user.
  const byId = async (id: string, viewerId?: string): Promise<User | undefined> => {
    try {
      return await cache.getOrSet<User>(`user:${id}`, async () => {
        const reader = viewerId === undefined ? pool : db.readerFor(viewerId);
        const { rows } = await reader.query('SELECT id, username, display_name FROM users WHERE id = $1', [id]);
        if (!rows[0]) throw NO_SUCH_USER;
        return toUser(rows[0]);
      });
    } catch (error) {
      if (error === NO_SUCH_USER) return undefined;
      throw error;
    }
  };

  /**
   * A display name that looks like someone else's username (`Mallory`, `rnallory`, Cyrillic
   * `аlice`) is refused: it would pass for that user in every list. One's own username is fine.
   */
  const refuseImpersonation = async (displayName: string | null | undefined, ownSkeleton: string) => {
    if (!displayName) return;
    const looks = confusableSkeleton(displayName);
    if (looks === ownSkeleton) return;
    const { rows } = await pool.query('SELECT 1 FROM users WHERE username_skeleton = $1', [looks]);
    if (rows[0]) {
      throw new ValidationError([{ path: ['displayName'], message: "must not look like another user's username" }]);
    }
  };

  return {
    byId,

    /** A user as `viewerId` sees it (read on a replica that has the viewer's writes). */
    async get(id: string, viewerId?: string): Promise<User> {
      const user = await byId(id, viewerId);
      if (!user) throw notFound('user');
      return user;
    },

    /**
     * The user with this username (as typed: case and width do not matter), or null: to start a
     * chat with someone or invite them. Read on a replica that has the viewer's writes.
     */
    async byUsername(raw: unknown, viewerId: string): Promise<User | null> {
      const username = parseInput(typedUsername, raw);
      const { rows } = await db
        .readerFor(viewerId)
        .query('SELECT id, username, display_name FROM users WHERE lower(username) = $1', [username]);
      return rows[0] ? toUser(rows[0]) : null;
    },

    async register(raw: unknown, meta: SessionMeta): Promise<AuthPayload> {
      const input = parseInput(registerInput, raw);
      const id = randomUUID();
      // Unique by how it looks (users_username_skeleton_key): `rnallory` cannot join next to `mallory`.
      const skeleton = confusableSkeleton(input.username);
      await refuseImpersonation(input.displayName, skeleton);
      const passwordHash = await auth.hashPassword(input.password);
      try {
        await pool.query(
          `INSERT INTO users (id, username, email, password_hash, display_name, username_skeleton)
           VALUES ($1, $2, $3, $4, $5, $6)`,
          [id, input.username, input.email, passwordHash, input.displayName ?? null, skeleton],
        );
      } catch (error) {
        if ((error as { code?: string }).code === UNIQUE_VIOLATION) {
          throw new AppError(
            'BAD_USER_INPUT',
            'that username (or one that looks like it) or email is already registered',
          );
        }
        throw error;
      }
      const tokens = await auth.issueTokens({ id }, meta);
      const deviceToken = await auth.issueDeviceToken(id);
      return { ...tokens, deviceToken, user: { id, username: input.username, displayName: input.displayName ?? null } };
    },

    /**
     * The same answer, and the same work (one argon2 verify), for an unknown user and a wrong
     * password. A wrong password presented with a device token counts against that token (its
     * fifth failure revokes it); a token that is not this user's counts nothing. Which limits
     * the attempt met was decided before (app.ts: a device token of this user replaces the
     * per-username limits). A successful login hands out a fresh device token.
     */
    async login(raw: unknown, meta: SessionMeta): Promise<AuthPayload> {
      const input = parseInput(loginInput, raw);
      const given = (raw as { deviceToken?: unknown } | null)?.deviceToken;
      const deviceToken = typeof given === 'string' && given !== '' ? given : undefined;
      const { rows } = await pool.query(
        'SELECT id, username, display_name, password_hash FROM users WHERE lower(username) = $1',
        [input.username],
      );
      const row = rows[0];
      const check = await auth.verifyPassword(row?.password_hash ?? null, input.password);
      if (!row || !check.ok) {
        // Asked for an unknown user too (nobody's id: nothing counted), so that the answer takes as long.
        if (deviceToken !== undefined) await auth.recordDeviceFailure(deviceToken, row?.id ?? NOBODY);
        throw new AppError('UNAUTHENTICATED', 'wrong username or password');
      }
      if (check.needsRehash) {
        await pool.query('UPDATE users SET password_hash = $2 WHERE id = $1', [
          row.id,
          await auth.hashPassword(input.password),
        ]);
      }
      const tokens = await auth.issueTokens({ id: row.id }, meta);
      return { ...tokens, deviceToken: await auth.issueDeviceToken(row.id), user: toUser(row) };
    },

    async logout(refreshToken: string): Promise<void> {
      await auth.logout(refreshToken);
    },

    async refresh(refreshToken: string, meta: SessionMeta): Promise<AuthPayload> {
      const tokens = await auth.refresh(refreshToken, meta);
      const { userId } = await auth.verifyAccessToken(tokens.accessToken);
      const user = await byId(userId);
      if (!user) throw new AppError('UNAUTHENTICATED', 'the account no longer exists');
      return { ...tokens, deviceToken: null, user };
    },
  };
}

export type Users = ReturnType<typeof createUsers>;
