import { type Statement, statementTracing, type Telemetry } from '../telemetry.ts';
import type { DeviceTokenStore } from '../types.ts';
import type { Queryable } from './postgres.ts';
import { withStoreErrors } from './store-errors.ts';

export interface PostgresDeviceTokenStoreOptions {
  /** A `pg.Pool` you created; the store never closes it. */
  pool: Queryable;
  /**
   * OpenTelemetry: each statement runs in a CLIENT span per the database conventions
   * (`verify device token`, ...; see `PostgresSessionStoreOptions.telemetry`). `true` for the
   * global `@opentelemetry/api`, or the API object. @default false (no tracing code runs)
   */
  telemetry?: Telemetry;
}

/**
 * The device-token table, applied through `migrations` (from `@switchboard/auth/postgres`).
 * `id` orders tokens by issue across instances whatever their clocks: the cap drops the lowest.
 */
export const DEVICE_TOKENS_SQL = `
CREATE TABLE IF NOT EXISTS switchboard_auth_device_tokens (
  token_hash  text PRIMARY KEY,
  id          bigint GENERATED ALWAYS AS IDENTITY,
  user_id     text NOT NULL,
  created_at  timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL,
  failures    integer NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS switchboard_auth_device_tokens_user_idx
  ON switchboard_auth_device_tokens (user_id, id);
`;

// Run after each insert, as a statement of its own: it then sees every committed insert, so
// however issues of one user interleave across instances, the last one leaves at most $3.
// $1 user, $2 now, $3 the cap.
const TRIM_SQL = `
DELETE FROM switchboard_auth_device_tokens
 WHERE user_id = $1
   AND (expires_at <= $2 OR token_hash IN (
     SELECT token_hash FROM switchboard_auth_device_tokens
      WHERE user_id = $1 AND expires_at > $2
      ORDER BY id DESC OFFSET $3))`;

const ADD_SQL = `
INSERT INTO switchboard_auth_device_tokens (token_hash, user_id, created_at, expires_at)
VALUES ($1, $2, $3, $4)`;

const VERIFY_SQL = `
SELECT 1 FROM switchboard_auth_device_tokens
 WHERE token_hash = $1 AND user_id = $2 AND expires_at > $3`;

// One statement: the failure that reaches the limit also ends the token (its expiry moved to
// 1970), under the row lock, so a concurrent failure or verify finds it dead, whatever its
// instance's clock says. The trim of the user's next issue deletes the row.
const RECORD_FAILURE_SQL = `
UPDATE switchboard_auth_device_tokens
   SET failures = failures + 1,
       expires_at = CASE WHEN failures + 1 >= $4 THEN to_timestamp(0) ELSE expires_at END
 WHERE token_hash = $1 AND user_id = $2 AND expires_at > $3
RETURNING failures`;

const REVOKE_ALL_SQL = 'DELETE FROM switchboard_auth_device_tokens WHERE user_id = $1';

const DEVICES = 'switchboard_auth_device_tokens';
const STATEMENTS = new Map<string, Statement>([
  [ADD_SQL, { summary: 'add device token', operation: 'INSERT', table: DEVICES }],
  [TRIM_SQL, { summary: 'trim device tokens', operation: 'DELETE', table: DEVICES }],
  [VERIFY_SQL, { summary: 'verify device token', operation: 'SELECT', table: DEVICES }],
  [RECORD_FAILURE_SQL, { summary: 'record device token failure', operation: 'UPDATE', table: DEVICES }],
  [REVOKE_ALL_SQL, { summary: 'revoke device tokens', operation: 'DELETE', table: DEVICES }],
]);

/**
 * Device tokens in PostgreSQL (hashes only). Apply `migrations` first. Verifying is one
 * indexed read, recording a failure one update. Database failures reject with `AuthError` code
 * `STORE_UNAVAILABLE`.
 */
export function createPostgresDeviceTokenStore(options: PostgresDeviceTokenStoreOptions): DeviceTokenStore {
  if (!options?.pool || typeof options.pool.query !== 'function')
    throw new TypeError('createPostgresDeviceTokenStore: `pool` must be a pg.Pool');
  const trace = statementTracing('createPostgresDeviceTokenStore', options.telemetry, STATEMENTS);
  const pool = withStoreErrors(options.pool, 'PostgreSQL device-token store', trace);

  return {
    async add({ tokenHash, userId, createdAt, expiresAt }, maxPerUser) {
      await pool.query(ADD_SQL, [tokenHash, userId, createdAt, expiresAt]);
      await pool.query(TRIM_SQL, [userId, createdAt, maxPerUser]);
    },

    async verify(tokenHash, userId, now) {
      const { rows } = await pool.query(VERIFY_SQL, [tokenHash, userId, now]);
      return rows.length > 0;
    },

    async recordFailure(tokenHash, userId, now, maxFailures) {
      const { rows } = await pool.query<{ failures: number }>(RECORD_FAILURE_SQL, [
        tokenHash,
        userId,
        now,
        maxFailures,
      ]);
      const failures = rows[0]?.failures;
      if (failures === undefined) return 'unknown';
      return failures >= maxFailures ? 'revoked' : 'counted';
    },

    async revokeAllForUser(userId) {
      const { rowCount } = await pool.query(REVOKE_ALL_SQL, [userId]);
      return rowCount ?? 0;
    },
  };
}
