import { hash } from 'node:crypto';
import type { Connection, ConnectionArgs, Edge, PageOptions, PagePlan } from './connection.ts';
import { planPage, slicePage } from './connection.ts';
import { bindingDigest, CursorCodec, type KeyValue } from './cursor.ts';
import { LazyEdge, lazyPageInfo } from './edges.ts';
import { DuplicateSortKeyError, InvalidCursorError, NullSortKeyError } from './errors.ts';
import { type OrderKeyInfo, type PaginatorOptions, type ResolvedKey, resolveOptions } from './options.ts';
import { comparePositions } from './order.ts';
import { type Positioned, type QueryResult, readRows } from './postgres-rows.ts';
import {
  type Bounds,
  countStatement,
  type KeyRead,
  keyAlias,
  nativeAlias,
  type PostgresSource,
  pageStatement,
  probeStatement,
  SqlSource,
  type SqlStatement,
} from './sql.ts';

/**
 * What Switchboard needs of a PostgreSQL client, the same in every package that takes one:
 * `query(text, values)` resolving to `{ rows, rowCount }`. A `pg.Pool`, a `pg.PoolClient`, a
 * transaction of @switchboard/tx and a reader of @switchboard/db-router all fit.
 */
export interface Queryable {
  // `any` as pg's own QueryResultRow has it: the row type callers name (often an interface) fits.
  // biome-ignore lint/suspicious/noExplicitAny: pg's QueryResultRow shape, see above
  query<Row extends { [column: string]: any } = { [column: string]: any }>(
    text: string,
    values?: unknown[],
  ): Promise<{ rows: Row[]; rowCount: number | null }>;
}

/** Builds Relay connections over one order. Create it once (at startup) and reuse it. */
export interface Paginator {
  /** The order with defaults filled in. */
  readonly orderBy: readonly OrderKeyInfo[];
  /**
   * A page of an in-memory list. Sorts a copy of `rows` by `orderBy` (they need not arrive
   * sorted; the input is left alone) and reads each key from the row's `field`.
   *
   * @example
   * const page = paginator.fromArray(messages, { first: 10, after }, { queryKey: `chat:${chatId}` });
   */
  fromArray<T extends object>(rows: readonly T[], args: ConnectionArgs, options?: PageOptions): Connection<T>;
  /**
   * A page from Postgres with a keyset ("seek") query: one indexed statement, the same cost at
   * any depth, no OFFSET and no COUNT (unless `totalCount` is asked for).
   *
   * @example
   * const page = await paginator.fromPostgres(pool, { table: 'messages', where: 'chat_id = $1', params: [chatId] }, args);
   */
  fromPostgres<T = Record<string, unknown>>(
    db: Queryable,
    source: PostgresSource,
    args: ConnectionArgs,
    options?: PageOptions,
  ): Promise<Connection<T>>;
  /**
   * The cursor `fromPostgres` gives a row, from the row's key values as Postgres renders them as
   * text (`to_jsonb(column) #>> '{}'`: `'42'` for a bigint; for a `timestamptz`, the full
   * microsecond text, so take it from the database, not from a JS `Date`). For rows that reach a
   * client another way, such as a subscription event, so the client can page or resume from
   * them with `after`. Pass the same `source` (or `queryKey`) as the `fromPostgres` calls the
   * cursor is meant for.
   *
   * @example
   * const cursor = paginator.postgresCursor([String(message.seq)], { table: 'messages', where: 'chat_id = $1', params: [chatId] });
   */
  postgresCursor(
    keyValues: readonly (string | null)[],
    source: PostgresSource,
    options?: Pick<PageOptions, 'queryKey'>,
  ): string;
}

/** What `preparedStatements` needs of `db`: pg's query-config form, besides `query(text, params)`. */
interface PreparingQueryable {
  query(config: { name: string; text: string; values: unknown[] }): PromiseLike<QueryResult>;
}

const BINDING_CACHE_SIZE = 256;
const BINDING_CACHE_KEY_LENGTH = 512;
const STATEMENT_NAME_CACHE_SIZE = 1024;
const statementNames = new Map<string, string>();

