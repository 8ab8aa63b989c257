import { withDeadline } from './deadlines.ts';
import { RateLimitedError, StoreTimeoutError, StoreUnavailableError } from './errors.ts';
import { encodeKey, isSafeShort, storageKey, validatePrefix } from './keys.ts';
import { toResult } from './results.ts';
import { type RedisConsume, redisFixedWindowOf } from './stores/fast-paths.ts';
import { createMemoryStore, type MemoryTable, memoryTableOf } from './stores/memory.ts';
import {
  ALGORITHM_KINDS,
  type Algorithm,
  type Decision,
  type EvaluateMode,
  type RateLimitResult,
  type RateLimitStore,
  type StoreEntry,
} from './types.ts';

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
}

export interface ConsumeOptions {
  /** Units this request costs. @default 1 */
  cost?: number;
}

/** A named limit over one store and one algorithm. */
export interface RateLimiter {
  readonly prefix: string;
  readonly algorithm: Algorithm;
  readonly store: RateLimitStore;
  /** Pays `cost` if the limit allows it; a refusal is a result (`allowed: false`), not an error. */
  consume(key: string, options?: ConsumeOptions): Promise<RateLimitResult>;
  /** Like `consume`, but a refusal throws `RateLimitedError` (code `RATE_LIMITED`). */
  consumeOrThrow(key: string, options?: ConsumeOptions): Promise<RateLimitResult>;
  /** What is left now and whether one more request would pass; changes nothing. */
  peek(key: string): Promise<RateLimitResult>;
  /** Pays `cost` even past the limit (penalties, e.g. a failed login costs 5). */
  penalize(key: string, options?: ConsumeOptions): Promise<RateLimitResult>;
  /** Refuses every request on `key` for `durationMs`. */
  block(key: string, durationMs: number): Promise<void>;
  /** Forgets the key's count and any block (e.g. after a successful login). */
  reset(key: string): Promise<void>;
}

/** Internal view of a limiter that `consumeAll` and the yoga plugin use. */
interface LimiterInternals {
  settings: ResolvedSettings;
}

interface ResolvedSettings {
  store: RateLimitStore;
  algorithm: Algorithm;
  prefix: string;
  policy: StoreErrorPolicy;
  insurance: { store: RateLimitStore; algorithm: Algorithm } | undefined;
  timeoutMs: number;
  retryStoreAfterMs: number;
  blockDurationMs: number;
  logger: RateLimitLogger;
  /** Until then, unreadable-state warnings of this limiter are not repeated. */
  quietUntil: number;
  /** Shared by every limiter on the same store. */
  health: StoreHealth;
  /** Whether the default cost of 1 passes `validateCost`. */
  oneFits: boolean;
  /** When the store is a memory store: its keys of this prefix, checked without storage keys. */
  memory: MemoryTable | undefined;
  /** When the store is a Redis store and the algorithm a fixed window: its single-key consume. */
  redisConsume: RedisConsume | undefined;
}

// A registered symbol, not a module-level WeakMap: limiters stay recognisable when the caller
// and this code come from different bundles or duplicate installs of the package.
const INTERNALS = Symbol.for('@switchboard/ratelimit/limiter');

function internalsOf(limiter: RateLimiter): LimiterInternals | undefined {
  return (limiter as unknown as Record<symbol, LimiterInternals | undefined>)[INTERNALS];
}

