import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase } from '@switchboard/infra';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { MigrationError, type MigrationSource, migrate, readSqlMigrations } from '../src/db/migrate.ts';

const pools: pg.Pool[] = [];

async function freshPool(): Promise<pg.Pool> {
  const db = await createTestDatabase(inject('infra'), 'chat_migrate');
  const pool = new pg.Pool({ connectionString: db.primary, max: 4 });
  pools.push(pool);
  return pool;
}

const tableNames = async (pool: pg.Pool) =>
  (
    await pool.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
    )
  ).rows.map((row) => row.table_name);

const sources = (extra = ''): MigrationSource[] => [
  { owner: 'lib', migrations: [{ id: '0001_items', sql: 'CREATE TABLE items (id int PRIMARY KEY)' }] },
  {
    owner: 'app',
    migrations: [
      { id: '0001_items', sql: 'CREATE TABLE app_items (id int PRIMARY KEY REFERENCES items)' },
      { id: '0002_notes', sql: `CREATE TABLE notes (id int PRIMARY KEY); ${extra}` },
    ],
  },
];

afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.end()));
});

describe('migrate', () => {
  let pool: pg.Pool;
  beforeAll(async () => {
    pool = await freshPool();
  });

  test('applies every migration once, in order, and records it under its owner', async () => {
    expect(await migrate(pool, sources())).toEqual(['lib:0001_items', 'app:0001_items', 'app:0002_notes']);
    expect(await tableNames(pool)).toEqual(['app_items', 'items', 'notes', 'switchboard_migrations']);
    expect(await migrate(pool, sources())).toEqual([]);
  });

  test('refuses a migration edited after it was applied', async () => {
    await expect(migrate(pool, sources('SELECT 1;'))).rejects.toThrow(MigrationError);
    await expect(migrate(pool, sources('SELECT 1;'))).rejects.toThrow(/app:0002_notes was changed/);
  });
});

test('instances starting together take turns: each migration runs exactly once', async () => {
  const pool = await freshPool();
  const others = [
    pool,
    ...(await Promise.all([1, 2, 3].map(() => new pg.Pool({ connectionString: poolUrl(pool), max: 2 })))),
  ];
  pools.push(...others.slice(1));
  // Without the lock, concurrent runners would both try CREATE TABLE and one would fail.
  const results = await Promise.all(others.map((each) => migrate(each, sources())));
  expect(results.flat().sort()).toEqual(['app:0001_items', 'app:0002_notes', 'lib:0001_items']);
  const { rows } = await pool.query('SELECT count(*)::int AS n FROM switchboard_migrations');
  expect(rows[0].n).toBe(3);
});

test('a failing migration leaves nothing half-applied and stops the run', async () => {
  const pool = await freshPool();
  const broken: MigrationSource[] = [
    {
      owner: 'app',
      migrations: [
        { id: '0001_ok', sql: 'CREATE TABLE ok (id int)' },
        { id: '0002_bad', sql: 'CREATE TABLE half (id int); SELECT * FROM missing_table' },
        { id: '0003_never', sql: 'CREATE TABLE never (id int)' },
      ],
    },
  ];
  await expect(migrate(pool, broken)).rejects.toThrow(/app:0002_bad failed: relation "missing_table" does not exist/);
  expect(await tableNames(pool)).toEqual(['ok', 'switchboard_migrations']);
  // The lock was released: another run can proceed (and fails at the same place).
  await expect(migrate(pool, broken)).rejects.toThrow(MigrationError);
});

test('readSqlMigrations reads .sql files in file-name order', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sb-migrations-'));
  await writeFile(join(dir, '0002_b.sql'), 'SELECT 2');
  await writeFile(join(dir, '0001_a.sql'), 'SELECT 1');
  await writeFile(join(dir, 'README.md'), 'not a migration');
  expect(await readSqlMigrations(dir)).toEqual([
    { id: '0001_a', sql: 'SELECT 1' },
    { id: '0002_b', sql: 'SELECT 2' },
  ]);
});

function poolUrl(pool: pg.Pool): string {
  const options = pool.options as { connectionString: string };
  return options.connectionString;
}
