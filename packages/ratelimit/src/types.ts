/** What every check answers (`consume`, `peek`, and each entry of `consumeAll`). */
export interface RateLimitResult {
  /** Whether the request may proceed (for `peek`: whether a request of cost 1 would). */
  allowed: boolean;
  /** The most requests the algorithm lets through at once (limit, capacity or burst). */
  limit: number;
  /** Requests (cost units) left right now, after this one if it was allowed. */
  remaining: number;
  /** Milliseconds until the quota is whole again. */
  resetMs: number;
  /** Milliseconds to wait before the same request can succeed; 0 when allowed. */
  retryAfterMs: number;
  /**
   * Set when the store could not answer and the limiter's `onStoreError` policy decided instead:
   * `'open'` (admitted), `'closed'` (refused) or `'insurance'` (the in-memory insurance limiter).
   */
  degraded?: 'open' | 'closed' | 'insurance';
}

/** A decision of one algorithm over one key; what a store returns per entry. */
export interface Decision {
  allowed: boolean;
  remaining: number;
  resetMs: number;
  retryAfterMs: number;
}

/** The algorithms by name; each has a module in `algorithms/` and a branch in the Lua script. */
export const ALGORITHM_KINDS = [
  'fixed-window',
  'sliding-window-log',
  'sliding-window-counter',
  'token-bucket',
  'gcra',
] as const;
export type AlgorithmKind = (typeof ALGORITHM_KINDS)[number];

/**
 * Outcome of one algorithm step over one key's state. `next` is the state after paying `cost`,
 * whether or not it was allowed: the store writes it only when it should (all entries allowed,
 * or a forced penalty).
 */
export interface Step extends Decision {
  next: number[];
  /** How long `next` must be kept; after that it is equivalent to no state at all. */
  ttlMs: number;
}

/**
 * A rate-limiting algorithm with its parameters: what the factories return. Stores run an
 * algorithm by its `kind` and numbers (the Redis script reads `params`; the memory store runs a
 * fixed window from `limit` and `windowMs`) or by `step`: the factories keep them in agreement.
 */
export interface Algorithm {
  readonly kind: AlgorithmKind;
  /** Reported as `limit` in results (limit, capacity or burst). */
  readonly limit: number;
  /** The policy window for `RateLimit-Policy` (window, period, or time to refill fully). */
  readonly windowMs: number;
  /** Numeric parameters as the Lua script reads them (three, zero-padded). */
  readonly params: readonly [number, number, number];
  /** The same step the Lua script runs, for the memory store. State is a short list of numbers. */
  step(state: readonly number[] | undefined, now: number, cost: number): Step;
  /** The same algorithm with its allowance divided among `instances` (insurance limiters). */
  divide(instances: number): Algorithm;
}

/** What the limiter asks a store to do with a batch of entries, atomically. */
export type EvaluateMode = 'consume' | 'peek' | 'force';

export interface StoreEntry {
  /** The full storage key (prefix and encoded user key); never contains whitespace. */
  key: string;
  algorithm: Algorithm;
  cost: number;
  /** When a `consume` is refused, block the key this long (0: no block). */
  blockDurationMs: number;
}

/**
 * A rate-limit store: memory (one process) or Redis (many). Implementations must be atomic per
 * call: in `consume` mode either every entry is paid or none is.
 */
export interface RateLimitStore {
  /**
   * `consume`: pay every entry if all are allowed, else pay none (refused entries may set a
   * block). `peek`: decide as for cost 1, change nothing. `force`: pay every entry regardless
   * (penalties). Returns one decision per entry, in order.
   */
  evaluate(mode: EvaluateMode, entries: readonly StoreEntry[]): Promise<Decision[]>;
  /** Forget the state and any block of these keys. */
  reset(keys: readonly string[]): Promise<void>;
  /** Refuse every request on this key for `durationMs`. */
  block(key: string, durationMs: number): Promise<void>;
  /**
   * Optional fast path for a limiter's single-key `consume`, its most frequent call.
   * `createRateLimiter` calls it once, at creation, and from then on hands each `consume` it has
   * validated to the returned {@link BoundStore}; without it the limiter uses the same path over
   * `evaluate` (`bindStore`). A bound consume must answer exactly as
   * `evaluate('consume', [{ key: storageKey(prefix, key), algorithm, cost, blockDurationMs }])`
   * would, and see (and leave) the same state as `evaluate`, `reset` and `block`. The `./testing`
   * contract checks both.
   */
  bind?(prefix: string, algorithm: Algorithm, options: StoreBindOptions): BoundStore;
  /**
   * Optional: throws a TypeError saying how to fix it when these entries cannot be decided in
   * one atomic call on this store (on Redis Cluster, entries whose keys lie in different slots).
   * `consumeAll` asks before it calls `evaluate`, so that a mistake in the limiters' setup is
   * an error, not a store failure its `onStoreError` policy would answer.
   */
  assertAtomic?(entries: readonly StoreEntry[]): void;
}

/** What a limiter tells a store when it binds to it (see {@link RateLimitStore.bind}). */
export interface StoreBindOptions {
  /** When a consume is refused, block the key this long (0: no block). */
  readonly blockDurationMs: number;
  /** The longest a consume may wait for the store's backend; past it, answer it by `fail`. */
  readonly timeoutMs: number;
  /**
   * Answers a consume that the store could not (its backend failed, or did not answer within
   * `timeoutMs`) by the limiter's `onStoreError` policy: resolve the consume with what this
   * returns rather than rejecting it (`key` and `cost` as the consume got them). A store without
   * I/O never calls it.
   */
  fail(error: unknown, key: string, cost: number): Promise<RateLimitResult>;
  /** To call when the backend answered a consume: the limiter hands back to the store after an outage. */
  answered(): void;
  /**
   * The limiter's `hashTag` option: a key's storage key is then `storageKey(prefix, key,
   * hashTagOf(hashTag, key))`. A store that has no use for tags may leave such limiters to
   * `bindStore`.
   */
  readonly hashTag?: (key: string) => string;
}

/** One limiter's consume on a store: what {@link RateLimitStore.bind} returns. */
export interface BoundStore {
  /**
   * Pays `cost` on `key` if the limiter's algorithm allows it, as `evaluate('consume', ...)`
   * would. `cost` is a whole number from 1 to the algorithm's `limit` and `key` a non-empty
   * string: the limiter checked both. `key` is the caller's key, not yet encoded: its storage key
   * is `storageKey(prefix, key)` (exported; it encodes the key so that user input cannot reach
   * another key). Left to the store so that it can skip encoding keys it already holds. Resolves
   * with the result the limiter returns (`limit` is the algorithm's `limit`).
   */
  consume(key: string, cost: number): Promise<RateLimitResult>;
}