/**
 * @example
 * const limiter = createRateLimiter({
 *   store: createRedisStore({ client: redis }),
 *   algorithm: slidingWindowLog({ limit: 20, windowMs: 10_000 }),
 *   prefix: 'send-message',
 * });
 * const result = await limiter.consume(userId);
 * if (!result.allowed) throw new RateLimitedError(result);
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const settings = resolveSettings(options);
  const limiter: RateLimiter = {
    prefix: settings.prefix,
    algorithm: settings.algorithm,
    store: settings.store,
    consume: settings.memory
      ? memoryConsume(settings, settings.memory)
      : (key, consumeOptions) => single('consume', settings, key, consumeOptions?.cost),
    async consumeOrThrow(key, consumeOptions) {
      const result = await limiter.consume(key, consumeOptions);
      if (!result.allowed) throw new RateLimitedError(result);
      return result;
    },
    peek: (key) => single('peek', settings, key, undefined),
    penalize: (key, consumeOptions) => single('force', settings, key, consumeOptions?.cost),
    async block(key, durationMs) {
      if (!(Number.isFinite(durationMs) && durationMs > 0))
        throw new TypeError(`durationMs must be > 0, got ${durationMs}`);
      const stored = storageKey(settings.prefix, validateKey(key));
      await guarded(settings, () => settings.store.block(stored, durationMs));
    },
    async reset(key) {
      const stored = storageKey(settings.prefix, validateKey(key));
      await guarded(settings, () => settings.store.reset([stored]));
      await settings.insurance?.store.reset([stored]);
    },
  };
  Object.defineProperty(limiter, INTERNALS, { value: { settings } satisfies LimiterInternals, enumerable: false });
  return limiter;
}

export interface ConsumeAllEntry {
  limiter: RateLimiter;
  key: string;
  /** @default 1 */
  cost?: number;
}

export interface ConsumeAllResult {
  /** True only if every entry allowed; then every entry was paid, else none was. */
  allowed: boolean;
  /** The longest wait among the refusing entries; 0 when allowed. */
  retryAfterMs: number;
  /** One result per entry, in order. */
  results: RateLimitResult[];
}

/**
 * Checks several limits at once, all or nothing, in one store round trip: e.g. a user's global
 * limit, their per-chat limit and their IP's limit. If any refuses, none is paid. All limiters
 * must share one store.
 *
 * @example
 * const { allowed, retryAfterMs } = await consumeAll([
 *   { limiter: perUser, key: userId },
 *   { limiter: perChat, key: `${userId}:${chatId}` },
 * ]);
 */
export async function consumeAll(entries: readonly ConsumeAllEntry[]): Promise<ConsumeAllResult> {
  if (!Array.isArray(entries) || entries.length === 0) throw new TypeError('consumeAll needs at least one entry');
  const results = await check('consume', entries);
  const allowed = results.every((result) => result.allowed);
  const retryAfterMs = allowed
    ? 0
    : Math.max(...results.filter((result) => !result.allowed).map((result) => result.retryAfterMs));
  return { allowed, retryAfterMs, results };
}

interface CheckEntry {
  limiter: RateLimiter;
  key: string;
  cost?: number | undefined;
}

interface Prepared {
  settings: ResolvedSettings;
  storeEntry: StoreEntry;
}

function storeEntryFor(settings: ResolvedSettings, key: string, cost: number | undefined): StoreEntry {
  return {
    key: storageKey(settings.prefix, validateKey(key)),
    algorithm: settings.algorithm,
    cost: validateCost(cost ?? 1, settings.algorithm),
    blockDurationMs: settings.blockDurationMs,
  };
}

