import { wholeNumberOption } from '@switchboard/hot-path';

/**
 * `value` if it is a finite number > 0, else a TypeError shaped like `wholeNumberOption`'s
 * ("gcra: `periodMs` must be a finite number > 0, got 0"): durations and rates may be fractional.
 */
export function positive(owner: string, name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`${owner}: \`${name}\` must be a finite number > 0, got ${String(value)}`);
  }
  return value;
}

/**
 * `options` if it is an object; else a TypeError with an example call, instead of "Cannot read
 * properties of undefined" from the first option read.
 */
export function optionsOf<T extends object>(owner: string, options: T, example: string): T {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${owner} needs its options, e.g. ${example}`);
  }
  return options;
}

/** A whole-number option >= 1 (a limit, a capacity, a burst). */
export const count = (owner: string, name: string, value: number): number =>
  wholeNumberOption(owner, name, value, { min: 1 });

/** Divides an allowance among instances, never below 1. */
export function share(value: number, instances: number, integer: boolean): number {
  const part = value / count('divide', 'instances', instances);
  return integer ? Math.max(1, Math.floor(part)) : part;
}

/** The `{ limit, windowMs }` pair the window algorithms share, validated. */
export function windowLimit(
  algorithm: string,
  options: { limit: number; windowMs: number },
): { limit: number; windowMs: number } {
  return {
    limit: count(algorithm, 'limit', options.limit),
    windowMs: positive(algorithm, 'windowMs', options.windowMs),
  };
}
