import { type WholeNumberRange, wholeNumberOption } from '@switchboard/hot-path';
import { jsonSerializer } from './serializer.ts';
import type { Telemetry } from './telemetry.ts';
import type { CacheBus, LocalTier, Serializer, SharedTier } from './types.ts';

export interface CacheOptions {
  /** The in-process tier; `false` for none. @default createMemoryTier() */
  l1?: LocalTier | false;
  /** The shared tier, e.g. `createRedisTier({ client })`. @default none */
  l2?: SharedTier;
  /** Carries invalidations to other instances' L1, e.g. `createRedisBus(...)`. @default none */
  bus?: CacheBus;
  /** How long a value is fresh. @default 60000 */
  ttlMs?: number;
  /** How long after that an expired value may still be served if the fetcher fails. @default 0 */
  graceMs?: number;
  /** Freshness of a cached `null` / `undefined` ("not found"). @default ttlMs */
  nullTtlMs?: number;
  /** Random spread of each TTL, as a fraction (0.1 = ±10%), so keys written together do not expire together. @default 0 */
  jitter?: number;
  /** Prepended to every key and tag. @default '' */
  prefix?: string;
  /** With a stale value at hand, a fetcher slower than this answers with the stale value and refreshes in the background. @default none */
  softTimeoutMs?: number;
  /** A fetcher slower than this fails (`FETCH_TIMEOUT`), or the stale value is served. @default none */
  hardTimeoutMs?: number;
  /**
   * Longest an L1 copy is served without being confirmed against L2: bounds how long a missed
   * bus message can keep another instance's invalidation from taking effect.
   * @default 5000 with an L2, unbounded without
   */
  l1MaxStalenessMs?: number;
  /** An L2 call never takes longer than this; then L2 counts as down. @default 250 */
  l2TimeoutMs?: number;
  /** After an L2 failure, skip L2 this long before trying again. @default 1000 */
  l2RetryAfterMs?: number;
  /**
   * Single-flight across instances: on an L2 miss, one instance takes a short Redis lock and
   * fetches; the others wait for its value in L2. `true` for the defaults.
   */
  lock?: boolean | { ttlMs?: number; waitMs?: number };
  /** @default jsonSerializer (keeps Date, BigInt and undefined) */
  serializer?: Serializer;
  /** @default Date.now */
  now?: () => number;
  /**
   * OpenTelemetry: spans for fills (`switchboard.cache.fill`) and L2 calls
   * (`switchboard.cache.l2.<operation>`), and the counter `switchboard.cache.hits` (`tier`,
   * `outcome`). `true` for the global API, or the API object.
   * @default false
   */
  telemetry?: Telemetry;
}

export interface GetOrSetOptions {
  ttlMs?: number;
  graceMs?: number;
  nullTtlMs?: number;
  /** Tags this value depends on: `deleteByTag(tag)` invalidates it. */
  tags?: readonly string[];
  softTimeoutMs?: number;
  hardTimeoutMs?: number;
}

export type SetOptions = Pick<GetOrSetOptions, 'ttlMs' | 'graceMs' | 'nullTtlMs' | 'tags'>;

/** Options with their defaults applied, once. */
export interface ResolvedOptions {
  ttlMs: number;
  graceMs: number;
  nullTtlMs: number | undefined;
  jitter: number;
  prefix: string;
  softTimeoutMs: number | undefined;
  hardTimeoutMs: number | undefined;
  l1MaxStalenessMs: number;
  l2TimeoutMs: number;
  l2RetryAfterMs: number;
  lock: { ttlMs: number; waitMs: number } | undefined;
  serializer: Serializer;
  now: () => number;
}

/** Shared by calls without options: no allocation on the hot path. */
export const NO_OPTIONS: GetOrSetOptions = Object.freeze({});

// Durations are whole milliseconds, as Redis (PX, PEXPIRE) and timers take them.
const POSITIVE: WholeNumberRange = { min: 1 };
const NON_NEGATIVE: WholeNumberRange = { min: 0 };
const POSITIVE_OR_UNBOUNDED: WholeNumberRange = { min: 1, infinite: true };

