import { createTestDatabase } from '@switchboard/infra';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { type Connection, createPaginator, type Paginator, type Queryable } from '../src/index.ts';

// Keys read in their own type (as pg parsed them) and turned into cursor text in JS must give
// exactly the cursor of `to_jsonb(k) #>> '{}'`, the text every key was read as before, and page
// through every row once. Types without an exact JS form stay on that text.

let pool: pg.Pool;
let primary: string;

interface KeyType {
  type: string;
  values: string[];
  /** Read from `*` (or an alias) once learned, with no to_jsonb in the statement. */
  native: boolean;
}

const keyTypes: KeyType[] = [
  { type: 'int2', values: ['-32768', '-1', '0', '7', '32767'], native: true },
  { type: 'int4', values: ['-2147483648', '0', '42', '2147483647'], native: true },
  {
    type: 'int8',
    values: [
      '-9223372036854775808',
      '-1',
      '0',
      '1',
      '2',
      '3',
      '9007199254740991',
      '9007199254740993',
      '9223372036854775807',
    ],
    native: true,
  },
  {
    type: 'text',
    values: ['', 'a', 'A', 'b', 'é', 'e\u0301', '😀', 'x\ny', ' lead', 'trail ', 'quote"\\', '\u00a0', 'Z'],
    native: true,
  },
  { type: 'varchar(20)', values: ['', 'a', 'A', 'ß', 'ss', 'x\ty'], native: true },
  {
    type: 'uuid',
    values: [
      '00000000-0000-0000-0000-000000000000',
      'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
      'ffffffff-ffff-ffff-ffff-ffffffffffff',
    ],
    native: true,
  },
  {
    type: 'numeric',
    values: [
      '-Infinity',
      '-1e-20',
      '0',
      '1.50',
      '2.000000000000000000001',
      '123456789012345678901234567890.123456789',
      'Infinity',
      'NaN',
    ],
    native: true,
  },
  {
    type: 'timestamptz',
    values: ['2024-01-01 00:00:00+00', '2024-01-01 00:00:00.000001+00', '2024-01-01 00:00:00.123456+00', 'infinity'],
    native: false,
  },
  {
    type: 'timestamp',
    values: ['2024-01-01 00:00:00', '2024-01-01 00:00:00.000001', '1999-12-31 23:59:59.999999'],
    native: false,
  },
  { type: 'date', values: ['2024-01-01', '2024-01-02', '0044-03-15 BC'], native: false },
  { type: 'float8', values: ['-0.1', '0.1', '0.30000000000000004', '1e20', '5e-324'], native: false },
  { type: 'bool', values: ['false', 'true'], native: false },
];

const tableOf = (type: string) => `k_${type.replace(/\W.*$/, '')}`;

beforeAll(async () => {
  primary = (await createTestDatabase(inject('infra'), 'pagination-keys')).primary;
  pool = new pg.Pool({ connectionString: primary, max: 4 });
  for (const { type, values } of keyTypes) {
    await pool.query(`CREATE TABLE ${tableOf(type)} (k ${type} PRIMARY KEY, body text NOT NULL)`);
    await pool.query(`INSERT INTO ${tableOf(type)} SELECT v::${type}, 'row ' || v FROM unnest($1::text[]) AS v`, [
      values,
    ]);
  }
});
afterAll(() => pool?.end());

/** Every statement the paginator sends, on the way to `db`. */
function recording(db: Queryable): { db: Queryable; texts: string[] } {
  const texts: string[] = [];
  return {
    texts,
    db: {
      query: (text: string, values?: unknown[]) => {
        texts.push(text);
        return db.query(text, values);
      },
    } as Queryable,
  };
}

/** Walks every page forward (size 2); returns the cursors in order. */
async function walk(
  paginator: Paginator,
  db: Queryable,
  source: Parameters<Paginator['fromPostgres']>[1],
): Promise<string[]> {
  const cursors: string[] = [];
  let after: string | null = null;
  for (let guard = 0; guard < 50; guard++) {
    const page: Connection<unknown> = await paginator.fromPostgres(db, source, { first: 2, after });
    cursors.push(...page.edges.map((edge) => edge.cursor));
    // Whichever way the keys were read, the paginator's own columns never reach the nodes.
    for (const edge of page.edges) expect(Object.keys(edge.node as object).join()).not.toContain('__sb_');
    if (!page.pageInfo.hasNextPage) return cursors;
    after = page.pageInfo.endCursor;
  }
  throw new Error('no end');
}

