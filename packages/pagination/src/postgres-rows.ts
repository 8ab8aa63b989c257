import type { KeyValue } from './cursor.ts';
import { NullSortKeyError } from './errors.ts';
import { type FieldInfo, hasExactText, keyText } from './key-text.ts';
import type { ResolvedKey } from './options.ts';
import { type KeyRead, keyAlias, nativeAlias } from './sql.ts';

/** What `fromPostgres` reads of a result: pg's `fields` when the client gives them. */
export interface QueryResult {
  rows: Record<string, unknown>[];
  fields?: readonly (FieldInfo | undefined)[];
}

/** A node and its key values, as a cursor carries them. */
export interface Positioned<T> {
  node: T;
  position: KeyValue[];
}

/**
 * The rows read with `reads`, and, when some keys were being learned, how to read them from now
 * on; or, when a key could not be read natively after all (its column changed type, or an
 * application's type parser made a value inexact), the reads to ask again with.
 */
export type ReadOutcome<T> = { rows: Positioned<T>[]; learned: KeyRead[] | undefined } | { retry: KeyRead[] };

// A key read as `to_jsonb` text: no type to convert from.
const TEXT_READ = -1;

/** The type of the one column of the result called `name`, or `TEXT_READ` if none or several. */
function typeOf(fields: readonly (FieldInfo | undefined)[], name: string): number {
  let type = TEXT_READ;
  let seen = 0;
  for (const field of fields) {
    if (field?.name === name) {
      seen++;
      type = field.dataTypeID;
    }
  }
  // `*` of a base query with two columns of that name is ambiguous: read the text, and
  // Postgres says so.
  return seen === 1 ? type : TEXT_READ;
}

/** The result's column names that are not the paginator's own, once each, in order. */
function visibleNames(fields: readonly (FieldInfo | undefined)[], hidden: ReadonlySet<string>): string[] {
  const names: string[] = [];
  for (const field of fields) {
    if (field && !hidden.has(field.name) && !names.includes(field.name)) names.push(field.name);
  }
  return names;
}

/**
 * Reads the positions of a page's rows. A key read natively must be of a type whose text
 * `keyText` makes exactly (told by the result's own description, pg's `fields`; without one,
 * every key is read as text). A key being learned comes as text and natively: it is read
 * natively from then on only if its type allows and every value gave the same text both ways.
 */
export function readRows<T>(
  keys: readonly ResolvedKey[],
  hidden: ReadonlySet<string>,
  result: QueryResult,
  reads: readonly KeyRead[],
  selectAll: boolean,
): ReadOutcome<T> {
  const fields = Array.isArray(result.fields) ? result.fields : [];
  const count = keys.length;
  const names: string[] = [];
  const types: number[] = [];
  const nativeNames: string[] = [];
  const nativeTypes: number[] = [];
  let learned: KeyRead[] | undefined;
  const retry = (index: number) => {
    const next = [...reads];
    next[index] = 'text';
    return { retry: next };
  };
  for (let i = 0; i < count; i++) {
    const read = reads[i];
    const column = (keys[i] as ResolvedKey).column;
    const name = read === 'row' ? column : keyAlias(i);
    names.push(name);
    if (read === 'row' || read === 'native') {
      const type = typeOf(fields, name);
      if (!hasExactText(type)) return retry(i);
      types.push(type);
    } else types.push(TEXT_READ);
    if (read === 'learn') {
      learned ??= [...reads];
      const nativeName = selectAll ? column : nativeAlias(i);
      const type = typeOf(fields, nativeName);
      learned[i] = hasExactText(type) ? (selectAll ? 'row' : 'native') : 'text';
      nativeNames.push(nativeName);
      nativeTypes.push(type);
    } else {
      nativeNames.push('');
      nativeTypes.push(TEXT_READ);
    }
  }
  const whole = reads.every((read) => read === 'row');
  // The node's columns, from the description when there is one (cheaper than a for-in per row).
  const visible = whole || fields.length === 0 ? undefined : visibleNames(fields, hidden);
  const rows: Positioned<T>[] = [];
  for (const row of result.rows) {
    const position: KeyValue[] = [];
    for (let i = 0; i < count; i++) {
      const raw = row[names[i] as string];
      const type = types[i] as number;
      const value = type === TEXT_READ ? ((raw ?? null) as string | null) : keyText(raw, type);
      if (value === undefined) return retry(i);
      if (value === null && (keys[i] as ResolvedKey).nulls === undefined) {
        throw new NullSortKeyError((keys[i] as ResolvedKey).field);
      }
      if (
        learned &&
        learned[i] !== 'text' &&
        keyText(row[nativeNames[i] as string], nativeTypes[i] as number) !== value
      ) {
        learned[i] = 'text';
      }
      position.push(value);
    }
    // Keys the select list already returns: the row is the node as the driver made it.
    if (whole) {
      rows.push({ node: row as T, position });
      continue;
    }
    const node: Record<string, unknown> = {};
    if (visible) for (const name of visible) node[name] = row[name];
    else for (const name in row) if (!hidden.has(name)) node[name] = row[name];
    rows.push({ node: node as T, position });
  }
  return { rows, learned };
}
