/**
 * The reference the property tests compare against: rows sorted by a plain tuple comparison and
 * the Relay spec's algorithms (ApplyCursorsToEdges, EdgesToReturn, HasPreviousPage,
 * HasNextPage) applied to the whole sorted list, written here independently of src/.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import type { Connection, ConnectionArgs, OrderKey } from '../src/index.ts';

/** A row of the generated data set. `t` is in microseconds, so Postgres sees ties JS Dates would not. */
export interface TestRow {
  id: number;
  chatId: number;
  t: number;
  score: number | null;
}

/** Orders the tests run: row-value path, mixed directions with NULLs first, NULLs last. */
export const orders: { name: string; orderBy: OrderKey[] }[] = [
  {
    name: '(created_at DESC, id DESC)',
    orderBy: [
      { field: 'createdAt', column: 'created_at', direction: 'desc' },
      { field: 'id', column: 'id', direction: 'desc' },
    ],
  },
  {
    name: '(score ASC NULLS FIRST, created_at DESC, id ASC)',
    orderBy: [
      { field: 'score', column: 'score', direction: 'asc', nulls: 'first' },
      { field: 'createdAt', column: 'created_at', direction: 'desc' },
      { field: 'id', column: 'id', direction: 'asc' },
    ],
  },
  {
    name: '(score DESC NULLS LAST, id ASC)',
    orderBy: [
      { field: 'score', column: 'score', direction: 'desc', nulls: 'last' },
      { field: 'id', column: 'id', direction: 'asc' },
    ],
  },
];

/** Rows with few distinct timestamps (many ties, some only a microsecond apart) and many NULL scores. */
export const rowsArbitrary = (maxLength: number) =>
  fc
    .array(
      fc.record({
        chatId: fc.constantFrom(1, 2),
        t: fc.constantFrom(0, 1, 2, 1000, 1001, 5000),
        score: fc.option(fc.integer({ min: 0, max: 3 }), { nil: null, freq: 3 }),
      }),
      { maxLength },
    )
    .map((rows) => rows.map((row, i): TestRow => ({ id: i + 1, ...row })));

const fieldValue = (row: TestRow, field: string): number | null =>
  field === 'createdAt' ? row.t : field === 'id' ? row.id : row.score;

/** The rows in the order, by plain comparison of each key. */
export function oracleSort(rows: readonly TestRow[], orderBy: readonly OrderKey[]): TestRow[] {
  return [...rows].sort((a, b) => {
    for (const key of orderBy) {
      const x = fieldValue(a, key.field);
      const y = fieldValue(b, key.field);
      if (x === y) continue;
      if (x === null) return key.nulls === 'first' ? -1 : 1;
      if (y === null) return key.nulls === 'first' ? 1 : -1;
      return (x < y ? -1 : 1) * (key.direction === 'desc' ? -1 : 1);
    }
    return 0;
  });
}

/** The spec's answer, on ids, for cursors that point at rows of `sorted` (by index). */
export function specPage(
  sorted: readonly TestRow[],
  args: { first?: number; last?: number; afterIndex?: number; beforeIndex?: number },
  exact: boolean,
): { ids: number[]; hasNextPage: boolean; hasPreviousPage: boolean } {
  const start = args.afterIndex === undefined ? 0 : args.afterIndex + 1;
  const end = args.beforeIndex === undefined ? sorted.length : args.beforeIndex;
  const window = sorted.slice(start, Math.max(start, end));
  let edges = window;
  if (args.first !== undefined) edges = edges.slice(0, args.first);
  if (args.last !== undefined) edges = edges.slice(Math.max(0, edges.length - args.last));
  const hasPreviousPage =
    args.last !== undefined
      ? window.length > args.last
      : args.afterIndex !== undefined && exact && args.afterIndex >= 0;
  const hasNextPage =
    args.first !== undefined
      ? window.length > args.first
      : args.beforeIndex !== undefined && exact && args.beforeIndex < sorted.length;
  return { ids: edges.map((row) => row.id), hasNextPage, hasPreviousPage };
}

type Fetch = (args: ConnectionArgs) => Promise<Connection<{ id: number }>> | Connection<{ id: number }>;

const idOf = (node: { id: number | string }) => Number(node.id);

