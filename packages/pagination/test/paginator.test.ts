import { inspect } from 'node:util';
import fc from 'fast-check';
import { connectionFromArray, offsetToCursor } from 'graphql-relay';
import { describe, expect, test, vi } from 'vitest';
import { bindingDigest, CursorCodec } from '../src/cursor.ts';
import {
  createPaginator,
  DuplicateSortKeyError,
  InvalidCursorError,
  isPaginationError,
  isPaginationInputError,
  NullSortKeyError,
  PaginationArgumentError,
} from '../src/index.ts';
import { oracleSort, orders, rowsArbitrary, type TestRow, walkAndCheck, walkArbitrary } from './oracle.ts';

const base = Date.UTC(2024, 0, 1);
const toArrayRow = (row: TestRow) => ({
  id: row.id,
  chatId: row.chatId,
  createdAt: new Date(base + row.t),
  score: row.score,
});

const messages = Array.from({ length: 30 }, (_, i) => ({
  id: i + 1,
  chatId: (i % 2) + 1,
  createdAt: new Date(base + Math.floor(i / 3) * 1000),
}));
const byNewest = createPaginator({
  orderBy: [
    { field: 'createdAt', column: 'created_at', direction: 'desc' },
    { field: 'id', column: 'id', direction: 'desc' },
  ],
  maxPageSize: 10,
  defaultPageSize: 5,
});

describe('fromArray against the oracle', () => {
  for (const { name, orderBy } of orders) {
    test(`walks ${name} forward then backward: the oracle's order, pageInfo per the spec`, async () => {
      const paginators = {
        spec: createPaginator({ orderBy, maxPageSize: 50 }),
        exact: createPaginator({ orderBy, maxPageSize: 50, exactPageInfo: true }),
      };
      await fc.assert(
        fc.asyncProperty(rowsArbitrary(40), walkArbitrary, fc.constantFrom(1, 2), async (rows, walk, chatId) => {
          const inChat = rows.filter((row) => row.chatId === chatId);
          // Shuffled input: fromArray must sort a copy and leave the input alone.
          const input = [...inChat].reverse().map(toArrayRow);
          const snapshot = input.map((row) => row.id);
          const paginator = walk.exact ? paginators.exact : paginators.spec;
          await walkAndCheck(
            (args) => paginator.fromArray(input, args),
            oracleSort(inChat, orderBy),
            walk.sizes,
            walk.extra,
            walk.exact,
          );
          expect(input.map((row) => row.id)).toEqual(snapshot);
        }),
        { numRuns: 150 },
      );
    });
  }

  test('agrees with graphql-relay whenever only first/after or only last/before is given', () => {
    const ids = Array.from({ length: 12 }, (_, i) => ({ id: i + 1 }));
    const paginator = createPaginator({ orderBy: [{ field: 'id' }], maxPageSize: 100 });
    const ourCursors = paginator.fromArray(ids, { first: 100 }).edges.map((edge) => edge.cursor);
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.integer({ min: 0, max: 14 }),
        fc.option(fc.integer({ min: 0, max: 11 }), { nil: undefined }),
        (forward, size, at) => {
          const ours = paginator.fromArray(
            ids,
            forward
              ? { first: size, after: at === undefined ? null : (ourCursors[at] as string) }
              : { last: size, before: at === undefined ? null : (ourCursors[at] as string) },
          );
          const relayCursor = at === undefined ? null : offsetToCursor(at);
          const theirs = connectionFromArray(
            ids,
            forward ? { first: size, after: relayCursor } : { last: size, before: relayCursor },
          );
          expect(ours.edges.map((edge) => edge.node)).toEqual(theirs.edges.map((edge) => edge.node));
          expect(ours.pageInfo.hasNextPage).toBe(theirs.pageInfo.hasNextPage);
          expect(ours.pageInfo.hasPreviousPage).toBe(theirs.pageInfo.hasPreviousPage);
        },
      ),
    );
  });

  test('first and last together follow the spec text (window larger than last), unlike graphql-relay', () => {
    const ids = Array.from({ length: 10 }, (_, i) => ({ id: i + 1 }));
    const paginator = createPaginator({ orderBy: [{ field: 'id' }] });
    const page = paginator.fromArray(ids, { first: 3, last: 5 });
    expect(page.edges.map((edge) => edge.node.id)).toEqual([1, 2, 3]);
    expect(page.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
    expect(connectionFromArray(ids, { first: 3, last: 5 }).pageInfo.hasPreviousPage).toBe(false);
  });

  test('a cursor whose row was deleted still pages from its position', () => {
    const first = byNewest.fromArray(messages, { first: 5 });
    const gone = first.edges[4]?.node.id;
    const remaining = messages.filter((message) => message.id !== gone);
    const next = byNewest.fromArray(remaining, { first: 5, after: first.pageInfo.endCursor });
    const all = byNewest.fromArray(messages, { first: 10 });
    expect(next.edges.map((edge) => edge.node.id)).toEqual(all.edges.slice(5).map((edge) => edge.node.id));
  });

  test('totalCount only when asked for', () => {
    expect(byNewest.fromArray(messages, { first: 2 })).not.toHaveProperty('totalCount');
    expect(byNewest.fromArray(messages, { first: 2 }, { totalCount: true }).totalCount).toBe(30);
  });

  test('an empty list is one empty page', () => {
    expect(byNewest.fromArray([], {})).toEqual({
      edges: [],
      pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
    });
  });
});

