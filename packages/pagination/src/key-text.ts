/**
 * A sort key read in its own type, as the driver parsed it, turned back into the text
 * `to_jsonb(column) #>> '{}'` gives, which is what a Postgres cursor carries. Only for types
 * where that is exact whatever the value: every other type (timestamps lose microseconds in a JS
 * `Date`, floats and intervals have setting-dependent text) is read as that text from Postgres.
 */

/** What a result says of a column: pg's `fields` entries. */
export interface FieldInfo {
  name: string;
  dataTypeID: number;
}

const INT8 = 20;
const INT2 = 21;
const INT4 = 23;
const TEXT = 25;
const VARCHAR = 1043;
const NUMERIC = 1700;
const UUID = 2950;

const INTEGER = /^-?\d{1,19}$/;

/** Whether a column of this type can be read natively (see `keyText`). */
export function hasExactText(dataTypeID: number): boolean {
  return (
    dataTypeID === INT8 ||
    dataTypeID === INT2 ||
    dataTypeID === INT4 ||
    dataTypeID === TEXT ||
    dataTypeID === VARCHAR ||
    dataTypeID === NUMERIC ||
    dataTypeID === UUID
  );
}

/**
 * The cursor text of a value of a column of type `dataTypeID`, `null` for SQL NULL, or
 * `undefined` when the value as parsed cannot give that text exactly (an application's own
 * type parser, e.g. int8 read with `parseInt` past 2^53, or numeric with `parseFloat`): the
 * caller then asks Postgres for the text.
 */
export function keyText(value: unknown, dataTypeID: number): string | null | undefined {
  if (value === null || value === undefined) return null;
  switch (dataTypeID) {
    case INT2:
    case INT4:
    case INT8:
      // pg's own parsers: a number for int2/int4, the decimal text for int8.
      if (typeof value === 'number') return Number.isSafeInteger(value) ? String(value) : undefined;
      if (typeof value === 'string') return INTEGER.test(value) ? value : undefined;
      if (typeof value === 'bigint') return String(value);
      return undefined;
    case TEXT:
    case VARCHAR:
    case UUID:
    case NUMERIC:
      // The driver hands over the output text untouched (numeric's NaN and Infinity included).
      return typeof value === 'string' ? value : undefined;
    default:
      return undefined;
  }
}
