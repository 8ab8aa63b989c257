import { countQueries, createTestDatabase } from '@switchboard/infra';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import {
  type Connection,
  createPaginator,
  InvalidCursorError,
  NullSortKeyError,
  type Queryable,
} from '../src/index.ts';
import { oracleSort, orders, rowsArbitrary, type TestRow, walkAndCheck, walkArbitrary } from './oracle.ts';

let pool: pg.Pool;
beforeAll(async () => {
  const db = await createTestDatabase(inject('infra'), 'pagination');
  pool = new pg.Pool({ connectionString: db.primary, max: 4 });
  await pool.query(`
    CREATE TABLE items (id int PRIMARY KEY, chat_id int NOT NULL, created_at timestamptz NOT NULL, score int, label text);
    CREATE TABLE big (id int PRIMARY KEY, chat_id int NOT NULL, created_at timestamptz NOT NULL, score int);
    INSERT INTO big
      SELECT g, g % 10, timestamptz '2024-01-01 00:00:00+00' + (g / 3) * interval '1 second', NULLIF(g % 7, 0)
      FROM generate_series(1, 30000) g;
    CREATE INDEX big_newest ON big (chat_id, created_at DESC, id DESC);
    CREATE INDEX big_score ON big (score ASC NULLS FIRST, created_at DESC, id ASC);
    ANALYZE big;
  `);
});
afterAll(() => pool?.end());

async function load(rows: readonly TestRow[]): Promise<void> {
  await pool.query('TRUNCATE items');
  await pool.query(
    `INSERT INTO items (id, chat_id, created_at, score)
     SELECT id, chat_id, timestamptz '2024-01-01 00:00:00+00' + t * interval '1 microsecond', score
     FROM unnest($1::int[], $2::int[], $3::int[], $4::int[]) AS r(id, chat_id, t, score)`,
    [rows.map((row) => row.id), rows.map((row) => row.chatId), rows.map((row) => row.t), rows.map((row) => row.score)],
  );
}

const newest = createPaginator({
  orderBy: [
    { field: 'createdAt', column: 'created_at', direction: 'desc' },
    { field: 'id', column: 'id', direction: 'desc' },
  ],
  maxPageSize: 50,
});
const inChat = (chatId: number) => ({ table: 'items', where: 'chat_id = $1', params: [chatId] });

describe('fromPostgres against the oracle, on real Postgres', () => {
  for (const { name, orderBy } of orders) {
    test(`walks ${name} forward then backward: the oracle's order, pageInfo per the spec`, async () => {
      const paginators = {
        spec: createPaginator({ orderBy, maxPageSize: 50 }),
        exact: createPaginator({ orderBy, maxPageSize: 50, exactPageInfo: true }),
        specPrepared: createPaginator({ orderBy, maxPageSize: 50, preparedStatements: true }),
        exactPrepared: createPaginator({ orderBy, maxPageSize: 50, exactPageInfo: true, preparedStatements: true }),
      };
      await fc.assert(
        fc.asyncProperty(
          rowsArbitrary(30),
          walkArbitrary,
          fc.constantFrom(1, 2),
          fc.boolean(),
          fc.boolean(),
          async (rows, walk, chatId, viaQuery, prepared) => {
            await load(rows);
            const paginator = walk.exact
              ? prepared
                ? paginators.exactPrepared
                : paginators.exact
              : prepared
                ? paginators.specPrepared
                : paginators.spec;
            const source = viaQuery
              ? { query: 'SELECT i.*, i.id * 2 AS doubled FROM items i WHERE i.chat_id = $1', params: [chatId] }
              : inChat(chatId);
            await walkAndCheck(
              (args) => paginator.fromPostgres<{ id: number }>(pool, source, args),
              oracleSort(
                rows.filter((row) => row.chatId === chatId),
                orderBy,
              ),
              walk.sizes,
              walk.extra,
              walk.exact,
            );
          },
        ),
        { numRuns: 40 },
      );
    });
  }
});

