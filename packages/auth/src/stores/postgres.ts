import { statementTracing, type Telemetry } from '../telemetry.ts';
import type { RotateOutcome, SessionInfo, SessionRevocation, SessionStore } from '../types.ts';
import { DEVICE_TOKENS_SQL } from './postgres-devices.ts';
import {
  CLASSIFY_SQL,
  CREATE_SESSION_SQL,
  DELETE_DEAD_TOKENS_SQL,
  DELETE_ENDED_SESSIONS_SQL,
  DROP_OLD_SEALS_SQL,
  FIND_FAMILY_SQL,
  LIST_REVOKED_SQL,
  LIST_SESSIONS_SQL,
  RETRY_SQL,
  REVOKE_FAMILY_SQL,
  REVOKE_SESSION_SQL,
  REVOKE_USER_SQL,
  ROTATE_SQL,
  SHARE_SQL,
  STATEMENTS,
} from './postgres-statements.ts';
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
  /**
   * OpenTelemetry: each statement runs in a CLIENT span per the database conventions, named by
   * its `db.query.summary` (`rotate refresh token`, `revoke session family`, ...), with
   * `db.system.name` `postgresql` and the parameterized `db.query.text` (never a value); the
   * revocation poll's statement only inside a span of the caller's. `true` for the global
   * `@opentelemetry/api`, or the API object. @default false (no tracing code runs)
   */
  telemetry?: Telemetry;
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

/**
 * Sessions in PostgreSQL: rotation is one statement (one round trip) on the happy path, atomic
 * under concurrency; reuse revokes the family. Apply `migrations` first.
 */
export function createPostgresSessionStore(options: PostgresSessionStoreOptions): SessionStore {
  if (!options?.pool || typeof options.pool.query !== 'function')
    throw new TypeError('createPostgresSessionStore: `pool` must be a pg.Pool');
  const trace = statementTracing('createPostgresSessionStore', options.telemetry, STATEMENTS);
  const pool = withStoreErrors(options.pool, 'PostgreSQL session store', trace);

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
      await pool.query(CREATE_SESSION_SQL, [
        session.id,
        session.userId,
        session.createdAt,
        session.lastUsedAt,
        session.expiresAt,
        session.userAgent ?? null,
        session.ip ?? null,
        JSON.stringify(session.claims),
        session.tokenHash,
      ]);
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
      const found = await pool.query<{ session_id: string }>(FIND_FAMILY_SQL, [tokenHash]);
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
      const revoked = await pool.query<{ active: boolean }>(REVOKE_USER_SQL, [userId, now]);
      return revoked.rows.filter((row) => row.active).length;
    },

    async listSessions(userId, now) {
      const { rows } = await pool.query<SessionRow>(LIST_SESSIONS_SQL, [userId, now]);
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
      const { rows } = await pool.query<{ id: string; user_id: string }>(LIST_REVOKED_SQL, [since]);
      return rows.map((row): SessionRevocation => ({ sessionId: row.id, userId: row.user_id }));
    },
  };
}
