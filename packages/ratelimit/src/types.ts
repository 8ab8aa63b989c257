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

/** A rate-limiting algorithm with its parameters: what the factories return. */
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
   * Present on in-process stores: the same as `evaluate`, synchronously. The limiter then skips
   * timeouts and failure policies, which guard I/O this store does not do.
   */
  evaluateSync?(mode: EvaluateMode, entries: readonly StoreEntry[]): Decision[];
  /** `evaluateSync` for a single entry, without the arrays: a limiter's `consume` uses it when present. */
  evaluateOneSync?(mode: EvaluateMode, entry: StoreEntry): Decision;
}
