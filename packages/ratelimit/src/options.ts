import { wholeNumberOption } from '@switchboard/hot-path';
import { validatePrefix } from './keys.ts';
import { createMemoryStore } from './stores/memory.ts';
import { ALGORITHM_KINDS, type Algorithm, type RateLimitStore } from './types.ts';

/** Where warnings go (pino, console, ...); called once per outage, not per request. */
export interface RateLimitLogger {
  warn(message: string, details?: Record<string, unknown>): void;
}

/**
 * What a check does when the store fails or times out:
 * - `'closed'` (default): refuse. Safe for login and signup limits.
 * - `'open'`: admit. For limits that protect capacity, where an outage must not lock users out.
 * - `{ insurance: { instances } }`: an in-memory limiter per process takes over, with the limit
 *   divided by `instances` (N processes each admitting limit/N add up to the limit), and hands
 *   back to the store by itself once it answers again.
 */
export type StoreErrorPolicy = 'open' | 'closed' | { insurance: { instances: number; store?: RateLimitStore } };

export interface RateLimiterOptions {
  /** Where counts live: `createMemoryStore()` or `createRedisStore({ client })`. */
  store: RateLimitStore;
  /** `fixedWindow(...)`, `slidingWindowLog(...)`, `slidingWindowCounter(...)`, `tokenBucket(...)` or `gcra(...)`. */
  algorithm: Algorithm;
  /** Names this limiter in the store; limiters sharing a store need distinct prefixes. @default 'rl' */
  prefix?: string;
  /** @default 'closed' */
  onStoreError?: StoreErrorPolicy;
  /** A check never waits longer than this for the store, then the policy decides. @default 500 */
  timeoutMs?: number;
  /** After a store failure, skip the store for this long (the policy answers at once), then try again. @default 1000 */
  retryStoreAfterMs?: number;
  /** When a `consume` is refused, block the key for this long (e.g. 15 min after too many failed logins). @default 0 */
  blockDurationMs?: number;
  /** @default console */
  logger?: RateLimitLogger;
  /**
   * Redis Cluster: what of a key decides its slot. Limiters whose keys give the same tag keep
   * their state in one slot, so that `consumeAll` over them stays one atomic script: e.g.
   * `(key) => key.split(':')[0]` puts a user's global limit (`userId`) and per-chat limit
   * (`userId:chatId`) together. Without it each key is its own tag (a key's state and block
   * always share a slot). Any store accepts it; only Redis uses it. The tag becomes part of the
   * storage key: adding or changing it starts the counts afresh.
   */
  hashTag?: (key: string) => string;
}

/** How a store is doing, shared by every limiter on it. */
export interface StoreHealth {
  /** Until then, checks skip the store and the policy answers. */
  retryAt: number;
  failing: boolean;
}

/** A limiter's options, resolved once at creation. */
export interface ResolvedSettings {
  store: RateLimitStore;
  algorithm: Algorithm;
  prefix: string;
  policy: StoreErrorPolicy;
  insurance: { store: RateLimitStore; algorithm: Algorithm } | undefined;
  timeoutMs: number;
  retryStoreAfterMs: number;
  blockDurationMs: number;
  logger: RateLimitLogger;
  hashTag: ((key: string) => string) | undefined;
  /** Until then, unreadable-state warnings of this limiter are not repeated. */
  quietUntil: number;
  /** Shared by every limiter on the same store. */
  health: StoreHealth;
  /** Whether the default cost of 1 passes `validateCost`. */
  oneFits: boolean;
}

const healthByStore = new WeakMap<RateLimitStore, StoreHealth>();

function healthOf(store: RateLimitStore): StoreHealth {
  let health = healthByStore.get(store);
  if (!health) {
    health = { retryAt: 0, failing: false };
    healthByStore.set(store, health);
  }
  return health;
}

