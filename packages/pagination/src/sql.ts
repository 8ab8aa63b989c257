import { isIdentifier, type ResolvedKey } from './options.ts';

/**
 * Where `fromPostgres` reads its rows: a table (or view) name, or a base query, plus a filter.
 * `table` and the order's columns are identifiers checked and quoted by the paginator; `query`,
 * `where` and `select` are SQL written by you, never built from client input: client values go
 * in `params` only.
 */
export interface PostgresSource {
  /** Table or view, optionally schema-qualified (`app.messages`); double-quoted, so case-sensitive. */
  table?: string;
  /**
   * A base query instead of `table` (e.g. a join), wrapped as a subquery: its output columns
   * must include the order's columns. It may use `$1..$k` from `params`.
   */
  query?: string;
  /** A filter, e.g. `chat_id = $1`, using `$1..$k` for `params`. The paginator adds its own parameters after them. */
  where?: string;
  /** Values for `$1..$k` in `where` (and `query`). Also bound into the cursors (see `queryKey`). */
  params?: readonly unknown[];
  /** The select list. @default '*' */
  select?: string;
}

export interface SqlStatement {
  text: string;
  values: unknown[];
}

/** Which side of a position: rows after it or before it in the natural order. */
export type Side = 'after' | 'before';

const KEY_ALIAS = '__sb_key_';

export const keyAlias = (index: number): string => `${KEY_ALIAS}${index}`;

/** Where a key being learned comes in its own type when the select list is not `*`. */
export const nativeAlias = (index: number): string => `__sb_native_${index}`;

export const quoteIdentifier = (name: string): string => `"${name}"`;

export class SqlSource {
  readonly from: string;
  readonly where: string | undefined;
  readonly params: readonly unknown[];
  readonly select: string;

  constructor(source: PostgresSource) {
    if (source === null || typeof source !== 'object')
      throw new TypeError('fromPostgres: a source { table | query, where?, params? } is required');
    const { table, query } = source;
    if ((table === undefined) === (query === undefined)) {
      throw new TypeError('fromPostgres: give exactly one of table and query');
    }
    if (table !== undefined) {
      const parts = typeof table === 'string' ? table.split('.') : [];
      if (parts.length < 1 || parts.length > 2 || !parts.every(isIdentifier)) {
        throw new TypeError(
          `fromPostgres: table ${JSON.stringify(table)} is not a plain (optionally schema-qualified) identifier`,
        );
      }
      this.from = parts.map(quoteIdentifier).join('.');
    } else {
      if (typeof query !== 'string' || query.trim() === '')
        throw new TypeError('fromPostgres: query must be a non-empty string');
      this.from = `(${query}) AS "__sb_base"`;
    }
    const params = source.params ?? [];
    if (!Array.isArray(params)) throw new TypeError('fromPostgres: params must be an array');
    if (source.where !== undefined && (typeof source.where !== 'string' || source.where.trim() === '')) {
      throw new TypeError('fromPostgres: where must be a non-empty string when given');
    }
    for (const sql of [source.where, query]) {
      for (const match of sql?.matchAll(/\$(\d+)/g) ?? []) {
        if (Number(match[1]) > params.length) {
          throw new TypeError(`fromPostgres: the SQL uses $${match[1]} but params has ${params.length} value(s)`);
        }
      }
    }
    if (source.select !== undefined && (typeof source.select !== 'string' || source.select.trim() === '')) {
      throw new TypeError('fromPostgres: select must be a non-empty string when given');
    }
    this.where = source.where;
    this.params = params;
    this.select = source.select ?? '*';
  }
}