describe('arguments', () => {
  test('defaultPageSize when neither first nor last; null means not given', () => {
    expect(byNewest.fromArray(messages, {}).edges).toHaveLength(5);
    expect(byNewest.fromArray(messages, { first: null, last: null, after: null, before: null }).edges).toHaveLength(5);
  });

  test('first/last above maxPageSize are clamped', () => {
    expect(byNewest.fromArray(messages, { first: 1000 }).edges).toHaveLength(10);
    const page = byNewest.fromArray(messages, { last: 1000 });
    expect(page.edges).toHaveLength(10);
    expect(page.edges[9]?.node.id).toBe(1);
  });

  test('first: 0 returns no edges but says whether there are more', () => {
    const page = byNewest.fromArray(messages, { first: 0 });
    expect(page.edges).toEqual([]);
    expect(page.pageInfo.hasNextPage).toBe(true);
  });

  test.each([
    ['first', -1],
    ['last', -3],
    ['first', 1.5],
    ['last', Number.NaN],
    ['first', Number.POSITIVE_INFINITY],
    ['first', '3'],
  ])('%s = %s is a PaginationArgumentError', (argument, value) => {
    let caught: unknown;
    try {
      byNewest.fromArray(messages, { [argument]: value });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(PaginationArgumentError);
    expect(caught).toMatchObject({ code: 'INVALID_PAGINATION_ARGUMENT', argument, name: 'PaginationArgumentError' });
    expect(isPaginationError(caught)).toBe(true);
    expect(isPaginationInputError(caught)).toBe(true);
  });
});

describe('cursors', () => {
  const page = byNewest.fromArray(messages, { first: 3 });
  const cursor = page.pageInfo.endCursor as string;
  const refused = (run: () => unknown, reason?: string) => {
    let caught: unknown;
    try {
      run();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidCursorError);
    expect(caught).toMatchObject({ code: 'INVALID_CURSOR', name: 'InvalidCursorError' });
    if (reason) expect(caught).toMatchObject({ reason });
    return caught as InvalidCursorError;
  };

  test('are base64url and carry no readable JSON', () => {
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(Buffer.from(cursor, 'base64url').toString('latin1')).not.toMatch(/[{"]/);
  });

  test('any flipped bit is refused', () => {
    const bytes = Buffer.from(cursor, 'base64url');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bytes.length * 8 - 1 }), (bit) => {
        const tampered = Buffer.from(bytes);
        tampered[bit >> 3] = (tampered[bit >> 3] as number) ^ (1 << (bit & 7));
        refused(() => byNewest.fromArray(messages, { after: tampered.toString('base64url') }));
      }),
    );
  });

  test('any changed character, truncation or extension is refused', () => {
    fc.assert(
      fc.property(fc.nat(cursor.length - 1), fc.constantFrom(...'AZaz09_-Q'), (at, char) => {
        const edited = cursor.slice(0, at) + char + cursor.slice(at + 1);
        fc.pre(edited !== cursor);
        refused(() => byNewest.fromArray(messages, { before: edited }));
      }),
    );
    refused(() => byNewest.fromArray(messages, { after: cursor.slice(0, -1) }));
    refused(() => byNewest.fromArray(messages, { after: `${cursor}A` }));
  });

  test('garbage of any shape is an InvalidCursorError, never a crash', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.base64String()), (garbage) => {
        refused(() => byNewest.fromArray(messages, { after: garbage }));
      }),
    );
    for (const value of [123, {}, [], true, '', '====', 'eyJpZCI6MX0']) {
      refused(() => byNewest.fromArray(messages, { after: value as string }));
    }
  });

  test('a huge cursor is refused unread', () => {
    const started = performance.now();
    refused(() => byNewest.fromArray(messages, { after: 'A'.repeat(5_000_000) }), 'malformed');
    expect(performance.now() - started).toBeLessThan(1000);
  });

  test('another version byte is refused', () => {
    const bytes = Buffer.from(cursor, 'base64url');
    bytes[0] = 2;
    refused(() => byNewest.fromArray(messages, { after: bytes.toString('base64url') }), 'unsupported-version');
  });

  test('a cursor from another order or another list is refused', () => {
    const byOldest = createPaginator({
      orderBy: [
        { field: 'createdAt', column: 'created_at', direction: 'asc' },
        { field: 'id', column: 'id', direction: 'asc' },
      ],
    });
    refused(() => byOldest.fromArray(messages, { after: cursor }), 'mismatch');
    const chat1 = byNewest.fromArray(messages, { first: 2 }, { queryKey: 'chat:1' }).pageInfo.endCursor as string;
    expect(byNewest.fromArray(messages, { first: 2, after: chat1 }, { queryKey: 'chat:1' }).edges).toHaveLength(2);
    refused(() => byNewest.fromArray(messages, { after: chat1 }, { queryKey: 'chat:2' }), 'mismatch');
    refused(() => byNewest.fromArray(messages, { after: chat1 }), 'mismatch');
  });

  test('signed cursors: another secret, or no secret, is refused; rotation keeps old cursors valid', () => {
    const orderBy = [{ field: 'id' }];
    const oldKey = createPaginator({ orderBy, secret: 'old-secret-0123456789abcdef' });
    const rotated = createPaginator({
      orderBy,
      secret: ['new-secret-0123456789abcdef', 'old-secret-0123456789abcdef'],
    });
    const other = createPaginator({ orderBy, secret: 'another-secret-0123456789ab' });
    const unsigned = createPaginator({ orderBy });
    const rows = Array.from({ length: 5 }, (_, i) => ({ id: i }));
    const signed = oldKey.fromArray(rows, { first: 2 }).pageInfo.endCursor as string;
    expect(rotated.fromArray(rows, { first: 2, after: signed }).edges.map((edge) => edge.node.id)).toEqual([2, 3]);
    refused(() => other.fromArray(rows, { after: signed }), 'mismatch');
    refused(() => unsigned.fromArray(rows, { after: signed }));
    const plain = unsigned.fromArray(rows, { first: 2 }).pageInfo.endCursor as string;
    refused(() => oldKey.fromArray(rows, { after: plain }));
    // Rotated paginators sign with the new key; the old one can no longer read those.
    const fresh = rotated.fromArray(rows, { first: 1 }).pageInfo.endCursor as string;
    refused(() => oldKey.fromArray(rows, { after: fresh }), 'mismatch');
  });

  test('keep bigint, Date, boolean, number and string keys exact', () => {
    const paginator = createPaginator({
      orderBy: [{ field: 'flag' }, { field: 'at' }, { field: 'big' }, { field: 'name' }, { field: 'n' }],
    });
    const rows = [
      { flag: false, at: new Date(1), big: 2n ** 70n, name: 'é', n: 0.1 },
      { flag: false, at: new Date(1), big: 2n ** 70n + 1n, name: 'a', n: 0.1 },
      { flag: true, at: new Date(0), big: -1n, name: 'z', n: -0.5 },
    ];
    const first = paginator.fromArray(rows, { first: 1 });
    expect(first.edges[0]?.node).toBe(rows[0]);
    const rest = paginator.fromArray(rows, { first: 5, after: first.pageInfo.endCursor });
    expect(rest.edges.map((edge) => edge.node)).toEqual([rows[1], rows[2]]);
  });
});

