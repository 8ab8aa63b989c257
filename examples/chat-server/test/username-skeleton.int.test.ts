import { createTestDatabase } from '@switchboard/infra';
import { confusableSkeleton } from '@switchboard/validation';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { migrationSources } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { codeOf, gql, TEST_PASSWORD } from './client.ts';
import { type Instances, startInstances } from './instances.ts';

const SKELETON_MIGRATION = '0006_username_skeleton';
const REGISTER = `mutation($input: RegisterInput!) { register(input: $input) { user { id username displayName } } }`;
const LOGIN = `mutation($input: LoginInput!) { login(input: $input) { user { id } } }`;

let instances: Instances;
let url: string;
const pools: pg.Pool[] = [];
// A run's own names: a base36 stamp of letters only (digits would themselves be look-alikes).
const run = Date.now()
  .toString(36)
  .replace(/[0-9]/g, (digit) => 'abcdefghij'[Number(digit)] as string);

beforeAll(async () => {
  const db = await createTestDatabase(inject('infra'), 'chat_skeleton');
  instances = await startInstances({ primary: db.primary, limits: { authPerIpPerMinute: 10_000 } });
  url = instances.urls[0] as string;
});

afterAll(async () => {
  await instances?.close();
  await Promise.all(pools.map((pool) => pool.end()));
});

const register = (username: string, displayName?: string) =>
  gql<{ register: { user: { id: string; username: string; displayName: string | null } } }>(url, REGISTER, {
    input: { username, email: `${username}@example.com`, password: TEST_PASSWORD, displayName },
  });

describe('usernames are unique by how they look (UTS #39 skeleton)', () => {
  test('look-alikes of a taken username are refused at registration', async () => {
    for (const name of [`mallory${run}`, `walter${run}`, `bob${run}`, `hello${run}`]) {
      expect((await register(name)).errors, name).toBeUndefined();
    }
    for (const lookAlike of [`rnallory${run}`, `vvalter${run}`, `b0b${run}`, `he11o${run}`, `MALLORY${run}`]) {
      const refused = await register(lookAlike);
      expect(codeOf(refused), lookAlike).toBe('BAD_USER_INPUT');
      expect(refused.errors?.[0]?.message).toMatch(/looks like it/);
    }
    // Names that only share letters are fine.
    expect((await register(`malloy${run}`)).errors).toBeUndefined();
  });

  test('reserved names are refused by their look too', async () => {
    const refused = await register('adrnin');
    expect(codeOf(refused)).toBe('BAD_USER_INPUT');
    expect(JSON.stringify(refused.errors?.[0]?.extensions?.issues)).toContain('is reserved');
  });

  test('login takes the canonical form registration stored (full-width letters log in)', async () => {
    const name = `carol${run}`;
    const registered = await register(name);
    const fullWidth = [...name].map((c) => String.fromCodePoint((c.codePointAt(0) as number) + 0xfee0)).join('');
    const login = await gql<{ login: { user: { id: string } } }>(url, LOGIN, {
      input: { username: fullWidth, password: TEST_PASSWORD },
    });
    expect(login.data?.login.user.id).toBe(registered.data?.register.user.id);
  });
});

describe('display names', () => {
  test("a display name that looks like another user's username is refused (impersonation)", async () => {
    const victim = `dave${run}`;
    expect((await register(victim)).errors).toBeUndefined();
    // The same letters in capitals, and with a Cyrillic а for the Latin a.
    for (const [suffix, displayName] of [
      ['x', victim.toUpperCase()],
      ['y', victim.replace('a', '\u0430')],
    ] as const) {
      const refused = await register(`eve${run}${suffix}`, displayName);
      expect(codeOf(refused), displayName).toBe('BAD_USER_INPUT');
      expect(refused.errors?.[0]?.extensions?.issues).toEqual([
        { path: ['displayName'], message: "must not look like another user's username" },
      ]);
    }
    // One's own username, in any case, is a fine display name; so is an unrelated one.
    const own = `frank${run}`;
    expect((await register(own, own.toUpperCase())).data?.register.user.displayName).toBe(own.toUpperCase());
    expect((await register(`grace${run}`, 'Grace <3')).data?.register.user.displayName).toBe('Grace <3');
  });

  test('display names are plain text: markup is a field error', async () => {
    const refused = await register(`heidi${run}`, '<b>Heidi</b>');
    expect(codeOf(refused)).toBe('BAD_USER_INPUT');
    expect(JSON.stringify(refused.errors?.[0]?.extensions?.issues)).toContain('must be plain text');
  });
});

describe(`migration ${SKELETON_MIGRATION}`, () => {
  const freshPool = async () => {
    const db = await createTestDatabase(inject('infra'), 'chat_skeleton_migration');
    const pool = new pg.Pool({ connectionString: db.primary, max: 2 });
    pools.push(pool);
    return pool;
  };
  /** Every migration, or those before the skeleton one. */
  const sources = async (upTo?: string) =>
    (await migrationSources()).map((source) =>
      upTo && source.owner === 'chat-server'
        ? { ...source, migrations: source.migrations.filter((migration) => migration.id < upTo) }
        : source,
    );

  test('its SQL skeleton agrees with confusableSkeleton on every character a username may hold', async () => {
    const pool = await freshPool();
    await migrate(pool, await sources());
    const alphabet = [...'abcdefghijklmnopqrstuvwxyz0123456789_.-'];
    const { rows } = await pool.query<{ skeleton: string }>(
      'SELECT username_skeleton(c) AS skeleton FROM unnest($1::text[]) WITH ORDINALITY AS t(c, n) ORDER BY n',
      [alphabet],
    );
    expect(rows.map((row) => row.skeleton)).toEqual(alphabet.map((c) => confusableSkeleton(c)));
  });

  test('existing look-alike accounts are kept and reported; the oldest holds the look', async () => {
    const pool = await freshPool();
    await migrate(pool, await sources(SKELETON_MIGRATION));
    const insert = (id: string, username: string, createdAt: string) =>
      pool.query(
        `INSERT INTO users (id, username, email, password_hash, created_at) VALUES ($1, $2, $2 || '@example.com', 'x', $3)`,
        [id, username, createdAt],
      );
    const [older, newer, other] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    await insert(older, 'mallory', '2026-01-01');
    await insert(newer, 'rnallory', '2026-02-01');
    await insert(other, 'trent', '2026-03-01');

    expect(await migrate(pool, await sources())).toContain(`chat-server:${SKELETON_MIGRATION}`);
    const { rows: users } = await pool.query<{ username: string; username_skeleton: string | null }>(
      'SELECT username, username_skeleton FROM users ORDER BY created_at',
    );
    expect(users).toEqual([
      { username: 'mallory', username_skeleton: 'rnallory' },
      { username: 'rnallory', username_skeleton: null },
      { username: 'trent', username_skeleton: 'trent' },
    ]);
    const { rows: report } = await pool.query('SELECT user_id, skeleton, kept_user_id FROM username_collisions');
    expect(report).toEqual([{ user_id: newer, skeleton: 'rnallory', kept_user_id: older }]);
    // Nobody new takes that look.
    await expect(
      pool.query(
        "INSERT INTO users (id, username, email, password_hash, username_skeleton) VALUES ($1, 'rnallory2', 'x@example.com', 'x', 'rnallory')",
        [crypto.randomUUID()],
      ),
    ).rejects.toMatchObject({ code: '23505' });
  });
});
