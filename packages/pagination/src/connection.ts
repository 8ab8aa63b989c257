import { PaginationArgumentError } from './errors.ts';

/** The Relay connection arguments. `null` (as GraphQL passes it) means "not given". */
export interface ConnectionArgs {
  /** Page size, paging forward. Negative or non-integer → `PaginationArgumentError`; above `maxPageSize` → clamped. */
  first?: number | null | undefined;
  /** An `endCursor` (or any edge's cursor) to continue after. */
  after?: string | null | undefined;
  /** Page size, paging backward. */
  last?: number | null | undefined;
  /** A `startCursor` (or any edge's cursor) to page back from. */
  before?: string | null | undefined;
}

/** One row and the cursor of its position. */
export interface Edge<T> {
  node: T;
  cursor: string;
}

/** Relay `PageInfo`; see the README ("pageInfo") for exactly when each flag is true. */
export interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  /** Cursor of the first edge, `null` when there are no edges. */
  startCursor: string | null;
  /** Cursor of the last edge, `null` when there are no edges. */
  endCursor: string | null;
}

/** A Relay connection. `totalCount` is present only when asked for (`{ totalCount: true }`). */
export interface Connection<T> {
  edges: Edge<T>[];
  pageInfo: PageInfo;
  /** Rows matching the filter, ignoring cursors and page size. Costly on big tables: a `count(*)`. */
  totalCount?: number;
}

/** Per-call options shared by both adapters. */
export interface PageOptions {
  /** Also count every row matching the filter (a `count(*)` in Postgres: costly on big sets). @default false */
  totalCount?: boolean;
  /**
   * What the cursors are bound to, instead of the default (for `fromPostgres`: table or query,
   * `where` and `params`; for `fromArray`: nothing but the order). Give it when a parameter
   * changes between requests without changing the list (e.g. a "now" timestamp), or, for
   * `fromArray`, to keep one list's cursors out of another (e.g. `chat:${chatId}`).
   */
  queryKey?: string;
}

/**
 * What to fetch for a request: rows in window order (forward) or reversed (backward), and how
 * many. `fetch` is one more than needed, which is how the flags are known without a COUNT.
 */
export interface PagePlan {
  first: number | undefined;
  last: number | undefined;
  backward: boolean;
  fetch: number;
}

function pageSize(name: 'first' | 'last', value: unknown, max: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new PaginationArgumentError(name, value, `"${name}" must be an integer`);
  }
  if (value < 0) throw new PaginationArgumentError(name, value, `"${name}" must not be negative`);
  return Math.min(value, max);
}

export function planPage(args: ConnectionArgs, defaultPageSize: number, maxPageSize: number): PagePlan {
  if (args === null || typeof args !== 'object') throw new TypeError('pagination arguments must be an object');
  let first = pageSize('first', args.first, maxPageSize);
  const last = pageSize('last', args.last, maxPageSize);
  if (first === undefined && last === undefined) first = defaultPageSize;
  if (first !== undefined) return { first, last, backward: false, fetch: Math.max(first, last ?? 0) + 1 };
  return { first, last, backward: true, fetch: (last as number) + 1 };
}

/**
 * Applies the spec's EdgesToReturn / HasPreviousPage / HasNextPage to what was fetched:
 * `rows` are the first `plan.fetch` rows of the window (forward) or its last `plan.fetch`
 * rows (backward), in natural order. A flag left `undefined` is the spec's optional "if the
 * server can tell cheaply" branch: the caller answers it (`exactPageInfo`) or says `false`.
 */
export function slicePage<R>(
  rows: readonly R[],
  plan: PagePlan,
): { rows: readonly R[]; hasNextPage: boolean | undefined; hasPreviousPage: boolean | undefined } {
  if (!plan.backward) {
    const first = plan.first as number;
    let page = rows.slice(0, first);
    if (plan.last !== undefined) page = page.slice(Math.max(0, page.length - plan.last));
    return {
      rows: page,
      hasNextPage: rows.length > first,
      // With `last` the spec asks whether the whole window holds more than `last` edges; fetch
      // was max(first, last) + 1, so that is known exactly. Otherwise: left to the probe.
      hasPreviousPage: plan.last !== undefined ? rows.length > plan.last : undefined,
    };
  }
  const last = plan.last as number;
  return {
    rows: rows.slice(Math.max(0, rows.length - last)),
    hasPreviousPage: rows.length > last,
    hasNextPage: undefined,
  };
}