describe('data errors', () => {
  test('a key too long for maxCursorLength fails when the cursor is made, not when it comes back', () => {
    const paginator = createPaginator({ orderBy: [{ field: 'title' }, { field: 'id' }], maxCursorLength: 100 });
    expect(paginator.fromArray([{ id: 1, title: 'x'.repeat(40) }], {}).edges).toHaveLength(1);
    expect(() => paginator.fromArray([{ id: 1, title: 'x'.repeat(80) }], {})).toThrow(/maxCursorLength/);
  });

  test('a NULL in a key not declared nullable is a NullSortKeyError', () => {
    const paginator = createPaginator({ orderBy: [{ field: 'score' }, { field: 'id' }] });
    expect(() => paginator.fromArray([{ id: 1, score: null }], {})).toThrow(NullSortKeyError);
    expect(() => paginator.fromArray([{ id: 1 }], {})).toThrow(/score/);
  });

  test('two rows with the same whole key are a DuplicateSortKeyError', () => {
    const paginator = createPaginator({ orderBy: [{ field: 'createdAt' }, { field: 'id' }] });
    const at = new Date(0);
    expect(() =>
      paginator.fromArray(
        [
          { id: 1, createdAt: at },
          { id: 1, createdAt: at },
        ],
        {},
      ),
    ).toThrow(DuplicateSortKeyError);
  });
});

