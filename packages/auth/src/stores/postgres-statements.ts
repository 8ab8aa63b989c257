// The session store's statements, one constant each, and what each one's span says of it
// (`STATEMENTS`, by text): the SQL apart from the code that runs it, so both stay readable.
import type { Statement } from '../telemetry.ts';

export const CREATE_SESSION_SQL = `
WITH created AS (
  INSERT INTO switchboard_auth_sessions (id, user_id, created_at, last_used_at, expires_at, user_agent, ip, claims)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id
)
INSERT INTO switchboard_auth_refresh_tokens (token_hash, session_id, expires_at)
SELECT $9, id, $5 FROM created`;

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
export const ROTATE_SQL = `
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
export const CLASSIFY_SQL = `
SELECT t.session_id, t.consumed_at, t.expires_at, t.replaced_by, t.successor_sealed IS NOT NULL AS sealed,
       s.user_id, s.revoked_at, s.created_at
  FROM switchboard_auth_refresh_tokens t
  JOIN switchboard_auth_sessions s ON s.id = t.session_id
 WHERE t.token_hash = $1`;

// A repeat within the leeway of a token consumed with a sealed successor, which is still
// unused: every presenter gets that one successor; no token changes, the session is touched.
// Under the family lock, so it serializes with the successor's own rotation. $1 presented,
// $2 now, $3/$4 meta, $5 born after (maxSessionMs), $6 consumed after (the leeway).
export const SHARE_SQL = `
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
export const RETRY_SQL = `
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
export const REVOKE_FAMILY_SQL = `
WITH revoked AS (
  UPDATE switchboard_auth_sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING id
)
DELETE FROM switchboard_auth_refresh_tokens WHERE session_id = $1`;

// One active session of one user ($1 session, $2 user, $3 now) is revoked and its tokens dropped;
// returns a row only when it was that user's and still active.
export const REVOKE_SESSION_SQL = `
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
export const DELETE_DEAD_TOKENS_SQL = `
DELETE FROM switchboard_auth_refresh_tokens
 WHERE expires_at <= $1
    OR session_id IN (SELECT id FROM switchboard_auth_sessions WHERE revoked_at IS NOT NULL OR created_at <= $2)`;

// Cleanup: sealed successors no presenter can claim any more (consumed before $1, now - leeway).
export const DROP_OLD_SEALS_SQL = `
UPDATE switchboard_auth_refresh_tokens SET successor_sealed = NULL
 WHERE successor_sealed IS NOT NULL AND consumed_at <= $1`;

// Cleanup: sessions that ended (revoked, expired, or past their absolute lifetime: born before
// $2) before $1. Kept until then so that revocation polling and listings see them; their
// tokens are gone already (the cascade finds none).
export const DELETE_ENDED_SESSIONS_SQL = `
DELETE FROM switchboard_auth_sessions
 WHERE revoked_at <= $1 OR expires_at <= $1 OR created_at <= $2`;

export const FIND_FAMILY_SQL = 'SELECT session_id FROM switchboard_auth_refresh_tokens WHERE token_hash = $1';

// Every family of the user ($1) revoked at $2, their tokens dropped; says which were active.
export const REVOKE_USER_SQL = `
WITH revoked AS (
  UPDATE switchboard_auth_sessions SET revoked_at = $2
   WHERE user_id = $1 AND revoked_at IS NULL
  RETURNING id, expires_at > $2 AS active
), dropped AS (
  DELETE FROM switchboard_auth_refresh_tokens WHERE session_id IN (SELECT id FROM revoked)
)
SELECT active FROM revoked`;

export const LIST_SESSIONS_SQL = `
SELECT * FROM switchboard_auth_sessions
 WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
 ORDER BY created_at DESC`;

export const LIST_REVOKED_SQL = 'SELECT id, user_id FROM switchboard_auth_sessions WHERE revoked_at >= $1';

const SESSIONS = 'switchboard_auth_sessions';
const TOKENS = 'switchboard_auth_refresh_tokens';
export const STATEMENTS = new Map<string, Statement>([
  [CREATE_SESSION_SQL, { summary: 'create session' }],
  [ROTATE_SQL, { summary: 'rotate refresh token' }],
  [CLASSIFY_SQL, { summary: 'classify refresh token', operation: 'SELECT' }],
  [SHARE_SQL, { summary: 'share refresh successor' }],
  [RETRY_SQL, { summary: 'retry refresh rotation' }],
  [REVOKE_FAMILY_SQL, { summary: 'revoke session family' }],
  [FIND_FAMILY_SQL, { summary: 'find session of refresh token', operation: 'SELECT', table: TOKENS }],
  [REVOKE_SESSION_SQL, { summary: 'revoke session' }],
  [REVOKE_USER_SQL, { summary: 'revoke user sessions' }],
  [LIST_SESSIONS_SQL, { summary: 'list sessions', operation: 'SELECT', table: SESSIONS }],
  [DELETE_DEAD_TOKENS_SQL, { summary: 'delete dead refresh tokens', operation: 'DELETE' }],
  [DROP_OLD_SEALS_SQL, { summary: 'drop old refresh successors', operation: 'UPDATE', table: TOKENS }],
  [DELETE_ENDED_SESSIONS_SQL, { summary: 'delete ended sessions', operation: 'DELETE', table: SESSIONS }],
  [LIST_REVOKED_SQL, { summary: 'list revoked sessions', operation: 'SELECT', table: SESSIONS, background: true }],
]);
