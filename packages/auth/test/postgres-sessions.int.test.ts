import { createHash } from 'node:crypto';
import { createTestDatabase } from '@switchboard/infra';
import pg from 'pg';
import { afterAll, describe, expect, inject, test, vi } from 'vitest';
import { AuthError, createAuth, generateSigningKey } from '../src/index.ts';
import { createPostgresSessionStore, migrations } from '../src/postgres.ts';

const pools: pg.Pool[] = [];
const MINUTE = 60_000;

/** A database of its own; migrated unless told otherwise. */
async function isolatedPool(migrate = true) {
  const db = await createTestDatabase(inject('infra'), 'auth_sessions');
  const pool = new pg.Pool({ connectionString: db.primary, max: 6 });
  pools.push(pool);
  if (migrate) for (const migration of migrations) await pool.query(migration.sql);
  return pool;
}

afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.end()));
});

const hash = (token: string) => createHash('sha256').update(token).digest('hex');
const options = { issuer: 'https://auth.test', audience: 'api' };

describe('createPostgresSessionStore: refresh grace period', () => {
  test('two app instances (two pools), 5 refreshes each at once: all get the same successor, one live chain', async () => {
    const pool = await isolatedPool();
    const second = new pg.Pool({
      connectionString: (pool as unknown as { options: { connectionString: string } }).options.connectionString,
      max: 6,
    });
    pools.push(second);
    const keys = [await generateSigningKey()];
    const a = await createAuth({ ...options, keys, stores: { sessions: createPostgresSessionStore({ pool }) } });
    const b = await createAuth({
      ...options,
      keys,
      stores: { sessions: createPostgresSessionStore({ pool: second }) },
    });
    for (let round = 0; round < 5; round++) {
      const user = `tabs-${round}`;
      const pair = await a.issueTokens({ id: user });
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).refresh(pair.refreshToken)),
      );
      expect(new Set(results.map((result) => result.refreshToken)).size).toBe(1);
      const { rows } = await pool.query(
        `SELECT count(*)::int AS live FROM switchboard_auth_refresh_tokens t
           JOIN switchboard_auth_sessions s ON s.id = t.session_id
          WHERE s.user_id = $1 AND t.consumed_at IS NULL`,
        [user],
      );
      expect(rows[0].live).toBe(1);
      await a.refresh(results[0]?.refreshToken as string);
      expect(await b.listSessions(user)).toHaveLength(1);
    }
    await Promise.all([a.close(), b.close()]);
  });

  test('the table holds the successor only sealed, and only until the successor is used', async () => {
    const pool = await isolatedPool();
    const auth = await createAuth({
      ...options,
      keys: [await generateSigningKey()],
      stores: { sessions: createPostgresSessionStore({ pool }) },
    });
    const first = await auth.issueTokens({ id: 'sealed' });
    const second = await auth.refresh(first.refreshToken);
    const { rows } = await pool.query<{ successor_sealed: string | null }>(
      'SELECT successor_sealed FROM switchboard_auth_refresh_tokens WHERE token_hash = $1',
      [hash(first.refreshToken)],
    );
    const sealed = rows[0]?.successor_sealed as string;
    expect(sealed).toEqual(expect.any(String));
    expect(sealed).not.toContain(second.refreshToken.slice(3));
    expect(Buffer.from(sealed, 'base64url').toString('latin1')).not.toContain(second.refreshToken.slice(3));
    await auth.refresh(second.refreshToken);
    const after = await pool.query(
      'SELECT token_hash FROM switchboard_auth_refresh_tokens WHERE successor_sealed IS NOT NULL',
    );
    // Only the newest consumed token (second) keeps a sealed successor.
    expect(after.rows).toEqual([{ token_hash: hash(second.refreshToken) }]);
    await auth.close();
  });
});

describe('createPostgresSessionStore: cleanup', () => {
  test('which rows go and which stay', async () => {
    const pool = await isolatedPool();
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const start = Date.now();
      const at = (minutes: number) => vi.setSystemTime(start + minutes * MINUTE);
      const auth = await createAuth({
        ...options,
        keys: [await generateSigningKey()],
        stores: { sessions: createPostgresSessionStore({ pool }) },
        refreshTtlMs: 10 * MINUTE,
        maxSessionMs: 20 * MINUTE,
      });
      const live0 = await auth.issueTokens({ id: 'live' });
      const gone = await auth.issueTokens({ id: 'revoked' });
      await auth.logout(gone.refreshToken);
      at(5);
      const live1 = await auth.refresh(live0.refreshToken);
      at(9);
      const live2 = await auth.refresh(live1.refreshToken);
      at(9.5);
      const live3 = await auth.refresh(live2.refreshToken);
      at(12);
      expect(await auth.cleanup()).toEqual({ tokens: 1, sessions: 0 });
      const tokens = await pool.query<{ token_hash: string; consumed: boolean; sealed: boolean }>(
        `SELECT token_hash, consumed_at IS NOT NULL AS consumed, successor_sealed IS NOT NULL AS sealed
           FROM switchboard_auth_refresh_tokens ORDER BY expires_at`,
      );
      // live0 expired (10 min) and went; live1 and live2, consumed, stay for reuse detection;
      // no sealed successor is older than the 10 s leeway any more.
      expect(tokens.rows).toEqual([
        { token_hash: hash(live1.refreshToken), consumed: true, sealed: false },
        { token_hash: hash(live2.refreshToken), consumed: true, sealed: false },
        { token_hash: hash(live3.refreshToken), consumed: false, sealed: false },
      ]);
      const sessions = await pool.query('SELECT user_id FROM switchboard_auth_sessions ORDER BY user_id');
      // The revoked session's row stays while its access tokens could still be presented.
      expect(sessions.rows).toEqual([{ user_id: 'live' }, { user_id: 'revoked' }]);
      at(17);
      // live1 expired at 15 min; the revoked session ended 17 min ago (kept 16).
      expect(await auth.cleanup()).toEqual({ tokens: 1, sessions: 1 });
      // attack: live2, consumed and kept, replayed after cleanup: still reuse.
      await expect(auth.refresh(live2.refreshToken)).rejects.toMatchObject({ code: 'REFRESH_TOKEN_REUSED' });
      await expect(auth.refresh(live3.refreshToken)).rejects.toMatchObject({ code: 'INVALID_REFRESH_TOKEN' });
      await auth.close();
    } finally {
      vi.useRealTimers();
    }
  });

  test('pg errors reach callers as AuthError STORE_UNAVAILABLE, the pg error kept as cause', async () => {
    const unmigrated = await isolatedPool(false);
    const auth = await createAuth({
      ...options,
      keys: [await generateSigningKey()],
      stores: { sessions: createPostgresSessionStore({ pool: unmigrated }) },
    });
    for (const call of [
      () => auth.issueTokens({ id: 'u1' }),
      () => auth.refresh(`rt_${'A'.repeat(43)}`),
      () => auth.listSessions('u1'),
      () => auth.cleanup(),
    ]) {
      const error = await call().then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(error).toBeInstanceOf(AuthError);
      expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE', cause: { code: '42P01' } });
      expect(error).toHaveProperty('cause.message', expect.stringContaining('switchboard_auth_'));
    }
    await auth.close();
  });
});
