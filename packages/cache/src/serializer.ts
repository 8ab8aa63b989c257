import type { Serializer } from './types.ts';

const DATE = '$sb:date';
const BIGINT = '$sb:bigint';
const UNDEFINED = '$sb:undefined';

/**
 * JSON that keeps what plain JSON loses: `Date` comes back as a `Date`, `BigInt` as a `BigInt`,
 * a top-level `undefined` as `undefined` (so a cached "nothing" stays a value). Maps, Sets and
 * class instances still become plain objects: use your own serializer for those.
 */
export const jsonSerializer: Serializer = {
  serialize(value) {
    if (value === undefined) return JSON.stringify({ [UNDEFINED]: true });
    return JSON.stringify(value, function replacer(this: Record<string, unknown>, key, replaced) {
      const original = this[key];
      if (original instanceof Date) return { [DATE]: original.toISOString() };
      if (typeof replaced === 'bigint') return { [BIGINT]: replaced.toString() };
      return replaced;
    });
  },
  deserialize(raw) {
    // A reviver makes JSON.parse several times slower: only pay for it when a marker is there.
    if (!raw.includes('"$sb:')) return JSON.parse(raw);
    return JSON.parse(raw, (_key, value: unknown) => {
      if (value && typeof value === 'object' && !Array.isArray(value)) {
        const record = value as Record<string, unknown>;
        if (typeof record[DATE] === 'string' && Object.keys(record).length === 1)
          return new Date(record[DATE] as string);
        if (typeof record[BIGINT] === 'string' && Object.keys(record).length === 1)
          return BigInt(record[BIGINT] as string);
        if (record[UNDEFINED] === true && Object.keys(record).length === 1) return undefined;
      }
      return value;
    });
  },
};