/**
 * A prepared statement's name from its text alone, so every paginator (and every copy of this
 * package) on a connection agrees on it and never gives one name to two texts.
 */
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `sb_page_${hash('sha256', text, 'base64url').slice(0, 32)}`;
    if (statementNames.size >= STATEMENT_NAME_CACHE_SIZE) {
      statementNames.delete(statementNames.keys().next().value as string);
    }
    statementNames.set(text, name);
  }
  return name;
}

const LEARNED_READS_SIZE = 256;

/**
 * Creates a paginator for one order. Bad options throw `TypeError` here, at startup.
 *
 * @example
 * const paginator = createPaginator({
 *   orderBy: [
 *     { field: 'createdAt', column: 'created_at', direction: 'desc' },
 *     { field: 'id', column: 'id', direction: 'desc' },
 *   ],
 *   maxPageSize: 100,
 *   defaultPageSize: 20,
 *   secret: process.env.CURSOR_SECRET,
 * });
 * const page = await paginator.fromPostgres(pool, { table: 'messages', where: 'chat_id = $1', params: [chatId] }, { first: 20 });
 */
export function createPaginator(options: PaginatorOptions): Paginator {
  const resolved = resolveOptions(options);
  const { keys } = resolved;
  const codec = new CursorCodec(resolved.secrets, resolved.maxCursorLength);
  const orderIdentity = keys.map((key) => [key.field, key.column, key.direction, key.nulls ?? null]);
  const orderBy = keys.map(
    ({ field, column, direction, nulls }): OrderKeyInfo =>
      Object.freeze(nulls === undefined ? { field, column, direction } : { field, column, direction, nulls }),
  );

  // What a Postgres cursor is bound to: the order and the query (or the caller's queryKey). The
  // text is JSON.stringify(['postgres', orderIdentity, query]), written in two parts so the
  // order's part is serialized once.
  const postgresPrefix = `["postgres",${JSON.stringify(orderIdentity)},`;
  const bindings = new Map<string, Buffer>();
  const postgresBinding = (sql: SqlSource, source: PostgresSource, queryKey: string | undefined) => {
    const identity = `${postgresPrefix}${stringify(
      queryKey ?? [source.table ?? null, source.query ?? null, sql.where ?? null, sql.params],
    )}]`;
    let binding = bindings.get(identity);
    if (binding === undefined) {
      binding = bindingDigest(identity);
      // Bounded in count and size: identities carry per-request params (a chat id, a long list).
      if (identity.length <= BINDING_CACHE_KEY_LENGTH) {
        if (bindings.size >= BINDING_CACHE_SIZE) bindings.delete(bindings.keys().next().value as string);
        bindings.set(identity, binding);
      }
    }
    return binding;
  };

  const decode = (args: ConnectionArgs, binding: Buffer, text: boolean) => {
    const read = (argument: 'after' | 'before'): KeyValue[] | undefined => {
      const cursor = args[argument];
      if (cursor === undefined || cursor === null) return undefined;
      const values = codec.decode(cursor, binding, argument, keys.length);
      values.forEach((value, i) => {
        const nullable = (keys[i] as ResolvedKey).nulls !== undefined;
        if ((value === null && !nullable) || (text && value !== null && typeof value !== 'string')) {
          throw new InvalidCursorError(argument, 'bad-values');
        }
      });
      return values;
    };
    return { after: read('after'), before: read('before') };
  };

  // How to read each key of a source (`from` and select list), once learned from a first page.
  const learnedReads = new Map<string, readonly KeyRead[]>();
  const learnReads: readonly KeyRead[] = keys.map(() => 'learn');
  const hidden = new Set(keys.flatMap((_, index) => [keyAlias(index), nativeAlias(index)]));
  const remember = (shape: string, reads: readonly KeyRead[]) => {
    if (learnedReads.size >= LEARNED_READS_SIZE) learnedReads.delete(learnedReads.keys().next().value as string);
    learnedReads.set(shape, reads);
  };

  const assemble = <T>(
    fetched: readonly Positioned<T>[],
    plan: PagePlan,
    binding: Buffer,
    probes: { previous: boolean; next: boolean },
  ): Connection<T> => {
    for (let i = 1; i < fetched.length; i++) {
      const a = (fetched[i - 1] as Positioned<T>).position;
      const b = (fetched[i] as Positioned<T>).position;
      if (comparePositions(keys, a, b) === 0) throw new DuplicateSortKeyError(keys.map((key) => key.field));
    }
    const page = slicePage(fetched, plan);
    const edges: Edge<T>[] = page.rows.map((row) => {
      codec.checkLength(row.position);
      return new LazyEdge(codec, binding, row.node, row.position);
    });
    return {
      edges,
      pageInfo: lazyPageInfo(
        page.hasNextPage ?? probes.next,
        page.hasPreviousPage ?? probes.previous,
        edges[0],
        edges[edges.length - 1],
      ),
    };
  };

  const positionOf = (row: object): KeyValue[] =>
    keys.map((key) => {
      const value = (row as Record<string, unknown>)[key.field] ?? null;
      if (value === null) {
        if (key.nulls === undefined) throw new NullSortKeyError(key.field);
        return null;
      }
      if (!['string', 'number', 'bigint', 'boolean'].includes(typeof value) && !(value instanceof Date)) {
        throw new TypeError(`fromArray: sort key "${key.field}" must be a string, number, bigint, boolean or Date`);
      }
      return value as KeyValue;
    });

  return {
    orderBy,

    fromArray(rows, args, pageOptions = {}) {
      if (!Array.isArray(rows)) throw new TypeError('fromArray: rows must be an array');
      const plan = planPage(args, resolved.defaultPageSize, resolved.maxPageSize);
      const binding = bindingDigest(JSON.stringify(['array', orderIdentity, pageOptions.queryKey ?? null]));
      const { after, before } = decode(args, binding, false);
      const sorted = rows
        .map((node) => ({ node, position: positionOf(node) }))
        .sort((a, b) => comparePositions(keys, a.position, b.position));
      const window = sorted.filter(
        (row) =>
          (!after || comparePositions(keys, row.position, after) > 0) &&
          (!before || comparePositions(keys, row.position, before) < 0),
      );
      const fetched = plan.backward
        ? window.slice(Math.max(0, window.length - plan.fetch))
        : window.slice(0, plan.fetch);
      // The whole list is at hand: the optional flags cost nothing beyond a scan.
      const probes = {
        previous:
          resolved.exactPageInfo && !!after && sorted.some((row) => comparePositions(keys, row.position, after) <= 0),
        next:
          resolved.exactPageInfo && !!before && sorted.some((row) => comparePositions(keys, row.position, before) >= 0),
      };
      // Duplicates anywhere in the list, not only on this page: the order must be total.
      for (let i = 1; i < sorted.length; i++) {
        if (
          comparePositions(
            keys,
            (sorted[i - 1] as Positioned<object>).position,
            (sorted[i] as Positioned<object>).position,
          ) === 0
        ) {
          throw new DuplicateSortKeyError(keys.map((key) => key.field));
        }
      }
      const connection = assemble(fetched, plan, binding, probes);
      if (pageOptions.totalCount) connection.totalCount = rows.length;
      return connection;
    },

    async fromPostgres<T = Record<string, unknown>>(
      db: Queryable,
      source: PostgresSource,
      args: ConnectionArgs,
      pageOptions: PageOptions = {},
    ): Promise<Connection<T>> {
      if (db === null || typeof db !== 'object' || typeof db.query !== 'function') {
        throw new TypeError('fromPostgres: db must have a query(text, params) method (pg.Pool, pg.Client, ...)');
      }
      for (const key of keys) {
        if (!key.columnValid) {
          throw new TypeError(
            `fromPostgres: orderBy field "${key.field}" needs a column that is a plain SQL identifier`,
          );
        }
      }
      const sql = new SqlSource(source);
      const plan = planPage(args, resolved.defaultPageSize, resolved.maxPageSize);
      const binding = postgresBinding(sql, source, pageOptions.queryKey);
      const decoded = decode(args, binding, true);
      const bounds = decoded as Bounds;
      const prepared = resolved.preparedStatements;
      const run = async (statement: SqlStatement): Promise<QueryResult> => {
        try {
          return prepared
            ? await (db as unknown as PreparingQueryable).query({
                name: statementName(statement.text),
                text: statement.text,
                values: statement.values,
              })
            : await db.query(statement.text, statement.values);
        } catch (error) {
          const sqlState = (error as { code?: unknown } | null)?.code;
          // A data exception with a cursor in play: a value Postgres cannot read as the column's
          // type (a forged unsigned cursor). A client error, not a 500.
          if ((decoded.after || decoded.before) && typeof sqlState === 'string' && sqlState.startsWith('22')) {
            throw new InvalidCursorError(decoded.after ? 'after' : 'before', 'rejected-by-database', { cause: error });
          }
          throw error;
        }
      };
      const shape = `${sql.from}\u0000${sql.select}`;
      let reads = learnedReads.get(shape) ?? learnReads;
      const page = run(pageStatement(keys, sql, bounds, plan.backward, plan.fetch, reads));
      const probePrevious =
        resolved.exactPageInfo && !plan.backward && plan.last === undefined && bounds.after
          ? run(probeStatement(keys, sql, bounds.after, 'before'))
          : undefined;
      const probeNext =
        resolved.exactPageInfo && plan.backward && bounds.before
          ? run(probeStatement(keys, sql, bounds.before, 'after'))
          : undefined;
      const count = pageOptions.totalCount ? run(countStatement(sql)) : undefined;
      // The common page is one statement: await it alone, without Promise.all's extra turns.
      const [result, previous, next, counted] =
        probePrevious || probeNext || count
          ? await Promise.all([page, probePrevious, probeNext, count])
          : [await page, undefined, undefined, undefined];
      const selectAll = sql.select === '*';
      let read = readRows<T>(keys, hidden, result, reads, selectAll);
      // Rare: a key learned as native could not be read so (see readRows): ask again for its text.
      while ('retry' in read) {
        reads = read.retry;
        remember(shape, reads);
        read = readRows<T>(
          keys,
          hidden,
          await run(pageStatement(keys, sql, bounds, plan.backward, plan.fetch, reads)),
          reads,
          selectAll,
        );
      }
      if (read.learned) remember(shape, read.learned);
      const fetched = read.rows;
      if (plan.backward) fetched.reverse();
      const connection = assemble(fetched, plan, binding, {
        previous: previous?.rows[0]?.exists === true,
        next: next?.rows[0]?.exists === true,
      });
      if (counted) connection.totalCount = Number(counted.rows[0]?.count ?? 0);
      return connection;
    },

    postgresCursor(keyValues, source, pageOptions = {}) {
      if (!Array.isArray(keyValues) || keyValues.length !== keys.length) {
        throw new TypeError(`postgresCursor: expected ${keys.length} key value(s), one per orderBy key`);
      }
      keyValues.forEach((value, index) => {
        if (value === null ? (keys[index] as ResolvedKey).nulls === undefined : typeof value !== 'string') {
          throw new TypeError(
            `postgresCursor: key "${(keys[index] as ResolvedKey).field}" must be its text form from Postgres${value === null ? ' (it is not nullable)' : ''}`,
          );
        }
      });
      return codec.encode(postgresBinding(new SqlSource(source), source, pageOptions.queryKey), [...keyValues]);
    },
  };
}

/**
 * `JSON.stringify(value, jsonReplacer)`. A replacer puts V8 on its slow path for every call,
 * so it is used only when needed: plain JSON throws a `TypeError` on a bigint, and the text is
 * the same wherever there is none.
 */
function stringify(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return JSON.stringify(value, jsonReplacer);
  }
}

function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? { $bigint: value.toString() } : value;
}