/** Validates the cache's options and applies their defaults (tiers and bus are the caller's). */
export function resolveOptions(options: CacheOptions): ResolvedOptions {
  const owner = 'createCache';
  const optional = (name: 'nullTtlMs' | 'softTimeoutMs' | 'hardTimeoutMs') =>
    options[name] === undefined ? undefined : wholeNumberOption(owner, name, options[name], POSITIVE);
  return {
    ttlMs: wholeNumberOption(owner, 'ttlMs', options.ttlMs ?? 60_000, POSITIVE),
    graceMs: wholeNumberOption(owner, 'graceMs', options.graceMs ?? 0, NON_NEGATIVE),
    nullTtlMs: optional('nullTtlMs'),
    jitter: fraction(owner, 'jitter', options.jitter ?? 0),
    prefix: options.prefix ?? '',
    softTimeoutMs: optional('softTimeoutMs'),
    hardTimeoutMs: optional('hardTimeoutMs'),
    // Unbounded is allowed (and the default without L2: there is nothing to re-check against).
    l1MaxStalenessMs: wholeNumberOption(
      owner,
      'l1MaxStalenessMs',
      options.l1MaxStalenessMs ?? (options.l2 ? 5_000 : Number.POSITIVE_INFINITY),
      POSITIVE_OR_UNBOUNDED,
    ),
    l2TimeoutMs: wholeNumberOption(owner, 'l2TimeoutMs', options.l2TimeoutMs ?? 250, POSITIVE),
    l2RetryAfterMs: wholeNumberOption(owner, 'l2RetryAfterMs', options.l2RetryAfterMs ?? 1_000, NON_NEGATIVE),
    lock: resolveLock(options.lock, options.l2 !== undefined),
    serializer: options.serializer ?? jsonSerializer,
    now: options.now ?? Date.now,
  };
}

/**
 * Per-call options get the same checks as the cache's (a NaN TTL would reach Redis). `owner`
 * names the method in the error, e.g. `cache.getOrSet`.
 */
export function validateCallOptions<O extends GetOrSetOptions | SetOptions>(owner: string, options: O): O {
  if (options.ttlMs !== undefined) wholeNumberOption(owner, 'ttlMs', options.ttlMs, POSITIVE);
  if (options.nullTtlMs !== undefined) wholeNumberOption(owner, 'nullTtlMs', options.nullTtlMs, POSITIVE);
  if (options.graceMs !== undefined) wholeNumberOption(owner, 'graceMs', options.graceMs, NON_NEGATIVE);
  const timeouts = options as GetOrSetOptions;
  if (timeouts.softTimeoutMs !== undefined) wholeNumberOption(owner, 'softTimeoutMs', timeouts.softTimeoutMs, POSITIVE);
  if (timeouts.hardTimeoutMs !== undefined) wholeNumberOption(owner, 'hardTimeoutMs', timeouts.hardTimeoutMs, POSITIVE);
  if (options.tags !== undefined && !Array.isArray(options.tags))
    throw new TypeError('tags must be an array of strings');
  return options;
}

export function validateKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0) throw new TypeError('cache keys must be non-empty strings');
  return key;
}

/** Tags starting with `#` are the cache's own (`#all`, the tag `clear()` bumps). */
export function validateTag(tag: string): string {
  if (typeof tag !== 'string' || tag.length === 0 || tag.startsWith('#')) {
    throw new TypeError(`tags must be non-empty strings not starting with '#', got ${JSON.stringify(tag)}`);
  }
  return tag;
}

function resolveLock(lock: CacheOptions['lock'], withL2: boolean): { ttlMs: number; waitMs: number } | undefined {
  if (!lock) return undefined;
  const settings = lock === true ? {} : lock;
  // The lock lives in L2 (a short Redis key): without one, `lock` would silently do nothing.
  if (!withL2) throw new TypeError('createCache: `lock` needs an `l2` (the lock is held in the shared tier)');
  return {
    ttlMs: wholeNumberOption('createCache', 'lock.ttlMs', settings.ttlMs ?? 5_000, POSITIVE),
    waitMs: wholeNumberOption('createCache', 'lock.waitMs', settings.waitMs ?? 5_000, POSITIVE),
  };
}

/** Not a whole number: the same message shape as `wholeNumberOption`'s. */
function fraction(owner: string, name: string, value: number): number {
  if (typeof value !== 'number' || !(value >= 0 && value < 1))
    throw new TypeError(`${owner}: \`${name}\` must be a fraction from 0 to below 1, got ${String(value)}`);
  return value;
}
