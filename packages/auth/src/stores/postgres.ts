import type { RotateOutcome, SessionInfo, SessionStore } from '../sessions.ts';

/** What we need of `pg`: a `pg.Pool` (or anything with the same `query`). */
export interface Queryable {
  query<Row = Record<string, unknown>>(
    text: string,
    values?: unknown[],
  ): Promise<{ rows: Row[]; rowCount: number | null }>;
}

export interface PostgresSessionStoreOptions {
  /** A `pg.Pool` you created; the store never closes it. */
  pool: Queryable;
}

/** The schema, in order. Apply with your migration runner (each id once). */
export const migrations: readonly { id: string; sql: string }[] = [
  {
    id: '0001_switchboard_auth_sessions',
    sql: `
CREATE TABLE IF NOT EXISTS switchboard_auth_sessions (
  id            text PRIMARY KEY,
  user_id       text NOT NULL,
  created_at    timestamptz NOT NULL,
  last_used_at  timestamptz NOT NULL,
  expires_at    timestamptz NOT NULL,
  revoked_at    timestamptz,
  user_agent    text,
  ip            text,
  claims        jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX IF NOT EXISTS switchboard_auth_sessions_user_idx
  ON switchboard_auth_sessions (user_id) WHERE revoked_at IS NULL;
CREATE TABLE IF NOT EXISTS switchboard_auth_refresh_tokens (
  token_hash   text PRIMARY KEY,
  session_id   text NOT NULL REFERENCES switchboard_auth_sessions (id) ON DELETE CASCADE,
  expires_at   timestamptz NOT NULL,
  consumed_at  timestamptz,
  replaced_by  text
);
CREATE INDEX IF NOT EXISTS switchboard_auth_refresh_tokens_session_idx
  ON switchboard_auth_refresh_tokens (session_id);
`,
  },
];

interface SessionRow {
  id: string;
  user_id: string;
  created_at: Date;
  last_used_at: Date;
  expires_at: Date;
  user_agent: string | null;
  ip: string | null;
  claims: Record<string, unknown>;
}

// The first step of a rotation or retry: lock the live family of the presented token ($1),
// session row first, the same lock order as every revocation.
const lockFamily = (extraCondition: string) => `WITH family AS (
  SELECT s.id FROM switchboard_auth_sessions s
   WHERE s.id = (SELECT session_id FROM switchboard_auth_refresh_tokens WHERE token_hash = $1)
     AND s.revoked_at IS NULL ${extraCondition}
   FOR UPDATE
)`;

// The last step of a rotation or retry: the session learns its new token's expiry and the
// client's latest metadata ($3 now, $4 expiry, $5 user agent, $6 IP).
const TOUCH_SESSION_SQL = `
UPDATE switchboard_auth_sessions s
   SET last_used_at = $3, expires_at = $4,
       user_agent = COALESCE($5, s.user_agent), ip = COALESCE($6, s.ip)
  FROM inserted i
 WHERE s.id = i.session_id
RETURNING s.*`;

// One statement, one round trip: lock the family (session row first, the same order as every
// revocation, so rotation and revocation serialize and never deadlock), consume the presented
// token if it is unconsumed and unexpired and the family alive and young enough, insert its
// successor, touch the session. Of two concurrent calls with one token, the second waits for
// the family lock and then finds the token consumed.
const ROTATE_SQL = `
${lockFamily('AND s.created_at > $7')}, consumed AS (
  UPDATE switchboard_auth_refresh_tokens t
     SET consumed_at = $3, replaced_by = $2
   WHERE t.token_hash = $1 AND t.consumed_at IS NULL AND t.expires_at > $3
     AND t.session_id IN (SELECT id FROM family)
  RETURNING t.session_id
), inserted AS (
  INSERT INTO switchboard_auth_refresh_tokens (token_hash, session_id, expires_at)
  SELECT $2, session_id, $4 FROM consumed
  RETURNING session_id
)
${TOUCH_SESSION_SQL}`;

// The presented token was not rotatable: what is it?
const CLASSIFY_SQL = `
SELECT t.session_id, t.consumed_at, t.expires_at, t.replaced_by, s.user_id, s.revoked_at, s.created_at
  FROM switchboard_auth_refresh_tokens t
  JOIN switchboard_auth_sessions s ON s.id = t.session_id
 WHERE t.token_hash = $1`;

// A benign retry within the leeway: the successor it should have received is still unused, so
// it is replaced by a new one (one live chain per family, never two). Under the family lock.
// $1 presented, $2 new, $3 now, $4 expiry, $5/$6 meta, $7 the unused successor to replace.
const RETRY_SQL = `
${lockFamily('')}, dropped AS (
  DELETE FROM switchboard_auth_refresh_tokens t
   WHERE t.token_hash = $7 AND t.consumed_at IS NULL AND t.session_id IN (SELECT id FROM family)
  RETURNING t.session_id
), repointed AS (
  UPDATE switchboard_auth_refresh_tokens SET replaced_by = $2
   WHERE token_hash = $1 AND session_id IN (SELECT session_id FROM dropped)
  RETURNING session_id
), inserted AS (
  INSERT INTO switchboard_auth_refresh_tokens (token_hash, session_id, expires_at)
  SELECT $2, session_id, $4 FROM repointed
  RETURNING session_id
)
${TOUCH_SESSION_SQL}`;