/** One limiter, one key: the hot path, without the batch bookkeeping of `consumeAll`. */
function single(
  mode: EvaluateMode,
  settings: ResolvedSettings,
  key: string,
  cost: number | undefined,
): Promise<RateLimitResult> {
  const { memory } = settings;
  if (memory !== undefined) {
    // The same checks and answers as below through `evaluateOneSync`, minus the storage key.
    try {
      if (typeof key !== 'string' || key.length === 0) throwBadKey(key);
      const paid = cost === undefined && settings.oneFits ? 1 : validateCost(cost ?? 1, settings.algorithm);
      // (A memory limiter's consume is `memoryConsume`; this is peek and force.)
      return Promise.resolve(memory.check(mode, isSafeShort(key) ? key : encodeKey(key), paid));
    } catch (error) {
      return Promise.reject(error);
    }
  }
  const { redisConsume, health } = settings;
  if (redisConsume !== undefined && mode === 'consume' && health.retryAt === 0) {
    // The same checks and answers as below through `evaluate`, with one promise and no arrays.
    let encoded: string;
    let paid: number;
    try {
      if (typeof key !== 'string' || key.length === 0) throwBadKey(key);
      paid = cost === undefined && settings.oneFits ? 1 : validateCost(cost ?? 1, settings.algorithm);
      encoded = isSafeShort(key) ? key : encodeKey(key);
    } catch (error) {
      return Promise.reject(error);
    }
    // Batched with the other consumes of this turn; answered by the policy if Redis fails.
    return redisConsume(encoded, paid);
  }
  let storeEntry: StoreEntry;
  try {
    storeEntry = storeEntryFor(settings, key, cost);
    const { store } = settings;
    if (store.evaluateOneSync)
      return Promise.resolve(toResult(store.evaluateOneSync(mode, storeEntry), settings.algorithm));
    if (store.evaluateSync) {
      return Promise.resolve(toResult(store.evaluateSync(mode, [storeEntry])[0] as Decision, settings.algorithm));
    }
  } catch (error) {
    return Promise.reject(error);
  }
  if (health.retryAt !== 0 && Date.now() < health.retryAt) {
    return fallback(mode, [{ settings, storeEntry }]).then(firstResult);
  }
  return withDeadline(settings.store.evaluate(mode, [storeEntry]), settings.timeoutMs).then(
    (decisions) => {
      if (health.retryAt !== 0) markHealthy(health, settings);
      return toResult(decisions[0] as Decision, settings.algorithm);
    },
    (error: unknown) => {
      markFailed(health, settings, error);
      return fallback(mode, [{ settings, storeEntry }]).then(firstResult);
    },
  );
}

/** `single('consume', ...)` over a memory store, written out (the same checks and answers). */
function memoryConsume(
  settings: ResolvedSettings,
  memory: MemoryTable,
): (key: string, options?: ConsumeOptions) => Promise<RateLimitResult> {
  const { algorithm, oneFits } = settings;
  const { consume } = memory;
  return (key, options) => {
    // The usual call, `consume(key)`: nothing to validate but the key.
    try {
      // The table encodes the key (it can skip that for keys it holds already).
      if (options === undefined && oneFits && typeof key === 'string' && key.length !== 0) return consume(key, 1);
      if (typeof key !== 'string' || key.length === 0) throwBadKey(key);
      const cost = options?.cost;
      const paid = cost === undefined && oneFits ? 1 : validateCost(cost ?? 1, algorithm);
      return consume(key, paid);
    } catch (error) {
      return Promise.reject(error);
    }
  };
}

const firstResult = (results: RateLimitResult[]) => results[0] as RateLimitResult;

async function check(mode: EvaluateMode, entries: readonly CheckEntry[]): Promise<RateLimitResult[]> {
  const prepared: Prepared[] = entries.map((entry, index) => {
    const limiterInternals = entry.limiter ? internalsOf(entry.limiter) : undefined;
    if (!limiterInternals) throw new TypeError(`entry ${index}: limiter must come from createRateLimiter()`);
    return {
      settings: limiterInternals.settings,
      storeEntry: storeEntryFor(limiterInternals.settings, entry.key, entry.cost),
    };
  });
  const first = prepared[0]?.settings;
  if (!first) return [];
  if (prepared.some(({ settings }) => settings.store !== first.store)) {
    throw new TypeError('consumeAll: every limiter must use the same store (one atomic round trip needs one store)');
  }
  const seen = new Set<string>();
  for (const { storeEntry } of prepared) {
    if (seen.has(storeEntry.key))
      throw new TypeError(`consumeAll: the same limiter and key appear twice (${storeEntry.key})`);
    seen.add(storeEntry.key);
  }
  const { evaluateSync } = first.store;
  if (evaluateSync) {
    const decisions = evaluateSync(
      mode,
      prepared.map(({ storeEntry }) => storeEntry),
    );
    return decisions.map((decision, index) => toResult(decision, (prepared[index] as Prepared).settings.algorithm));
  }
  return remote(mode, prepared);
}