describe('createPaginator options', () => {
  test.each([
    ['no orderBy', { orderBy: [] }],
    ['a column that is not an identifier', { orderBy: [{ field: 'id', column: 'id; DROP TABLE x' }] }],
    ['a quoted column', { orderBy: [{ field: 'id', column: '"id"' }] }],
    ['a bad direction', { orderBy: [{ field: 'id', direction: 'up' }] }],
    ['a nullable last key', { orderBy: [{ field: 'id', nulls: 'last' }] }],
    ['a repeated column', { orderBy: [{ field: 'a', column: 'id' }, { field: 'id' }] }],
    ['maxPageSize 0', { orderBy: [{ field: 'id' }], maxPageSize: 0 }],
    ['defaultPageSize above max', { orderBy: [{ field: 'id' }], maxPageSize: 5, defaultPageSize: 6 }],
    ['a short secret', { orderBy: [{ field: 'id' }], secret: 'short' }],
    ['an empty secret list', { orderBy: [{ field: 'id' }], secret: [] }],
    ['a preparedStatements that is not a boolean', { orderBy: [{ field: 'id' }], preparedStatements: 'yes' }],
  ])('%s is a TypeError', (_, options) => {
    expect(() => createPaginator(options as never)).toThrow(TypeError);
  });

  test('exposes the resolved order', () => {
    expect(byNewest.orderBy).toEqual([
      { field: 'createdAt', column: 'created_at', direction: 'desc' },
      { field: 'id', column: 'id', direction: 'desc' },
    ]);
  });
});