class Params {
  readonly values: unknown[];
  constructor(initial: readonly unknown[]) {
    this.values = [...initial];
  }
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

function orderClause(keys: readonly ResolvedKey[], reverse: boolean): string {
  return keys
    .map((key) => {
      const desc = (key.direction === 'desc') !== reverse;
      // NOT NULL keys keep Postgres' defaults so a plain (col DESC, id DESC) index matches both ways.
      const nulls = key.nulls === undefined ? '' : (key.nulls === 'first') !== reverse ? ' NULLS FIRST' : ' NULLS LAST';
      return `${quoteIdentifier(key.column)}${desc ? ' DESC' : ' ASC'}${nulls}`;
    })
    .join(', ');
}

/**
 * The keyset predicate: rows strictly after (or before) `position` in the natural order, or
 * also the row at it when `inclusive`. Uses a row-value comparison, which Postgres matches to
 * a composite index, when every key has the same direction and none is nullable; otherwise
 * the expanded OR form, led by a range on the first key so an index scan still starts there.
 */
function keysetPredicate(
  keys: readonly ResolvedKey[],
  position: readonly (string | null)[],
  side: Side,
  inclusive: boolean,
  params: Params,
): string {
  const refs = position.map((value) => (value === null ? null : params.add(value)));
  const column = (i: number) => quoteIdentifier((keys[i] as ResolvedKey).column);
  // Whether "beyond the position" means greater values for key i.
  const greater = (i: number) => ((keys[i] as ResolvedKey).direction === 'asc') === (side === 'after');
  const sameDirection = keys.every((key) => key.direction === (keys[0] as ResolvedKey).direction);
  if (sameDirection && keys.every((key) => key.nulls === undefined)) {
    const op = `${greater(0) ? '>' : '<'}${inclusive ? '=' : ''}`;
    if (keys.length === 1) return `${column(0)} ${op} ${refs[0]}`;
    return `(${keys.map((_, i) => column(i)).join(', ')}) ${op} (${refs.join(', ')})`;
  }
  const beyond = (i: number): string => {
    const key = keys[i] as ResolvedKey;
    const ref = refs[i];
    // NULLS LAST in natural order means nulls lie beyond every value when paging forward.
    const nullsBeyond = key.nulls !== undefined && (key.nulls === 'last') === (side === 'after');
    if (ref === null || ref === undefined) return nullsBeyond ? 'FALSE' : `${column(i)} IS NOT NULL`;
    const compare = `${column(i)} ${greater(i) ? '>' : '<'} ${ref}`;
    return nullsBeyond ? `(${compare} OR ${column(i)} IS NULL)` : compare;
  };
  const equal = (i: number): string => (refs[i] == null ? `${column(i)} IS NULL` : `${column(i)} = ${refs[i]}`);
  const terms: string[] = [];
  for (let i = 0; i < keys.length; i++) {
    const prefix = Array.from({ length: i }, (_, j) => equal(j));
    terms.push([...prefix, beyond(i)].join(' AND '));
  }
  if (inclusive) terms.push(keys.map((_, i) => equal(i)).join(' AND '));
  const expanded = terms.length === 1 ? (terms[0] as string) : terms.map((term) => `(${term})`).join(' OR ');
  const lead = keys[0] as ResolvedKey;
  if (lead.nulls === undefined && refs[0] != null && keys.length > 1) {
    return `${column(0)} ${greater(0) ? '>=' : '<='} ${refs[0]} AND (${expanded})`;
  }
  return `(${expanded})`;
}

/** Positions decoded from `after` / `before`. */
export interface Bounds {
  after: readonly (string | null)[] | undefined;
  before: readonly (string | null)[] | undefined;
}

function conditions(keys: readonly ResolvedKey[], source: SqlSource, bounds: Bounds, params: Params): string[] {
  const list: string[] = [];
  if (source.where !== undefined) list.push(`(${source.where})`);
  if (bounds.after) list.push(keysetPredicate(keys, bounds.after, 'after', false, params));
  if (bounds.before) list.push(keysetPredicate(keys, bounds.before, 'before', false, params));
  return list;
}

const whereClause = (list: readonly string[]) => (list.length > 0 ? ` WHERE ${list.join(' AND ')}` : '');

/**
 * How the page statement returns key `i`: `'row'`, the column as the select list (`*`) already
 * returns it; `'native'`, the column again under `__sb_key_<i>` in its own type; `'text'`, its
 * `to_jsonb(column) #>> '{}'` text under `__sb_key_<i>`, exact for every type; `'learn'`, the
 * text, and the column in its own type (from `*`, or under `__sb_native_<i>`) to compare.
 */
export type KeyRead = 'row' | 'native' | 'text' | 'learn';

/** One page (plus one row): the rows, and each key as `reads` says. */
export function pageStatement(
  keys: readonly ResolvedKey[],
  source: SqlSource,
  bounds: Bounds,
  backward: boolean,
  limit: number,
  reads: readonly KeyRead[],
): SqlStatement {
  const params = new Params(source.params);
  let keyColumns = '';
  keys.forEach((key, i) => {
    const read = reads[i];
    const column = quoteIdentifier(key.column);
    // JSON text keeps full precision (timestamptz microseconds, numeric digits) whatever the
    // session's DateStyle; the text goes back in as an untyped parameter read as the column's type.
    if (read === 'text' || read === 'learn') keyColumns += `, to_jsonb(${column}) #>> '{}' AS "${keyAlias(i)}"`;
    if (read === 'native') keyColumns += `, ${column} AS "${keyAlias(i)}"`;
    if (read === 'learn' && source.select !== '*') keyColumns += `, ${column} AS "${nativeAlias(i)}"`;
  });
  const text = `SELECT ${source.select}${keyColumns} FROM ${source.from}${whereClause(
    conditions(keys, source, bounds, params),
  )} ORDER BY ${orderClause(keys, backward)} LIMIT ${limit}`;
  return { text, values: params.values };
}

/** Whether any row matching the filter lies at or beyond `position` on `side`. */
export function probeStatement(
  keys: readonly ResolvedKey[],
  source: SqlSource,
  position: readonly (string | null)[],
  side: Side,
): SqlStatement {
  const params = new Params(source.params);
  const list = source.where === undefined ? [] : [`(${source.where})`];
  list.push(keysetPredicate(keys, position, side, true, params));
  return {
    text: `SELECT EXISTS (SELECT 1 FROM ${source.from}${whereClause(list)}) AS "exists"`,
    values: params.values,
  };
}

/** `count(*)` of the rows matching the filter. */
export function countStatement(source: SqlSource): SqlStatement {
  const where = source.where === undefined ? '' : ` WHERE (${source.where})`;
  return { text: `SELECT count(*)::int8 AS "count" FROM ${source.from}${where}`, values: [...source.params] };
}