/** A store that does I/O: bounded by the timeout, skipped while failing, answered by policy then. */
async function remote(mode: EvaluateMode, prepared: Prepared[]): Promise<RateLimitResult[]> {
  const first = (prepared[0] as Prepared).settings;
  let timeoutMs = first.timeoutMs;
  for (const { settings } of prepared) timeoutMs = Math.min(timeoutMs, settings.timeoutMs);
  const { health } = first;
  if (health.retryAt === 0 || Date.now() >= health.retryAt) {
    try {
      const decisions = await withDeadline(
        first.store.evaluate(
          mode,
          prepared.map(({ storeEntry }) => storeEntry),
        ),
        timeoutMs,
      );
      if (health.retryAt !== 0) markHealthy(health, first);
      return decisions.map((decision, index) => toResult(decision, (prepared[index] as Prepared).settings.algorithm));
    } catch (error) {
      markFailed(health, first, error);
    }
  }
  return fallback(mode, prepared);
}

/** Answers by each entry's policy while the store is failing. */
async function fallback(mode: EvaluateMode, prepared: Prepared[]): Promise<RateLimitResult[]> {
  const anyClosed = prepared.some(({ settings }) => settings.policy === 'closed');
  const insured = prepared.filter(({ settings }) => settings.insurance);
  const insuranceResults = new Map<StoreEntry, RateLimitResult>();
  // Insurance limiters of one call share one memory store only if their limiters share one.
  const byStore = new Map<RateLimitStore, typeof insured>();
  for (const entry of insured) {
    const store = entry.settings.insurance?.store as RateLimitStore;
    byStore.set(store, [...(byStore.get(store) ?? []), entry]);
  }
  for (const [store, group] of byStore) {
    // A refusing 'closed' entry means the whole call is refused: do not pay the insurance.
    const insuranceMode: EvaluateMode = anyClosed && mode === 'consume' ? 'peek' : mode;
    const decisions = await store.evaluate(
      insuranceMode,
      group.map(({ settings, storeEntry }) => ({
        ...storeEntry,
        algorithm: settings.insurance?.algorithm as Algorithm,
      })),
    );
    group.forEach((entry, index) => {
      const algorithm = entry.settings.insurance?.algorithm as Algorithm;
      insuranceResults.set(entry.storeEntry, {
        ...toResult(decisions[index] as Decision, algorithm),
        degraded: 'insurance',
      });
    });
  }
  return prepared.map(({ settings, storeEntry }) => {
    const insuredResult = insuranceResults.get(storeEntry);
    if (insuredResult) return insuredResult;
    const { limit } = settings.algorithm;
    if (settings.policy === 'open') {
      return { allowed: true, limit, remaining: limit, resetMs: 0, retryAfterMs: 0, degraded: 'open' };
    }
    // Until the store is tried again; a check refused for its keys alone: one retry period.
    const { retryAt } = settings.health;
    const wait = Math.max(1, retryAt > 0 ? retryAt - Date.now() : settings.retryStoreAfterMs);
    return { allowed: false, limit, remaining: 0, resetMs: wait, retryAfterMs: wait, degraded: 'closed' };
  });
}