describe('cursors made when read', () => {
  const signed = createPaginator({
    orderBy: [
      { field: 'createdAt', column: 'created_at', direction: 'desc' },
      { field: 'id', column: 'id', direction: 'desc' },
    ],
    maxPageSize: 10,
    secret: 'a-secret-of-at-least-16-bytes',
  });
  const eager = (page: { edges: { cursor: string }[] }) => page.edges.map((edge) => edge.cursor);

  test('a page whose cursors are not read makes none; endCursor makes one; each is the cursor made at once', () => {
    const encode = vi.spyOn(CursorCodec.prototype, 'encode');
    try {
      const page = signed.fromArray(messages, { first: 5 });
      expect(encode).not.toHaveBeenCalled();
      const end = page.pageInfo.endCursor;
      expect(encode).toHaveBeenCalledTimes(1);
      expect(page.pageInfo.endCursor).toBe(end);
      expect(page.edges[4]?.cursor).toBe(end);
      expect(encode).toHaveBeenCalledTimes(1);
      // The same cursors as a codec makes directly, and they page on.
      const cursors = eager(page);
      expect(encode).toHaveBeenCalledTimes(5);
      expect(page.pageInfo.startCursor).toBe(cursors[0]);
      const next = signed.fromArray(messages, { first: 5, after: end });
      expect(next.edges[0]?.node).toBe(
        [...messages].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.id - a.id)[5],
      );
      encode.mockRestore();
      // Each is what the codec makes at once for the row's position and the list's binding.
      const codec = new CursorCodec([Buffer.from('a-secret-of-at-least-16-bytes')], 1024);
      const binding = bindingDigest(
        JSON.stringify([
          'array',
          [
            ['createdAt', 'created_at', 'desc', null],
            ['id', 'id', 'desc', null],
          ],
          null,
        ]),
      );
      expect(cursors).toEqual(page.edges.map((edge) => codec.encode(binding, [edge.node.createdAt, edge.node.id])));
      // Read in another order, the same text: the codec's shared buffer carries nothing over.
      const again = signed.fromArray(messages, { first: 5 });
      expect([...again.edges].reverse().map((edge) => edge.cursor)).toEqual([...cursors].reverse());
    } finally {
      encode.mockRestore();
    }
  });

  test('edges and pageInfo look as before: spread, JSON, structuredClone and assignment see the cursor', () => {
    const page = signed.fromArray(messages, { first: 3 });
    const cursors = eager(signed.fromArray(messages, { first: 3 }));
    const edge = page.edges[1] as { node: unknown; cursor: string };
    expect(Object.keys(edge)).toEqual(['node', 'cursor']);
    expect({ ...edge }).toEqual({ node: edge.node, cursor: cursors[1] });
    expect(JSON.parse(JSON.stringify(page))).toEqual(
      JSON.parse(
        JSON.stringify({
          edges: page.edges.map((e, i) => ({ node: e.node, cursor: cursors[i] })),
          pageInfo: { hasNextPage: true, hasPreviousPage: false, startCursor: cursors[0], endCursor: cursors[2] },
        }),
      ),
    );
    expect(structuredClone(page).pageInfo.endCursor).toBe(cursors[2]);
    expect(structuredClone(page).edges[0]?.cursor).toBe(cursors[0]);
    // console.log shows the values, not [Getter/Setter].
    expect(inspect(page, { depth: 4 })).toContain(cursors[1]);
    expect(inspect(page, { depth: 4 })).not.toContain('Getter');
    edge.cursor = 'replaced';
    expect(edge.cursor).toBe('replaced');
    page.pageInfo.endCursor = null;
    expect(page.pageInfo.endCursor).toBeNull();
    expect(signed.fromArray([], {}).pageInfo).toEqual({
      hasNextPage: false,
      hasPreviousPage: false,
      startCursor: null,
      endCursor: null,
    });
  });
});

test('a bigint parameter binds a Postgres cursor as {"$bigint": ...}, as before', () => {
  const paginator = createPaginator({ orderBy: [{ field: 'id' }] });
  const source = { table: 't', where: 'chat_id = $1 AND n = $2', params: [7, [1n, 'x']] };
  const identity =
    '["postgres",[["id","id","asc",null]],["t",null,"chat_id = $1 AND n = $2",[7,[{"$bigint":"1"},"x"]]]]';
  const codec = new CursorCodec([], 1024);
  expect(paginator.postgresCursor(['42'], source)).toBe(codec.encode(bindingDigest(identity), ['42']));
  expect(paginator.postgresCursor(['42'], { ...source, params: [7, [1, 'x']] })).not.toBe(
    paginator.postgresCursor(['42'], source),
  );
});
