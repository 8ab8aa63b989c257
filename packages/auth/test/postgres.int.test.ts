import { countQueries, createTestDatabase } from '@switchboard/infra';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { createAuth, generateSigningKey } from '../src/index.ts';
import { createPostgresSessionStore, migrations } from '../src/postgres.ts';
import { sessionStoreContract } from '../src/testing.ts';

let pool: pg.Pool;
let second: pg.Pool;
const extraPools: pg.Pool[] = [];

/** A store over a database of its own, migrated: tests never see each other's sessions. */
async function isolatedStore() {
  const db = await createTestDatabase(inject('infra'), 'auth_case');
  const own = new pg.Pool({ connectionString: db.primary, max: 3 });
  extraPools.push(own);
  for (const migration of migrations) await own.query(migration.sql);
  return createPostgresSessionStore({ pool: own });
}

beforeAll(async () => {
  const db = await createTestDatabase(inject('infra'), 'auth');
  pool = new pg.Pool({ connectionString: db.primary, max: 5 });
  second = new pg.Pool({ connectionString: db.primary, max: 5 });
  for (const migration of migrations) await pool.query(migration.sql);
  // Idempotent: a runner that applies them twice does no harm.
  for (const migration of migrations) await pool.query(migration.sql);
});

afterAll(async () => {
  await pool?.end();
  await second?.end();
  await Promise.all(extraPools.map((own) => own.end()));
});

// The published contract (tokens, sessions, cleanup, revocation) over the Postgres store.
sessionStoreContract({ name: 'postgres', store: isolatedStore });

describe('createPostgresSessionStore', () => {
  test('concurrent refreshes from two app instances (two pools), reuseLeewayMs 0: exactly one rotates', async () => {
    const keys = [await generateSigningKey()];
    const options = { issuer: 'https://auth.test', audience: 'api', keys, reuseLeewayMs: 0 };
    const a = await createAuth({ ...options, stores: { sessions: createPostgresSessionStore({ pool }) } });
    const b = await createAuth({ ...options, stores: { sessions: createPostgresSessionStore({ pool: second }) } });
    for (let round = 0; round < 20; round++) {
      const pair = await a.issueTokens({ id: `racer-${round}` });
      const results = await Promise.allSettled([a.refresh(pair.refreshToken), b.refresh(pair.refreshToken)]);
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    }
  });

  test('a refresh racing "sign out everywhere" never leaves a live session behind', async () => {
    const keys = [await generateSigningKey()];
    const options = { issuer: 'https://auth.test', audience: 'api', keys };
    const a = await createAuth({ ...options, stores: { sessions: createPostgresSessionStore({ pool }) } });
    const b = await createAuth({ ...options, stores: { sessions: createPostgresSessionStore({ pool: second }) } });
    for (let round = 0; round < 20; round++) {
      const user = `signout-${round}`;
      const pair = await a.issueTokens({ id: user });
      const [refreshed] = await Promise.allSettled([a.refresh(pair.refreshToken), b.revokeAllSessions(user)]);
      expect(await a.listSessions(user)).toEqual([]);
      if (refreshed.status === 'fulfilled') {
        await expect(a.refresh(refreshed.value.refreshToken)).rejects.toMatchObject({ code: 'INVALID_REFRESH_TOKEN' });
      }
    }
  });

  test('a refresh is one round trip to Postgres', async () => {
    const counting = countQueries(pool);
    const auth = await createAuth({
      issuer: 'https://auth.test',
      audience: 'api',
      keys: [await generateSigningKey()],
      stores: { sessions: createPostgresSessionStore({ pool: counting }) },
    });
    const pair = await auth.issueTokens({ id: 'round-trips' });
    expect(counting.queries).toBe(1);
    counting.queries = 0;
    await auth.refresh(pair.refreshToken);
    expect(counting.queries).toBe(1);
  });

  test('the tables hold hashes, never refresh tokens', async () => {
    const auth = await createAuth({
      issuer: 'https://auth.test',
      audience: 'api',
      keys: [await generateSigningKey()],
      stores: { sessions: createPostgresSessionStore({ pool }) },
    });
    const pair = await auth.issueTokens({ id: 'hash-check' });
    const { rows } = await pool.query('SELECT token_hash FROM switchboard_auth_refresh_tokens');
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.some((row: { token_hash: string }) => row.token_hash.includes(pair.refreshToken.slice(3)))).toBe(false);
  });
});
