import type { RotateOutcome, SessionInfo, SessionRevocation, SessionStore } from '../types.ts';
import { DEVICE_TOKENS_SQL } from './postgres-devices.ts';
import { withStoreErrors } from './store-errors.ts';

/**
 * What Switchboard needs of a PostgreSQL client, the same in every package that takes one:
 * `query(text, values)` resolving to `{ rows, rowCount }`. A `pg.Pool`, a `pg.PoolClient`, a
 * transaction of @switchboard/tx and a reader of @switchboard/db-router all fit.
 */
export interface Queryable {
  // `any` as pg's own QueryResultRow has it: the row type callers name (often an interface) fits.
  // biome-ignore lint/suspicious/noExplicitAny: pg's QueryResultRow shape, see above
  query<Row extends { [column: string]: any } = { [column: string]: any }>(
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
  {
    // Every instance polls for sessions revoked in the last seconds (see `revocations`).
    id: '0002_switchboard_auth_sessions_revoked_idx',
    sql: `
CREATE INDEX IF NOT EXISTS switchboard_auth_sessions_revoked_idx
  ON switchboard_auth_sessions (revoked_at) WHERE revoked_at IS NOT NULL;
`,
  },
  { id: '0003_switchboard_auth_device_tokens', sql: DEVICE_TOKENS_SQL },
  {
    // The successor sealed under the consumed token (concurrent refreshes share it), and what
    // cleanup scans: expired tokens, sealed copies past the leeway.
    id: '0004_switchboard_auth_refresh_successor',
    sql: `
ALTER TABLE switchboard_auth_refresh_tokens ADD COLUMN IF NOT EXISTS successor_sealed text;
CREATE INDEX IF NOT EXISTS switchboard_auth_refresh_tokens_sealed_idx
  ON switchboard_auth_refresh_tokens (session_id) WHERE successor_sealed IS NOT NULL;
CREATE INDEX IF NOT EXISTS switchboard_auth_refresh_tokens_expires_idx
  ON switchboard_auth_refresh_tokens (expires_at);
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
// token if it is unconsumed and unexpired and the family alive and young enough, keep its
// sealed successor ($8) with it, drop the predecessor's sealed copy of the presented token (now
// used), insert the successor, touch the session. Of two concurrent calls with one token, the
// second waits for the family lock and then finds the token consumed.
const ROTATE_SQL = `
${lockFamily('AND s.created_at > $7')}, consumed AS (
  UPDATE switchboard_auth_refresh_tokens t
     SET consumed_at = $3, replaced_by = $2, successor_sealed = $8
   WHERE t.token_hash = $1 AND t.consumed_at IS NULL AND t.expires_at > $3
     AND t.session_id IN (SELECT id FROM family)
  RETURNING t.session_id
), unsealed AS (
  UPDATE switchboard_auth_refresh_tokens t SET successor_sealed = NULL
   WHERE t.session_id IN (SELECT session_id FROM consumed)
     AND t.successor_sealed IS NOT NULL AND t.token_hash <> $1
), inserted AS (
  INSERT INTO switchboard_auth_refresh_tokens (token_hash, session_id, expires_at)
  SELECT $2, session_id, $4 FROM consumed
  RETURNING session_id
)
${TOUCH_SESSION_SQL}`;

// The presented token was not rotatable: what is it?
const CLASSIFY_SQL = `
SELECT t.session_id, t.consumed_at, t.expires_at, t.replaced_by, t.successor_sealed IS NOT NULL AS sealed,
       s.user_id, s.revoked_at, s.created_at
  FROM switchboard_auth_refresh_tokens t
  JOIN switchboard_auth_sessions s ON s.id = t.session_id
 WHERE t.token_hash = $1`;

// A repeat within the leeway of a token consumed with a sealed successor, which is still
// unused: every presenter gets that one successor; no token changes, the session is touched.
// Under the family lock, so it serializes with the successor's own rotation. $1 presented,
// $2 now, $3/$4 meta, $5 born after (maxSessionMs), $6 consumed after (the leeway).
const SHARE_SQL = `
${lockFamily('AND s.created_at > $5')}, shared AS (
  SELECT t.session_id, t.successor_sealed
    FROM switchboard_auth_refresh_tokens t
    JOIN switchboard_auth_refresh_tokens n ON n.token_hash = t.replaced_by AND n.consumed_at IS NULL
   WHERE t.token_hash = $1 AND t.session_id IN (SELECT id FROM family)
     AND t.consumed_at > $6 AND t.successor_sealed IS NOT NULL
)
UPDATE switchboard_auth_sessions s
   SET last_used_at = $2, user_agent = COALESCE($3, s.user_agent), ip = COALESCE($4, s.ip)
  FROM shared
 WHERE s.id = shared.session_id
RETURNING s.*, shared.successor_sealed`;

// The same for a token consumed without a sealed successor (by an older version of this
// package): its unused successor is replaced by a new one (one live chain per family, never
// two), sealed this time. Under the family lock. $1 presented, $2 new, $3 now, $4 expiry,
// $5/$6 meta, $7 the unused successor to replace, $8 the new one sealed.
const RETRY_SQL = `
${lockFamily('')}, dropped AS (
  DELETE FROM switchboard_auth_refresh_tokens t
   WHERE t.token_hash = $7 AND t.consumed_at IS NULL AND t.session_id IN (SELECT id FROM family)
  RETURNING t.session_id
), repointed AS (
  UPDATE switchboard_auth_refresh_tokens SET replaced_by = $2, successor_sealed = $8
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

// One active session of one user ($1 session, $2 user, $3 now) is revoked and its tokens dropped;
// returns a row only when it was that user's and still active.
const REVOKE_SESSION_SQL = `
WITH revoked AS (
  UPDATE switchboard_auth_sessions SET revoked_at = $3
   WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > $3
  RETURNING id
), dropped AS (
  DELETE FROM switchboard_auth_refresh_tokens WHERE session_id IN (SELECT id FROM revoked)
)
SELECT id FROM revoked`;

// Cleanup: tokens past their expiry, and every token of a family that is revoked or past its
// absolute lifetime ($2: born before). Consumed tokens of live families stay (reuse detection).
// $1 now.
const DELETE_DEAD_TOKENS_SQL = `
DELETE FROM switchboard_auth_refresh_tokens
 WHERE expires_at <= $1
    OR session_id IN (SELECT id FROM switchboard_auth_sessions WHERE revoked_at IS NOT NULL OR created_at <= $2)`;

// Cleanup: sealed successors no presenter can claim any more (consumed before $1, now - leeway).
const DROP_OLD_SEALS_SQL = `
UPDATE switchboard_auth_refresh_tokens SET successor_sealed = NULL
 WHERE successor_sealed IS NOT NULL AND consumed_at <= $1`;

// Cleanup: sessions that ended (revoked, expired, or past their absolute lifetime: born before
// $2) before $1. Kept until then so that revocation polling and listings see them; their
// tokens are gone already (the cascade finds none).
const DELETE_ENDED_SESSIONS_SQL = `
DELETE FROM switchboard_auth_sessions
 WHERE revoked_at <= $1 OR expires_at <= $1 OR created_at <= $2`;

/**
 * Sessions in PostgreSQL: rotation is one statement (one round trip) on the happy path, atomic
 * under concurrency; reuse revokes the family. Apply `migrations` first.
 */
export function createPostgresSessionStore(options: PostgresSessionStoreOptions): SessionStore {
  if (!options?.pool || typeof options.pool.query !== 'function')
    throw new TypeError('createPostgresSessionStore: `pool` must be a pg.Pool');
  const pool = withStoreErrors(options.pool, 'PostgreSQL session store');

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
      sealedSuccessor,
      now,
      expiresAt,
      reuseLeewayMs,
      maxSessionMs,
      meta,
    }): Promise<RotateOutcome> {
      const params = [tokenHash, newTokenHash, now, expiresAt, meta.userAgent ?? null, meta.ip ?? null];
      const sealed = sealedSuccessor ?? null;
      const bornAfter = new Date(now.getTime() - maxSessionMs);
      const rotated = await pool.query<SessionRow>(ROTATE_SQL, [...params, bornAfter, sealed]);
      if (rotated.rows[0]) return { outcome: 'rotated', session: toInfo(rotated.rows[0]) };

      const found = await pool.query<{
        session_id: string;
        consumed_at: Date | null;
        expires_at: Date;
        replaced_by: string | null;
        sealed: boolean;
        user_id: string;
        revoked_at: Date | null;
        created_at: Date;
      }>(CLASSIFY_SQL, [tokenHash]);
      const token = found.rows[0];
      if (!token || token.revoked_at || token.expires_at <= now || !token.consumed_at) return { outcome: 'invalid' };
      if (token.created_at <= bornAfter) return { outcome: 'invalid' };
      // Only with a leeway at all (another instance's clock can make the elapsed time negative),
      // and only while the successor is unused (checked again under the lock).
      if (reuseLeewayMs > 0 && now.getTime() - token.consumed_at.getTime() < reuseLeewayMs && token.replaced_by) {
        if (token.sealed) {
          const consumedAfter = new Date(now.getTime() - reuseLeewayMs);
          const shared = await pool.query<SessionRow & { successor_sealed: string }>(SHARE_SQL, [
            tokenHash,
            now,
            meta.userAgent ?? null,
            meta.ip ?? null,
            bornAfter,
            consumedAfter,
          ]);
          const row = shared.rows[0];
          if (row) return { outcome: 'rotated', session: toInfo(row), sealedSuccessor: row.successor_sealed };
        } else {
          const retried = await pool.query<SessionRow>(RETRY_SQL, [...params, token.replaced_by, sealed]);
          if (retried.rows[0]) return { outcome: 'rotated', session: toInfo(retried.rows[0]) };
        }
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

    async revokeSession(sessionId, userId, now) {
      const { rowCount } = await pool.query(REVOKE_SESSION_SQL, [sessionId, userId, now]);
      return (rowCount ?? 0) > 0;
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

    async deleteExpired({ now, maxSessionMs, reuseLeewayMs, keepEndedSessionsMs }) {
      // Three statements, each correct alone (a crash between them leaves only less cleaned).
      const tokens = await pool.query(DELETE_DEAD_TOKENS_SQL, [now, new Date(now.getTime() - maxSessionMs)]);
      await pool.query(DROP_OLD_SEALS_SQL, [new Date(now.getTime() - reuseLeewayMs)]);
      const keptSince = new Date(now.getTime() - keepEndedSessionsMs);
      const sessions = await pool.query(DELETE_ENDED_SESSIONS_SQL, [
        keptSince,
        new Date(keptSince.getTime() - maxSessionMs),
      ]);
      return { tokens: tokens.rowCount ?? 0, sessions: sessions.rowCount ?? 0 };
    },

    async listRevokedSince(since) {
      const { rows } = await pool.query<{ id: string; user_id: string }>(
        'SELECT id, user_id FROM switchboard_auth_sessions WHERE revoked_at >= $1',
        [since],
      );
      return rows.map((row): SessionRevocation => ({ sessionId: row.id, userId: row.user_id }));
    },
  };
}