describe('fromPostgres', () => {
  test('keeps microseconds: rows one microsecond apart are neither skipped nor repeated', async () => {
    await load([
      { id: 1, chatId: 1, t: 3, score: null },
      { id: 2, chatId: 1, t: 2, score: null },
      { id: 3, chatId: 1, t: 1, score: null },
      { id: 4, chatId: 1, t: 0, score: null },
    ]);
    const ids: number[] = [];
    let after: string | null = null;
    for (let i = 0; i < 4; i++) {
      const page: Connection<{ id: number }> = await newest.fromPostgres(pool, inChat(1), { first: 1, after });
      ids.push(...page.edges.map((edge) => edge.node.id));
      after = page.pageInfo.endCursor;
    }
    expect(ids).toEqual([1, 2, 3, 4]);
  });

  test('postgresCursor equals the cursor fromPostgres gives the row, and resumes after it', async () => {
    await load(Array.from({ length: 6 }, (_, i) => ({ id: i + 1, chatId: 1, t: i, score: null })));
    const page = await newest.fromPostgres(pool, inChat(1), { first: 3 });
    const third = page.edges[2];
    const { rows } = await pool.query(
      `SELECT to_jsonb(created_at) #>> '{}' AS created_at, id::text AS id FROM items WHERE id = $1`,
      [third?.node && (third.node as { id: number }).id],
    );
    const cursor = newest.postgresCursor([rows[0].created_at, rows[0].id], inChat(1));
    expect(cursor).toBe(third?.cursor);
    const next = await newest.fromPostgres<{ id: number }>(pool, inChat(1), { first: 10, after: cursor });
    expect(next.edges.map((edge) => edge.node.id)).toEqual([3, 2, 1]);
    // Bound like any other cursor: not valid for another chat, and malformed values are refused.
    await expect(newest.fromPostgres(pool, inChat(2), { first: 1, after: cursor })).rejects.toThrow(InvalidCursorError);
    expect(() => newest.postgresCursor([rows[0].created_at], inChat(1))).toThrow(TypeError);
    expect(() => newest.postgresCursor([rows[0].created_at, 3 as never], inChat(1))).toThrow(TypeError);
    expect(() => newest.postgresCursor([rows[0].created_at, null], inChat(1))).toThrow(/not nullable/);
  });

  test('one query per page; totalCount only when asked for, counting the filter', async () => {
    await load(Array.from({ length: 9 }, (_, i) => ({ id: i + 1, chatId: (i % 3) + 1, t: i, score: null })));
    const counted = countQueries(pool);
    const page = await newest.fromPostgres(counted, inChat(1), { first: 2 });
    expect(counted.queries).toBe(1);
    expect(page).not.toHaveProperty('totalCount');
    const withCount = await newest.fromPostgres(counted, inChat(1), { first: 2 }, { totalCount: true });
    expect(counted.queries).toBe(3);
    expect(withCount.totalCount).toBe(3);
  });

  test('select narrows the nodes (key columns never leak into them); totalCount over a base query', async () => {
    await load(Array.from({ length: 5 }, (_, i) => ({ id: i + 1, chatId: (i % 2) + 1, t: i, score: i })));
    const page = await newest.fromPostgres(pool, { ...inChat(1), select: 'id, score' }, { first: 2 });
    expect(page.edges.map((edge) => edge.node)).toEqual([
      { id: 5, score: 4 },
      { id: 3, score: 2 },
    ]);
    const joined = await newest.fromPostgres(
      pool,
      { query: 'SELECT i.id, i.created_at, i.score * 10 AS tens FROM items i WHERE i.chat_id = $1', params: [2] },
      { last: 1 },
      { totalCount: true },
    );
    expect(joined.edges.map((edge) => edge.node)).toEqual([{ id: 2, created_at: expect.any(Date), tens: 10 }]);
    expect(joined.totalCount).toBe(2);
    expect(joined.pageInfo.hasPreviousPage).toBe(true);
  });

  test('a cursor whose row was deleted still pages from its position', async () => {
    await load(Array.from({ length: 10 }, (_, i) => ({ id: i + 1, chatId: 1, t: i % 3, score: null })));
    const first = await newest.fromPostgres<{ id: number }>(pool, inChat(1), { first: 4 });
    const all = await newest.fromPostgres<{ id: number }>(pool, inChat(1), { first: 10 });
    await pool.query('DELETE FROM items WHERE id = $1', [first.edges[3]?.node.id]);
    const next = await newest.fromPostgres<{ id: number }>(pool, inChat(1), {
      first: 10,
      after: first.pageInfo.endCursor,
    });
    expect(next.edges.map((edge) => edge.node.id)).toEqual(all.edges.slice(4).map((edge) => edge.node.id));
    const back = await newest.fromPostgres<{ id: number }>(pool, inChat(1), {
      last: 10,
      before: first.pageInfo.endCursor,
    });
    expect(back.edges.map((edge) => edge.node.id)).toEqual(all.edges.slice(0, 3).map((edge) => edge.node.id));
  });

  test('a cursor from another chat, another table, another order or another filter is refused', async () => {
    await load(Array.from({ length: 6 }, (_, i) => ({ id: i + 1, chatId: (i % 2) + 1, t: i, score: null })));
    const cursor = (await newest.fromPostgres(pool, inChat(1), { first: 1 })).pageInfo.endCursor as string;
    const attempts: [string, () => Promise<unknown>][] = [
      ['other chat', () => newest.fromPostgres(pool, inChat(2), { after: cursor })],
      [
        'other table',
        () => newest.fromPostgres(pool, { table: 'big', where: 'chat_id = $1', params: [1] }, { after: cursor }),
      ],
      [
        'other filter',
        () => newest.fromPostgres(pool, { table: 'items', where: 'chat_id >= $1', params: [1] }, { after: cursor }),
      ],
      ['no filter', () => newest.fromPostgres(pool, { table: 'items' }, { before: cursor })],
      [
        'other order',
        () =>
          createPaginator({ orderBy: [{ field: 'createdAt', column: 'created_at' }, { field: 'id' }] }).fromPostgres(
            pool,
            inChat(1),
            {
              after: cursor,
            },
          ),
      ],
      [
        'signed paginator',
        () =>
          createPaginator({ orderBy: newest.orderBy, secret: 'x'.repeat(32) }).fromPostgres(pool, inChat(1), {
            after: cursor,
          }),
      ],
    ];
    for (const [label, attempt] of attempts) {
      await expect(attempt(), label).rejects.toBeInstanceOf(InvalidCursorError);
    }
    expect((await newest.fromPostgres(pool, inChat(1), { after: cursor })).edges.length).toBe(2);
  });

  test('a forged key value Postgres cannot read is an InvalidCursorError, not a 500', async () => {
    await load([{ id: 1, chatId: 1, t: 0, score: null }]);
    // Same queryKey, so the binding matches; the "created_at" there is not a timestamp.
    const forged = (
      await newest.fromPostgres(
        pool,
        { query: "SELECT 'yesterday-ish'::text AS created_at, 1 AS id" },
        { first: 1 },
        { queryKey: 'k' },
      )
    ).pageInfo.endCursor;
    const error = await newest
      .fromPostgres(pool, inChat(1), { after: forged }, { queryKey: 'k' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidCursorError);
    expect(error).toMatchObject({ reason: 'rejected-by-database', argument: 'after' });
  });

  test('client text in a cursor only ever travels as a parameter', async () => {
    await pool.query(`TRUNCATE items; INSERT INTO items VALUES
      (1, 1, now(), NULL, $$'); DROP TABLE items; --$$), (2, 1, now(), NULL, $$a"b$$), (3, 1, now(), NULL, 'zz')`);
    const byLabel = createPaginator({ orderBy: [{ field: 'label' }, { field: 'id' }] });
    const first = await byLabel.fromPostgres<{ id: number }>(pool, { table: 'items' }, { first: 1 });
    const rest = await byLabel.fromPostgres<{ id: number }>(
      pool,
      { table: 'items' },
      { first: 5, after: first.pageInfo.endCursor },
    );
    // The test database uses the C collation: byte order.
    expect([...first.edges, ...rest.edges].map((edge) => edge.node.id)).toEqual([1, 2, 3]);
    expect((await pool.query('SELECT count(*)::int AS n FROM items')).rows[0].n).toBe(3);
  });

  test('identifiers never come from input; SQL with a missing parameter fails at the call', async () => {
    await expect(newest.fromPostgres(pool, { table: 'items; DROP TABLE items' }, {})).rejects.toThrow(TypeError);
    await expect(newest.fromPostgres(pool, { table: '"items"' }, {})).rejects.toThrow(TypeError);
    await expect(newest.fromPostgres(pool, { table: 'items', query: 'SELECT 1' }, {})).rejects.toThrow(TypeError);
    await expect(newest.fromPostgres(pool, { table: 'items', where: 'chat_id = $2', params: [1] }, {})).rejects.toThrow(
      /\$2/,
    );
    await expect(
      createPaginator({ orderBy: [{ field: 'created-at' }] }).fromPostgres(pool, { table: 'items' }, {}),
    ).rejects.toThrow(TypeError);
    expect((await newest.fromPostgres(pool, { table: 'public.items' }, { first: 1 })).edges).toHaveLength(1);
  });

  test('a NULL in a key not declared nullable is a NullSortKeyError', async () => {
    await load([{ id: 1, chatId: 1, t: 0, score: null }]);
    const byScore = createPaginator({ orderBy: [{ field: 'score' }, { field: 'id' }] });
    await expect(byScore.fromPostgres(pool, { table: 'items' }, {})).rejects.toBeInstanceOf(NullSortKeyError);
  });

  test('works on a client inside a transaction (sees its own uncommitted rows)', async () => {
    await load([]);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('INSERT INTO items VALUES (1, 1, now(), NULL, NULL), (2, 1, now(), NULL, NULL)');
      const page = await newest.fromPostgres<{ id: number }>(client, inChat(1), { first: 5 });
      expect(page.edges.map((edge) => edge.node.id)).toEqual([2, 1]);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
  });
});

describe('preparedStatements', () => {
  const prepared = createPaginator({ orderBy: newest.orderBy, maxPageSize: 50, preparedStatements: true });

  test('names each statement after its text: same shape, same name; the pages are the unprepared ones', async () => {
    await load(Array.from({ length: 7 }, (_, i) => ({ id: i + 1, chatId: 1, t: i, score: null })));
    const sent: unknown[] = [];
    const recording = {
      query: (config: { name: string; text: string; values: unknown[] }) => {
        sent.push(config);
        return pool.query(config);
      },
    } as unknown as Queryable;
    // The first page of a source also learns how to read its keys (see "key columns" below).
    await prepared.fromPostgres(pool, inChat(1), { first: 1 });
    const first = await prepared.fromPostgres(recording, inChat(1), { first: 2 });
    const again = await prepared.fromPostgres(recording, inChat(1), { first: 2 });
    const next = await prepared.fromPostgres(recording, inChat(1), { first: 2, after: first.pageInfo.endCursor });
    const counted = await prepared.fromPostgres(recording, inChat(1), { first: 3 }, { totalCount: true });
    const names = (sent as { name: string }[]).map((config) => config.name);
    expect(names).toHaveLength(5);
    for (const name of names) expect(name).toMatch(/^sb_page_[A-Za-z0-9_-]{32}$/);
    expect(names[1]).toBe(names[0]);
    expect(new Set(names).size).toBe(4);
    expect(first).toEqual(await newest.fromPostgres(pool, inChat(1), { first: 2 }));
    expect(again).toEqual(first);
    expect(next).toEqual(await newest.fromPostgres(pool, inChat(1), { first: 2, after: first.pageInfo.endCursor }));
    expect(counted).toEqual(await newest.fromPostgres(pool, inChat(1), { first: 3 }, { totalCount: true }));
  });

  test('a statement is parsed once per connection and reused', async () => {
    await load(Array.from({ length: 3 }, (_, i) => ({ id: i + 1, chatId: 1, t: i, score: null })));
    const client = await pool.connect();
    try {
      for (let i = 0; i < 3; i++) await prepared.fromPostgres(client, inChat(1), { first: 1 });
      const { rows } = await client.query(
        `SELECT name FROM pg_prepared_statements WHERE starts_with(name, 'sb_page_') AND statement = $1`,
        [
          // After the first page: the int id is read from `*`, the timestamptz as its JSON text.
          'SELECT *, to_jsonb("created_at") #>> \'{}\' AS "__sb_key_0" FROM "items" WHERE (chat_id = $1) ORDER BY "created_at" DESC, "id" DESC LIMIT 2',
        ],
      );
      expect(rows).toHaveLength(1);
    } finally {
      client.release();
    }
  });

  test('a forged key value Postgres cannot read is still an InvalidCursorError', async () => {
    await load([{ id: 1, chatId: 1, t: 0, score: null }]);
    const forged = (
      await prepared.fromPostgres(
        pool,
        { query: "SELECT 'not a time'::text AS created_at, 1 AS id" },
        { first: 1 },
        { queryKey: 'k' },
      )
    ).pageInfo.endCursor;
    const error = await prepared
      .fromPostgres(pool, inChat(1), { after: forged }, { queryKey: 'k' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: 'rejected-by-database', argument: 'after' });
  });
});

describe('the SQL uses the index', () => {
  const planOf = async (run: (db: Queryable) => Promise<unknown>) => {
    const statements: { text: string; values: unknown[] }[] = [];
    await run({
      query: (text, values) => {
        statements.push({ text, values: values ?? [] });
        return pool.query(text, values);
      },
    });
    const { text, values } = statements[0] as { text: string; values: unknown[] };
    const { rows } = await pool.query(`EXPLAIN (FORMAT JSON) ${text}`, values);
    return JSON.stringify(rows[0]['QUERY PLAN']);
  };

  test('row-value comparison: an index scan at any depth, no sort', async () => {
    const source = { table: 'big', where: 'chat_id = $1', params: [3] };
    const deep = await newest.fromPostgres(pool, source, { first: 50 });
    let cursor = deep.pageInfo.endCursor;
    for (let i = 0; i < 20; i++)
      cursor = (await newest.fromPostgres(pool, source, { first: 50, after: cursor })).pageInfo.endCursor;
    for (const args of [
      { first: 20, after: cursor },
      { last: 20, before: cursor },
    ]) {
      const plan = await planOf((db) => newest.fromPostgres(db, source, args));
      expect(plan).toContain('big_newest');
      expect(plan).not.toContain('"Sort"');
    }
  });

  test('mixed directions with NULLS FIRST: an index scan on the matching index, no sort', async () => {
    const byScore = createPaginator({ orderBy: orders[1]?.orderBy ?? [] });
    const first = await byScore.fromPostgres(pool, { table: 'big' }, { first: 500 });
    const tail = await byScore.fromPostgres(pool, { table: 'big' }, { first: 500, after: first.pageInfo.endCursor });
    for (const args of [
      { first: 20, after: tail.pageInfo.endCursor },
      { last: 20, before: tail.pageInfo.endCursor },
    ]) {
      const plan = await planOf((db) => byScore.fromPostgres(db, { table: 'big' }, args));
      expect(plan).toContain('big_score');
      expect(plan).not.toContain('"Sort"');
    }
  });
});

describe('node names', () => {
  test('nodes carry the select list column names; an alias in select gives the field names', async () => {
    const raw = await newest.fromPostgres(pool, inChat(1), { first: 2 });
    const first = raw.edges[0]?.node as Record<string, unknown>;
    expect(first).toHaveProperty('created_at');
    expect(first).not.toHaveProperty('createdAt');
    const aliased = await newest.fromPostgres(
      pool,
      { ...inChat(1), select: 'id, created_at AS "createdAt"' },
      { first: 2 },
    );
    expect(Object.keys(aliased.edges[0]?.node as object).sort()).toEqual(['createdAt', 'id']);
    // Same rows, same cursors: the alias changes only the node's property names.
    expect(aliased.edges.map((edge) => edge.cursor)).toEqual(raw.edges.map((edge) => edge.cursor));
  });
});
