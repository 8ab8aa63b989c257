import type { KeyValue } from './cursor.ts';
import type { ResolvedKey } from './options.ts';

const typeRank = (value: unknown): number =>
  typeof value === 'boolean'
    ? 0
    : typeof value === 'number' || typeof value === 'bigint'
      ? 1
      : value instanceof Date
        ? 2
        : 3;

/** Total order on non-null key values; values of different kinds sort by kind so sorting never breaks. */
function compareValues(a: KeyValue, b: KeyValue): number {
  if (a instanceof Date && b instanceof Date) return a.getTime() - b.getTime();
  const rankA = typeRank(a);
  const rankB = typeRank(b);
  if (rankA !== rankB) return rankA - rankB;
  return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
}

/** Compares two positions (key value lists) in the order the keys describe: < 0 when `a` comes first. */
export function comparePositions(keys: readonly ResolvedKey[], a: readonly KeyValue[], b: readonly KeyValue[]): number {
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as ResolvedKey;
    const x = a[i] ?? null;
    const y = b[i] ?? null;
    let result: number;
    if (x === null || y === null) {
      if (x === y) continue;
      // Nulls sit where `nulls` says, whatever the direction (as Postgres NULLS FIRST/LAST).
      result = (x === null) === (key.nulls === 'first') ? -1 : 1;
      return result;
    }
    result = compareValues(x, y);
    if (result !== 0) return key.direction === 'desc' ? -result : result;
  }
  return 0;
}
