/** The range a whole-number option may take. */
export interface WholeNumberRange {
  /** Smallest allowed value. */
  min: number;
  /** Largest allowed value. @default Infinity (no upper bound) */
  max?: number;
  /** Whether `Infinity` itself is allowed (e.g. "retry forever"). @default false */
  infinite?: boolean;
}

/**
 * The one check every package runs on its numeric options, so they fail alike: a `TypeError`
 * at construction naming the factory, the option and what it got, e.g.
 * "createPaginator: `maxPageSize` must be a whole number >= 1, got 0". Argument order: who
 * asks, the option's name, its value, then the range.
 */
export function wholeNumberOption(owner: string, name: string, value: unknown, range: WholeNumberRange): number {
  const { min, max = Number.POSITIVE_INFINITY, infinite = false } = range;
  const acceptable =
    typeof value === 'number' &&
    ((Number.isInteger(value) && value >= min && value <= max) || (infinite && value === Number.POSITIVE_INFINITY));
  if (acceptable) return value;
  const bounds = max === Number.POSITIVE_INFINITY ? `>= ${min}` : `from ${min} to ${max}`;
  const orInfinity = infinite ? ' (or Infinity)' : '';
  throw new TypeError(`${owner}: \`${name}\` must be a whole number ${bounds}${orInfinity}, got ${describe(value)}`);
}

function describe(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined) return String(value);
  return typeof value;
}
