/** Throws a TypeError naming the option unless `value` is a finite number > 0 (integer if asked). */
export function positive(name: string, value: number, options: { integer?: boolean } = {}): number {
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value <= 0 ||
    (options.integer && !Number.isInteger(value))
  ) {
    const kind = options.integer ? 'a whole number > 0' : 'a finite number > 0';
    throw new TypeError(`${name} must be ${kind}, got ${String(value)}`);
  }
  return value;
}

/** Divides an allowance among instances, never below 1. */
export function share(value: number, instances: number, integer: boolean): number {
  const part = value / positive('instances', instances, { integer: true });
  return integer ? Math.max(1, Math.floor(part)) : part;
}

/** The `{ limit, windowMs }` pair the window algorithms share, validated. */
export function windowLimit(
  algorithm: string,
  options: { limit: number; windowMs: number },
): { limit: number; windowMs: number } {
  return {
    limit: positive(`${algorithm} limit`, options.limit, { integer: true }),
    windowMs: positive(`${algorithm} windowMs`, options.windowMs),
  };
}
