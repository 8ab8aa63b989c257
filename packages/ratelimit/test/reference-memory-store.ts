// The memory store as it was before the per-prefix tables and the fixed-window fast path (one
// Map keyed by storage key, every check through `algorithm.step`, no `bind`: limiters over it
// take the generic `bindStore`): the oracle the fast paths are compared with in fast-paths.test.ts.
import type { Decision, EvaluateMode, RateLimitStore, Step, StoreEntry } from '../src/types.ts';

interface MemoryStoreOptions {
  /**
   * Most keys kept at once; past it the least recently written key is dropped (it restarts with
   * a full allowance, so keep this above your number of active clients). @default 100000
   */
  maxKeys?: number;
  /** Clock in ms, for tests. @default Date.now */
  now?: () => number;
}

interface Slot {
  state: number[];
  expiresAt: number;
  /** Written since eviction last passed it (CLOCK: a second chance before being dropped). */
  referenced: boolean;
}

/**
 * An in-process store: exact and atomic within one process (every check runs synchronously),
 * bounded in memory (expired keys are swept in amortized O(1) per write; the least recently
 * written key goes when `maxKeys` is reached). Use it alone for a single instance, or as the
 * insurance store behind Redis.
 */
export function createReferenceMemoryStore(
  options: MemoryStoreOptions = {},
): RateLimitStore & { readonly size: number } {
  const maxKeys = options.maxKeys ?? 100_000;
  if (!Number.isInteger(maxKeys) || maxKeys < 1)
    throw new TypeError(`maxKeys must be a whole number >= 1, got ${maxKeys}`);
  const now = options.now ?? Date.now;
  const slots = new Map<string, Slot>();
  const blocks = new Map<string, number>();
  let writesSinceSweep = 0;

  const read = (key: string, at: number): number[] | undefined => {
    const slot = slots.get(key);
    if (!slot) return undefined;
    if (slot.expiresAt <= at) {
      slots.delete(key);
      return undefined;
    }
    return slot.state;
  };

  const blockedFor = (key: string, at: number): number => {
    // Blocks are rare: skip the look-up (and the key's hashing) when there are none.
    if (blocks.size === 0) return 0;
    const until = blocks.get(key);
    if (until === undefined) return 0;
    if (until <= at) {
      blocks.delete(key);
      return 0;
    }
    return until - at;
  };

  const write = (key: string, step: Step, at: number) => {
    const slot = slots.get(key);
    if (slot) {
      // Updated in place: no Map reordering on the hot path (eviction gives it a second chance).
      slot.state = step.next;
      slot.expiresAt = at + step.ttlMs;
      slot.referenced = true;
    } else {
      slots.set(key, { state: step.next, expiresAt: at + step.ttlMs, referenced: false });
      if (slots.size > maxKeys) evictOne(at);
    }
    sweep(at);
  };

  // CLOCK eviction (approximate LRU): from the oldest insertion, a key written since it was
  // last passed goes to the back once; the first expired or unreferenced key is dropped.
  const evictOne = (at: number) => {
    for (const [key, slot] of slots) {
      if (slot.referenced && slot.expiresAt > at) {
        slot.referenced = false;
        slots.delete(key);
        slots.set(key, slot);
        continue;
      }
      slots.delete(key);
      return;
    }
  };

  // Amortized expiry: a full pass once every max(1000, size) writes costs O(1) per write and
  // keeps memory proportional to the keys active within the longest TTL.
  const sweep = (at: number) => {
    if (++writesSinceSweep < Math.max(1_000, slots.size)) return;
    writesSinceSweep = 0;
    for (const [key, slot] of slots) if (slot.expiresAt <= at) slots.delete(key);
    for (const [key, until] of blocks) if (until <= at) blocks.delete(key);
  };

  const evaluateOne = (mode: EvaluateMode, entry: StoreEntry, at: number): Decision & { step?: Step } => {
    const blocked = mode === 'force' ? 0 : blockedFor(entry.key, at);
    if (blocked > 0) {
      return { allowed: false, remaining: 0, resetMs: Math.ceil(blocked), retryAfterMs: Math.ceil(blocked) };
    }
    const state = read(entry.key, at);
    if (mode === 'peek') {
      const left = entry.algorithm.step(state, at, 0);
      const one = entry.algorithm.step(state, at, 1);
      return {
        allowed: one.allowed,
        remaining: left.remaining,
        resetMs: Math.ceil(left.resetMs),
        retryAfterMs: one.retryAfterMs,
      };
    }
    const step = entry.algorithm.step(state, at, entry.cost);
    return {
      allowed: step.allowed,
      remaining: step.remaining,
      resetMs: Math.ceil(step.resetMs),
      retryAfterMs: Math.ceil(step.retryAfterMs),
      step,
    };
  };

  const evaluateOneSync = (mode: EvaluateMode, entry: StoreEntry): Decision => {
    const at = now();
    const decision = evaluateOne(mode, entry, at);
    if (decision.step && (mode === 'force' || decision.allowed)) write(entry.key, decision.step, at);
    else if (mode === 'consume' && !decision.allowed && entry.blockDurationMs > 0 && blockedFor(entry.key, at) === 0) {
      blocks.set(entry.key, at + entry.blockDurationMs);
    }
    return decision;
  };

  const evaluateSync = (mode: EvaluateMode, entries: readonly StoreEntry[]): Decision[] =>
    entries.length === 1 ? [evaluateOneSync(mode, entries[0] as StoreEntry)] : evaluateMany(mode, entries, now());

  const evaluateMany = (mode: EvaluateMode, entries: readonly StoreEntry[], at: number): Decision[] => {
    const decisions = entries.map((entry) => evaluateOne(mode, entry, at));
    const allAllowed = decisions.every((decision) => decision.allowed);
    const steps = decisions.map((decision) => (decision as { step?: Step }).step);
    if (mode === 'force' || (mode === 'consume' && allAllowed)) {
      entries.forEach((entry, i) => {
        const step = steps[i];
        if (step) write(entry.key, step, at);
      });
    } else if (mode === 'consume') {
      entries.forEach((entry, i) => {
        if (!decisions[i]?.allowed && entry.blockDurationMs > 0 && blockedFor(entry.key, at) === 0) {
          blocks.set(entry.key, at + entry.blockDurationMs);
        }
      });
    }
    return decisions;
  };

  return {
    evaluate: (mode, entries) => {
      try {
        return Promise.resolve(evaluateSync(mode, entries));
      } catch (error) {
        return Promise.reject(error);
      }
    },
    reset(keys) {
      for (const key of keys) {
        slots.delete(key);
        blocks.delete(key);
      }
      return Promise.resolve();
    },
    block(key, durationMs) {
      blocks.set(key, now() + durationMs);
      return Promise.resolve();
    },
    get size() {
      return slots.size;
    },
  };
}