/** Block and reset go to the store too; while it is down they fail with a typed error. */
async function guarded(settings: ResolvedSettings, run: () => Promise<void>): Promise<void> {
  const { health } = settings;
  try {
    await withDeadline(run(), settings.timeoutMs);
    markHealthy(health, settings);
  } catch (error) {
    markFailed(health, settings, error);
    if (error instanceof StoreTimeoutError) throw error;
    throw new StoreUnavailableError(
      `rate-limit store failed: ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
      },
    );
  }
}

interface StoreHealth {
  /** Until then, checks skip the store and the policy answers. */
  retryAt: number;
  failing: boolean;
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

function markFailed(health: StoreHealth, settings: ResolvedSettings, error: unknown): void {
  if (error instanceof StoreUnavailableError && error.keysOnly) {
    // The store answered; only this check's keys are unreadable: no outage to wait out. Said
    // once a minute per limiter, not per check.
    const now = Date.now();
    if (now >= settings.quietUntil) {
      settings.quietUntil = now + 60_000;
      warn(settings, 'rate-limit state unreadable; answering such checks by the onStoreError policy', {
        prefix: settings.prefix,
        error: error.message,
      });
    }
    return;
  }
  health.retryAt = Date.now() + settings.retryStoreAfterMs;
  if (!health.failing) {
    health.failing = true;
    warn(settings, 'rate-limit store failed; answering by the onStoreError policy', {
      prefix: settings.prefix,
      policy: typeof settings.policy === 'string' ? settings.policy : 'insurance',
      error: error instanceof Error ? error.message : String(error),
    });
  }
}

/** A logger that throws must not break a check (nor leave the checks batched with it unanswered). */
function warn(settings: ResolvedSettings, message: string, details: Record<string, unknown>): void {
  try {
    settings.logger.warn(message, details);
  } catch {
    // Nothing better to do with a failing logger.
  }
}

function markHealthy(health: StoreHealth, settings: ResolvedSettings): void {
  if (health.failing) {
    health.failing = false;
    warn(settings, 'rate-limit store answers again', { prefix: settings.prefix });
  }
  health.retryAt = 0;
}

function validateKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0) throwBadKey(key);
  return key;
}

function throwBadKey(key: unknown): never {
  throw new TypeError(`rate-limit key must be a non-empty string, got ${key === '' ? 'an empty string' : typeof key}`);
}

function validateCost(cost: number, algorithm: Algorithm): number {
  if (!Number.isInteger(cost) || cost < 1) throw new TypeError(`cost must be a whole number >= 1, got ${String(cost)}`);
  if (cost > algorithm.limit) {
    throw new TypeError(`cost ${cost} exceeds the limit ${algorithm.limit}: such a request could never be allowed`);
  }
  return cost;
}

function resolveSettings(options: RateLimiterOptions): ResolvedSettings {
  if (!options || typeof options !== 'object') throw new TypeError('createRateLimiter needs an options object');
  const { store, algorithm } = options;
  if (!store || typeof store.evaluate !== 'function') {
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
      algorithm: algorithm.divide(policy.insurance.instances),
    };
  } else if (policy !== 'open' && policy !== 'closed') {
    throw new TypeError(
      `onStoreError must be 'open', 'closed' or { insurance: { instances } }, got ${JSON.stringify(policy)}`,
    );
  }
  const prefix = validatePrefix(options.prefix ?? 'rl');
  const timeoutMs = nonNegative('timeoutMs', options.timeoutMs ?? 500, true);
  const retryStoreAfterMs = nonNegative('retryStoreAfterMs', options.retryStoreAfterMs ?? 1_000, false);
  const blockDurationMs = nonNegative('blockDurationMs', options.blockDurationMs ?? 0, false);
  const settings: ResolvedSettings = {
    store,
    algorithm,
    prefix,
    policy,
    insurance,
    timeoutMs,
    retryStoreAfterMs,
    blockDurationMs,
    logger: options.logger ?? { warn: (message, details) => console.warn(`[ratelimit] ${message}`, details ?? '') },
    quietUntil: 0,
    health: healthOf(store),
    memory: memoryTableOf(store, prefix, algorithm, blockDurationMs),
    oneFits: algorithm.limit >= 1,
    redisConsume: undefined,
  };
  settings.redisConsume = redisFixedWindowOf(store, prefix, algorithm, blockDurationMs, {
    timeoutMs,
    failed(error, encodedKey, cost) {
      markFailed(settings.health, settings, error);
      const storeEntry: StoreEntry = { key: `${prefix}|${encodedKey}`, algorithm, cost, blockDurationMs };
      return fallback('consume', [{ settings, storeEntry }]).then(firstResult);
    },
    answered() {
      if (settings.health.retryAt !== 0) markHealthy(settings.health, settings);
    },
  });
  return settings;
}

function nonNegative(name: string, value: number, strictlyPositive: boolean): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (strictlyPositive && value === 0)) {
    throw new TypeError(`${name} must be a finite number ${strictlyPositive ? '> 0' : '>= 0'}, got ${String(value)}`);
  }
  return value;
}