describe('key columns read in their own type', () => {
  for (const { type, native } of keyTypes) {
    for (const direction of ['asc', 'desc'] as const) {
      test(`${type} ${direction}: the cursors of to_jsonb's text, every row once, ${native ? 'read natively' : 'read as text'}`, async () => {
        const table = tableOf(type);
        const expected = await pool.query<{ text: string }>(
          `SELECT to_jsonb(k) #>> '{}' AS text FROM ${table} ORDER BY k ${direction}`,
        );
        for (const source of [
          { table },
          { table, select: 'body, k' },
          { table, select: 'body' },
          { query: `SELECT * FROM ${table}` },
        ]) {
          const paginator = createPaginator({ orderBy: [{ field: 'k', direction }] });
          const reference = expected.rows.map((row) => paginator.postgresCursor([row.text], source));
          // The first page learns how to read the key, the later ones use what it learned.
          const { db, texts } = recording(pool);
          expect(await walk(paginator, db, source)).toEqual(reference);
          expect(await walk(paginator, db, source)).toEqual(reference);
          const learned = texts.slice(1);
          for (const text of learned) expect(text.includes('to_jsonb')).toBe(!native);
        }
      });
    }
  }

  test("an application's type parsers: int8 as a lossy number or a BigInt, numeric as a float", async () => {
    const lossyInt8 = (text: string) => Number.parseInt(text, 10);
    for (const int8 of [lossyInt8, (text: string) => BigInt(text)]) {
      const parsers = new Map<number, (text: string) => unknown>([
        [20, int8],
        [1700, (text) => Number.parseFloat(text)],
      ]);
      const custom = new pg.Pool({
        connectionString: primary,
        max: 1,
        types: {
          getTypeParser: (oid: number, format?: 'text' | 'binary') =>
            parsers.get(oid) ?? pg.types.getTypeParser(oid, format ?? 'text'),
        } as unknown as pg.CustomTypesConfig,
      });
      try {
        // Ascending from 0, the first page of int8 is exact as a number, and a later one is not.
        for (const [type, direction] of [
          ['int8', 'asc'],
          ['int8', 'desc'],
          ['numeric', 'asc'],
        ] as const) {
          const source = { table: tableOf(type), where: type === 'int8' ? 'k >= 0' : "k >= 0 AND k <> 'NaN'" };
          const paginator = createPaginator({ orderBy: [{ field: 'k', direction }] });
          const expected = await pool.query<{ text: string }>(
            `SELECT to_jsonb(k) #>> '{}' AS text FROM ${source.table} WHERE ${source.where} ORDER BY k ${direction}`,
          );
          const reference = expected.rows.map((row) => paginator.postgresCursor([row.text], source));
          expect(reference.length).toBeGreaterThan(2);
          expect(await walk(paginator, custom, source)).toEqual(reference);
          expect(await walk(paginator, custom, source)).toEqual(reference);
        }
      } finally {
        await custom.end();
      }
    }
  });

  test('a key that can no longer be read natively (its column changed type) is asked for again as text', async () => {
    await pool.query('CREATE TABLE k_altered (k int4 PRIMARY KEY)');
    await pool.query('INSERT INTO k_altered SELECT generate_series(1, 5)');
    const paginator = createPaginator({ orderBy: [{ field: 'k' }] });
    const { db, texts } = recording(pool);
    await walk(paginator, db, { table: 'k_altered' });
    await pool.query('ALTER TABLE k_altered ALTER COLUMN k TYPE float8 USING k + 0.5');
    texts.length = 0;
    const page = await paginator.fromPostgres(db, { table: 'k_altered' }, { first: 2 });
    expect(texts).toEqual([expect.not.stringContaining('to_jsonb'), expect.stringContaining('to_jsonb')]);
    expect(page.edges.map((edge) => edge.cursor)).toEqual(
      ['1.5', '2.5'].map((text) => paginator.postgresCursor([text], { table: 'k_altered' })),
    );
    texts.length = 0;
    await paginator.fromPostgres(db, { table: 'k_altered' }, { first: 2, after: page.pageInfo.endCursor });
    expect(texts).toEqual([expect.stringContaining('to_jsonb')]);
  });

  test('a client that gives no column types: every key is read as text', async () => {
    const bare: Queryable = {
      query: async (text: string, values?: unknown[]) => {
        const { rows, rowCount } = await pool.query(text, values);
        return { rows, rowCount };
      },
    } as Queryable;
    const paginator = createPaginator({ orderBy: [{ field: 'k' }] });
    const { db, texts } = recording(bare);
    const expected = await pool.query<{ text: string }>(`SELECT k::text AS text FROM k_int8 ORDER BY k`);
    const reference = expected.rows.map((row) => paginator.postgresCursor([row.text], { table: 'k_int8' }));
    expect(await walk(paginator, db, { table: 'k_int8' })).toEqual(reference);
    expect(await walk(paginator, db, { table: 'k_int8' })).toEqual(reference);
    for (const text of texts) expect(text).toContain('to_jsonb');
  });

  test('a base query whose * has two columns of the key name stays an error from Postgres', async () => {
    const paginator = createPaginator({ orderBy: [{ field: 'k' }] });
    await expect(
      paginator.fromPostgres(pool, { query: 'SELECT a.k, b.k FROM k_int4 a JOIN k_int4 b USING (k)' }, { first: 2 }),
    ).rejects.toThrow(/ambiguous/);
  });
});