// Revoke a family and drop its tokens, in one statement.
const REVOKE_FAMILY_SQL = `
WITH revoked AS (
  UPDATE switchboard_auth_sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING id
)
DELETE FROM switchboard_auth_refresh_tokens WHERE session_id = $1`;

/**
 * Sessions in PostgreSQL: rotation is one statement (one round trip) on the happy path, atomic
 * under concurrency; reuse revokes the family. Apply `migrations` first.
 */
export function createPostgresSessionStore(options: PostgresSessionStoreOptions): SessionStore {
  const { pool } = options;
  if (!pool || typeof pool.query !== 'function')
    throw new TypeError('createPostgresSessionStore: `pool` must be a pg.Pool');

  const toInfo = (row: SessionRow): SessionInfo & { claims: Record<string, unknown> } => ({
    id: row.id,
    userId: row.user_id,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    expiresAt: row.expires_at,
    ...(row.user_agent === null ? {} : { userAgent: row.user_agent }),
    ...(row.ip === null ? {} : { ip: row.ip }),
    claims: row.claims ?? {},
  });

  return {
    async create(session) {
      await pool.query(
        `WITH created AS (
           INSERT INTO switchboard_auth_sessions (id, user_id, created_at, last_used_at, expires_at, user_agent, ip, claims)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id
         )
         INSERT INTO switchboard_auth_refresh_tokens (token_hash, session_id, expires_at)
         SELECT $9, id, $5 FROM created`,
        [
          session.id,
          session.userId,
          session.createdAt,
          session.lastUsedAt,
          session.expiresAt,
          session.userAgent ?? null,
          session.ip ?? null,
          JSON.stringify(session.claims),
          session.tokenHash,
        ],
      );
    },

    async rotate({
      tokenHash,
      newTokenHash,
      now,
      expiresAt,
      reuseLeewayMs,
      maxSessionMs,
      meta,
    }): Promise<RotateOutcome> {
      const params = [tokenHash, newTokenHash, now, expiresAt, meta.userAgent ?? null, meta.ip ?? null];
      const bornAfter = new Date(now.getTime() - maxSessionMs);
      const rotated = await pool.query<SessionRow>(ROTATE_SQL, [...params, bornAfter]);
      if (rotated.rows[0]) return { outcome: 'rotated', session: toInfo(rotated.rows[0]) };

      const found = await pool.query<{
        session_id: string;
        consumed_at: Date | null;
        expires_at: Date;
        replaced_by: string | null;
        user_id: string;
        revoked_at: Date | null;
        created_at: Date;
      }>(CLASSIFY_SQL, [tokenHash]);
      const token = found.rows[0];
      if (!token || token.revoked_at || token.expires_at <= now || !token.consumed_at) return { outcome: 'invalid' };
      if (token.created_at <= bornAfter) return { outcome: 'invalid' };
      // Only with a leeway at all (another instance's clock can make the elapsed time negative),
      // and only while the successor is unused: it is then replaced, never doubled.
      if (reuseLeewayMs > 0 && now.getTime() - token.consumed_at.getTime() < reuseLeewayMs && token.replaced_by) {
        const retried = await pool.query<SessionRow>(RETRY_SQL, [...params, token.replaced_by]);
        if (retried.rows[0]) return { outcome: 'rotated', session: toInfo(retried.rows[0]) };
      }
      await pool.query(REVOKE_FAMILY_SQL, [token.session_id, now]);
      return { outcome: 'reused', sessionId: token.session_id, userId: token.user_id };
    },

    async revokeByToken(tokenHash, now) {
      const found = await pool.query<{ session_id: string }>(
        'SELECT session_id FROM switchboard_auth_refresh_tokens WHERE token_hash = $1',
        [tokenHash],
      );
      const sessionId = found.rows[0]?.session_id;
      if (!sessionId) return false;
      await pool.query(REVOKE_FAMILY_SQL, [sessionId, now]);
      return true;
    },

    async revokeAllForUser(userId, now) {
      const revoked = await pool.query<{ active: boolean }>(
        `WITH revoked AS (
           UPDATE switchboard_auth_sessions SET revoked_at = $2
            WHERE user_id = $1 AND revoked_at IS NULL
           RETURNING id, expires_at > $2 AS active
         ), dropped AS (
           DELETE FROM switchboard_auth_refresh_tokens WHERE session_id IN (SELECT id FROM revoked)
         )
         SELECT active FROM revoked`,
        [userId, now],
      );
      return revoked.rows.filter((row) => row.active).length;
    },

    async listSessions(userId, now) {
      const { rows } = await pool.query<SessionRow>(
        `SELECT * FROM switchboard_auth_sessions
          WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
          ORDER BY created_at DESC`,
        [userId, now],
      );
      return rows.map((row) => {
        const { claims: _claims, ...info } = toInfo(row);
        return info;
      });
    },
  };
}