/** Checks and completes `createRateLimiter`'s options. */
export function resolveSettings(options: RateLimiterOptions): ResolvedSettings {
  if (!options || typeof options !== 'object') throw new TypeError('createRateLimiter needs an options object');
  const { store, algorithm } = options;
  if (
    !store ||
    typeof store.evaluate !== 'function' ||
    (store.bind !== undefined && typeof store.bind !== 'function')
  ) {
    throw new TypeError(
      'createRateLimiter: `store` must be a rate-limit store (createMemoryStore() or createRedisStore())',
    );
  }
  if (
    !algorithm ||
    typeof algorithm.step !== 'function' ||
    // A kind the Redis script knows, with the three numbers it reads.
    !(ALGORITHM_KINDS as readonly string[]).includes(algorithm.kind) ||
    !Array.isArray(algorithm.params) ||
    algorithm.params.length !== 3 ||
    !algorithm.params.every((value) => typeof value === 'number' && Number.isFinite(value))
  ) {
    throw new TypeError(
      'createRateLimiter: `algorithm` must come from fixedWindow(), slidingWindowLog(), slidingWindowCounter(), tokenBucket() or gcra()',
    );
  }
  const policy = options.onStoreError ?? 'closed';
  let insurance: ResolvedSettings['insurance'];
  if (typeof policy === 'object' && policy !== null && 'insurance' in policy) {
    insurance = {
      store: policy.insurance.store ?? createMemoryStore(),
      algorithm: algorithm.divide(
        wholeNumberOption('createRateLimiter', 'onStoreError.insurance.instances', policy.insurance.instances, {
          min: 1,
        }),
      ),
    };
  } else if (policy !== 'open' && policy !== 'closed') {
    throw new TypeError(
      `createRateLimiter: \`onStoreError\` must be 'open', 'closed' or { insurance: { instances } }, got ${JSON.stringify(policy)}`,
    );
  }
  return {
    store,
    algorithm,
    prefix: validatePrefix(options.prefix ?? 'rl'),
    policy,
    insurance,
    timeoutMs: duration('timeoutMs', options.timeoutMs ?? 500, true),
    retryStoreAfterMs: duration('retryStoreAfterMs', options.retryStoreAfterMs ?? 1_000, false),
    blockDurationMs: duration('blockDurationMs', options.blockDurationMs ?? 0, false),
    logger: options.logger ?? { warn: (message, details) => console.warn(`[ratelimit] ${message}`, details ?? '') },
    hashTag: hashTagOption(options.hashTag),
    quietUntil: 0,
    health: healthOf(store),
    oneFits: algorithm.limit >= 1,
  };
}

function hashTagOption(hashTag: unknown): ((key: string) => string) | undefined {
  if (hashTag === undefined || typeof hashTag === 'function') return hashTag as ((key: string) => string) | undefined;
  throw new TypeError(`createRateLimiter: \`hashTag\` must be a function (key) => tag, got ${typeof hashTag}`);
}

// Durations may be fractional milliseconds, so not `wholeNumberOption`; the message has its shape.
function duration(name: string, value: number, strictlyPositive: boolean): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (strictlyPositive && value === 0)) {
    throw new TypeError(
      `createRateLimiter: \`${name}\` must be a finite number ${strictlyPositive ? '> 0' : '>= 0'}, got ${String(value)}`,
    );
  }
  return value;
}

/** A non-empty string, or a TypeError. */
export function validateKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0) throwBadKey(key);
  return key;
}

export function throwBadKey(key: unknown): never {
  throw new TypeError(`rate-limit key must be a non-empty string, got ${key === '' ? 'an empty string' : typeof key}`);
}

/** A whole number from 1 to the algorithm's limit, or a TypeError. */
export function validateCost(cost: number, algorithm: Algorithm): number {
  if (!Number.isInteger(cost) || cost < 1) throw new TypeError(`cost must be a whole number >= 1, got ${String(cost)}`);
  if (cost > algorithm.limit) {
    throw new TypeError(`cost ${cost} exceeds the limit ${algorithm.limit}: such a request could never be allowed`);
  }
  return cost;
}