/**
 * Walks forward to the end with random page sizes, then backward to the start, checking every
 * page against the oracle: same rows in order, no duplicate, no skip, pageInfo per the spec.
 * Then asks `extra` random pages (first/last/after/before in any combination) and checks them.
 */
export async function walkAndCheck(
  fetch: Fetch,
  sorted: readonly TestRow[],
  sizes: readonly number[],
  extra: readonly { first?: number; last?: number; after?: number; before?: number }[],
  exact: boolean,
): Promise<void> {
  const cursorOf = new Map<number, string>();
  const check = async (args: ConnectionArgs, spec: ReturnType<typeof specPage>) => {
    const page = await fetch(args);
    const ids = page.edges.map((edge) => idOf(edge.node));
    expect(ids).toEqual(spec.ids);
    expect(page.pageInfo.hasNextPage).toBe(spec.hasNextPage);
    expect(page.pageInfo.hasPreviousPage).toBe(spec.hasPreviousPage);
    expect(page.pageInfo.startCursor).toBe(page.edges[0]?.cursor ?? null);
    expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)?.cursor ?? null);
    for (const edge of page.edges) cursorOf.set(idOf(edge.node), edge.cursor);
    return page;
  };
  const indexOf = new Map(sorted.map((row, i) => [row.id, i]));
  const indexOfCursor = (cursor: string | null) => {
    for (const [id, known] of cursorOf) if (known === cursor) return indexOf.get(id) as number;
    throw new Error('unknown cursor');
  };

  // Forward.
  const seen: number[] = [];
  let after: string | null = null;
  let step = 0;
  for (;;) {
    const first = sizes[step++ % sizes.length] as number;
    const afterIndex = after === null ? undefined : indexOfCursor(after);
    const page = await check(
      { first, after },
      specPage(sorted, { first, ...(afterIndex === undefined ? {} : { afterIndex }) }, exact),
    );
    seen.push(...page.edges.map((edge) => idOf(edge.node)));
    if (!page.pageInfo.hasNextPage) break;
    after = page.pageInfo.endCursor;
  }
  expect(seen).toEqual(sorted.map((row) => row.id));

  // Backward, from the end.
  const back: number[] = [];
  let before: string | null = null;
  for (;;) {
    const last = sizes[step++ % sizes.length] as number;
    const beforeIndex = before === null ? undefined : indexOfCursor(before);
    const page = await check(
      { last, before },
      specPage(sorted, { last, ...(beforeIndex === undefined ? {} : { beforeIndex }) }, exact),
    );
    back.unshift(...page.edges.map((edge) => idOf(edge.node)));
    if (!page.pageInfo.hasPreviousPage) break;
    before = page.pageInfo.startCursor;
  }
  expect(back).toEqual(sorted.map((row) => row.id));

  // Random requests, both directions at once included.
  for (const request of extra) {
    if (sorted.length === 0) break;
    const afterRow = request.after === undefined ? undefined : sorted[request.after % sorted.length];
    const beforeRow = request.before === undefined ? undefined : sorted[request.before % sorted.length];
    const args: ConnectionArgs = {
      ...(request.first === undefined ? {} : { first: request.first }),
      ...(request.last === undefined ? {} : { last: request.last }),
      ...(afterRow ? { after: cursorOf.get(afterRow.id) as string } : {}),
      ...(beforeRow ? { before: cursorOf.get(beforeRow.id) as string } : {}),
    };
    const first = request.first ?? (request.last === undefined ? 20 : undefined);
    await check(
      args,
      specPage(
        sorted,
        {
          ...(first === undefined ? {} : { first }),
          ...(request.last === undefined ? {} : { last: request.last }),
          ...(afterRow ? { afterIndex: indexOf.get(afterRow.id) as number } : {}),
          ...(beforeRow ? { beforeIndex: indexOf.get(beforeRow.id) as number } : {}),
        },
        exact,
      ),
    );
  }
}

/** Page sizes for a walk, and random extra requests. */
export const walkArbitrary = fc.record({
  sizes: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 5 }),
  extra: fc.array(
    fc.record(
      {
        first: fc.integer({ min: 0, max: 6 }),
        last: fc.integer({ min: 0, max: 6 }),
        after: fc.nat(),
        before: fc.nat(),
      },
      { requiredKeys: [] },
    ),
    { maxLength: 6 },
  ),
  exact: fc.boolean(),
});
