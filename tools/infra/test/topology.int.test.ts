import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { createTestDatabase, testKeyPrefix } from '../src/index.ts';
import type { PostgresInfo } from '../src/types.ts';
import { waitFor } from './wait-for.ts';

const infra = inject('infra');

describe('shared Postgres topology', () => {
  let db: PostgresInfo;
  let primary: pg.Pool;
  let replicas: pg.Pool[];

  beforeAll(async () => {
    db = await createTestDatabase(infra, 'infra_smoke');
    primary = new pg.Pool({ connectionString: db.primary, max: 2 });
    replicas = db.replicas.map((url) => new pg.Pool({ connectionString: url, max: 2 }));
    await primary.query('CREATE TABLE smoke (id int PRIMARY KEY, note text NOT NULL)');
  });

  afterAll(async () => {
    await Promise.all([primary, ...replicas].map((pool) => pool?.end()));
  });

  test('has a primary and two streaming replicas in recovery', async () => {
    expect(replicas).toHaveLength(2);
    const { rows } = await primary.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
    expect(rows[0]?.r).toBe(false);
    for (const replica of replicas) {
      const result = await replica.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
      expect(result.rows[0]?.r).toBe(true);
    }
  });

  test('a row written on the primary is read on each replica', async () => {
    await primary.query('INSERT INTO smoke (id, note) VALUES (1, $1)', ['written on the primary']);
    for (const replica of replicas) {
      const note = await waitFor(
        async () => (await replica.query<{ note: string }>('SELECT note FROM smoke WHERE id = 1')).rows[0]?.note,
        { timeoutMs: 5_000 },
      );
      expect(note).toBe('written on the primary');
    }
  });

  test('a replica refuses writes (read-only transaction, SQLSTATE 25006)', async () => {
    const replica = replicas[0];
    if (!replica) throw new Error('no replica');
    await expect(replica.query('INSERT INTO smoke (id, note) VALUES (2, $1)', ['nope'])).rejects.toMatchObject({
      code: '25006',
    });
  });

  test('each test database is separate: another file cannot see this table', async () => {
    const other = await createTestDatabase(infra, 'infra_other');
    const client = new pg.Client({ connectionString: other.primary });
    await client.connect();
    try {
      const { rows } = await client.query<{ t: string | null }>("SELECT to_regclass('smoke')::text AS t");
      expect(rows[0]?.t).toBeNull();
    } finally {
      await client.end();
    }
  });
});

describe('shared Redis topology', () => {
  const prefix = testKeyPrefix('infra_smoke');
  let client: Redis;

  beforeAll(async () => {
    const redis = infra.redis;
    if (!redis) throw new Error('no redis in the shared topology');
    client = new Redis({ sentinels: redis.sentinels, name: redis.masterName, lazyConnect: true });
    await client.connect();
  });

  afterAll(async () => {
    client?.disconnect();
  });

  test('the Sentinels lead an ioredis client to the master, whose writes reach both replicas', async () => {
    const redis = infra.redis;
    if (!redis) throw new Error('no redis');
    expect(redis.sentinels).toHaveLength(3);
    expect(redis.replicas).toHaveLength(2);
    await client.set(`${prefix}greeting`, 'hello');
    // WAIT returns how many replicas acknowledged the write.
    expect(await client.wait(2, 5_000)).toBe(2);
    for (const url of redis.replicas) {
      const replica = new Redis(url, { lazyConnect: true });
      await replica.connect();
      try {
        expect(await replica.get(`${prefix}greeting`)).toBe('hello');
        const role = (await replica.call('ROLE')) as unknown[];
        expect(role[0]).toBe('slave');
      } finally {
        replica.disconnect();
      }
    }
  });
});
