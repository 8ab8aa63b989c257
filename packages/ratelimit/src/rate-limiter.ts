import { withinDeadline } from '@switchboard/hot-path';
import { bindStore, storeTimeout } from './bind-store.ts';
import { RateLimitedError } from './errors.ts';
import { hashTagOf, storageKey } from './keys.ts';
import {
  type RateLimiterOptions,
  type ResolvedSettings,
  resolveSettings,
  throwBadKey,
  validateCost,
  validateKey,
} from './options.ts';
import { toResult } from './results.ts';
import { fallback, firstResult, guarded, markFailed, markHealthy, type Prepared } from './store-failures.ts';
import type { Decision, EvaluateMode, RateLimitResult, StoreBindOptions, StoreEntry } from './types.ts';

export type { RateLimiterOptions, RateLimitLogger, StoreErrorPolicy } from './options.ts';

export interface ConsumeOptions {
  /** Units this request costs. @default 1 */
  cost?: number;
}

/** A named limit over one store and one algorithm. */
export interface RateLimiter {
  readonly prefix: string;
  readonly algorithm: RateLimiterOptions['algorithm'];
  readonly store: RateLimiterOptions['store'];
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

// A registered symbol, not a module-level WeakMap: `consumeAll` recognises limiters made by
// another bundle or a duplicate install of the package.
const INTERNALS = Symbol.for('@switchboard/ratelimit/limiter');

function settingsOf(limiter: RateLimiter): ResolvedSettings | undefined {
  return (limiter as unknown as Record<symbol, { settings: ResolvedSettings } | undefined>)[INTERNALS]?.settings;
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
  const { store, prefix, algorithm, health, oneFits } = settings;
  const bindOptions: StoreBindOptions = {
    blockDurationMs: settings.blockDurationMs,
    timeoutMs: settings.timeoutMs,
    ...(settings.hashTag ? { hashTag: settings.hashTag } : {}),
    fail(error, key, cost) {
      markFailed(health, settings, error);
      return fallback('consume', [{ settings, storeEntry: entryOf(settings, key, cost) }]).then(firstResult);
    },
    answered() {
      if (health.retryAt !== 0) markHealthy(health, settings);
    },
  };
  const bound = store.bind
    ? store.bind(prefix, algorithm, bindOptions)
    : bindStore(store, prefix, algorithm, bindOptions);
  if (!bound || typeof bound.consume !== 'function') {
    throw new TypeError('createRateLimiter: `store.bind` must return `{ consume(key, cost) }`');
  }

  // The one place a key and a cost are checked. A bound store encodes the key itself (it may
  // skip that for keys it holds); the general path encodes it here.
  const single =
    (mode: EvaluateMode) =>
    (key: string, consumeOptions?: ConsumeOptions): Promise<RateLimitResult> => {
      try {
        if (typeof key !== 'string' || key.length === 0) throwBadKey(key);
        const cost = consumeOptions === undefined && oneFits ? 1 : validateCost(consumeOptions?.cost ?? 1, algorithm);
        // While the store is failing, the general path answers (it skips the store until retryAt).
        if (mode === 'consume' && health.retryAt === 0) return bound.consume(key, cost);
        return general(mode, settings, entryOf(settings, key, cost));
      } catch (error) {
        return Promise.reject(error);
      }
    };

  const limiter: RateLimiter = {
    prefix,
    algorithm,
    store,
    consume: single('consume'),
    async consumeOrThrow(key, consumeOptions) {
      const result = await limiter.consume(key, consumeOptions);
      if (!result.allowed) throw new RateLimitedError(result);
      return result;
    },
    peek: single('peek'),
    penalize: single('force'),
    async block(key, durationMs) {
      if (!(Number.isFinite(durationMs) && durationMs > 0))
        throw new TypeError(`durationMs must be > 0, got ${durationMs}`);
      const stored = storedKey(settings, validateKey(key));
      await guarded(settings, () => store.block(stored, durationMs));
    },
    async reset(key) {
      const stored = storedKey(settings, validateKey(key));
      await guarded(settings, () => store.reset([stored]));
      await settings.insurance?.store.reset([stored]);
    },
  };
  Object.defineProperty(limiter, INTERNALS, { value: { settings }, enumerable: false });
  return limiter;
}

/** A key's storage key under a limiter's settings (its prefix, and its hash tag when it has one). */
const storedKey = (settings: ResolvedSettings, key: string): string =>
  storageKey(settings.prefix, key, settings.hashTag === undefined ? undefined : hashTagOf(settings.hashTag, key));

const entryOf = (settings: ResolvedSettings, key: string, cost: number): StoreEntry => ({
  key: storedKey(settings, key),
  algorithm: settings.algorithm,
  cost,
  blockDurationMs: settings.blockDurationMs,
});

/** One entry through `evaluate`: bounded by the timeout, skipped while failing, answered by policy then. */
function general(mode: EvaluateMode, settings: ResolvedSettings, storeEntry: StoreEntry): Promise<RateLimitResult> {
  const { health } = settings;
  if (health.retryAt !== 0 && Date.now() < health.retryAt) {
    return fallback(mode, [{ settings, storeEntry }]).then(firstResult);
  }
  return withinDeadline(settings.store.evaluate(mode, [storeEntry]), settings.timeoutMs, storeTimeout).then(
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
  const prepared: Prepared[] = entries.map((entry, index) => {
    const settings = entry.limiter ? settingsOf(entry.limiter) : undefined;
    if (!settings) throw new TypeError(`entry ${index}: limiter must come from createRateLimiter()`);
    const key = validateKey(entry.key);
    return { settings, storeEntry: entryOf(settings, key, validateCost(entry.cost ?? 1, settings.algorithm)) };
  });
  const first = (prepared[0] as Prepared).settings;
  if (prepared.some(({ settings }) => settings.store !== first.store)) {
    throw new TypeError('consumeAll: every limiter must use the same store (one atomic round trip needs one store)');
  }
  const seen = new Set<string>();
  for (const { storeEntry } of prepared) {
    if (seen.has(storeEntry.key))
      throw new TypeError(`consumeAll: the same limiter and key appear twice (${storeEntry.key})`);
    seen.add(storeEntry.key);
  }
  // Before the store is called: a setup mistake must not pass for a store failure.
  first.store.assertAtomic?.(prepared.map(({ storeEntry }) => storeEntry));
  const results = await several('consume', prepared);
  const allowed = results.every((result) => result.allowed);
  const retryAfterMs = allowed
    ? 0
    : Math.max(...results.filter((result) => !result.allowed).map((result) => result.retryAfterMs));
  return { allowed, retryAfterMs, results };
}

/** Several entries through `evaluate`, as `general` does for one (the shortest timeout applies). */
async function several(mode: EvaluateMode, prepared: Prepared[]): Promise<RateLimitResult[]> {
  const first = (prepared[0] as Prepared).settings;
  let timeoutMs = first.timeoutMs;
  for (const { settings } of prepared) timeoutMs = Math.min(timeoutMs, settings.timeoutMs);
  const { health } = first;
  if (health.retryAt === 0 || Date.now() >= health.retryAt) {
    try {
      const decisions = await withinDeadline(
        first.store.evaluate(
          mode,
          prepared.map(({ storeEntry }) => storeEntry),
        ),
        timeoutMs,
        storeTimeout,
      );
      if (health.retryAt !== 0) markHealthy(health, first);
      return decisions.map((decision, index) => toResult(decision, (prepared[index] as Prepared).settings.algorithm));
    } catch (error) {
      markFailed(health, first, error);
    }
  }
  return fallback(mode, prepared);
}
