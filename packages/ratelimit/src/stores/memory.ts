import type { Decision, EvaluateMode, RateLimitStore, Step, StoreEntry } from '../types.ts';

export interface MemoryStoreOptions {
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
}

/**
 * An in-process store: exact and atomic within one process (every check runs synchronously),
 * bounded in memory (expired keys are swept in amortized O(1) per write; the least recently
 * written key goes when `maxKeys` is reached). Use it alone for a single instance, or as the
 * insurance store behind Redis.
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): RateLimitStore & { readonly size: number } {
  const maxKeys = options.maxKeys ?? 100_000;
  if (!Number.isInteger(maxKeys) || maxKeys < 1) throw new TypeError(`maxKeys must be a whole number >= 1, got ${maxKeys}`);
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
    const until = blocks.get(key);
    if (until === undefined) return 0;
    if (until <= at) {
      blocks.delete(key);
      return 0;
    }
    return until - at;
  };

  const write = (key: string, step: Step, at: number) => {
    // Re-insert so that Map order is least-recently-written first.
    slots.delete(key);
    slots.set(key, { state: step.next, expiresAt: at + step.ttlMs });
    sweep(at);
    if (slots.size > maxKeys) {
      const oldest = slots.keys().next();
      if (!oldest.done) slots.delete(oldest.value);
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

  const evaluateSync = (mode: EvaluateMode, entries: readonly StoreEntry[]): Decision[] => {
    const at = now();
    const steps: (Step | undefined)[] = [];
    const decisions: Decision[] = [];
    let allAllowed = true;
    for (const entry of entries) {
      const blocked = mode === 'force' ? 0 : blockedFor(entry.key, at);
      let decision: Decision;
      let step: Step | undefined;
      if (blocked > 0) {
        decision = { allowed: false, remaining: 0, resetMs: Math.ceil(blocked), retryAfterMs: Math.ceil(blocked) };
      } else if (mode === 'peek') {
        const state = read(entry.key, at);
        const left = entry.algorithm.step(state, at, 0);
        const one = entry.algorithm.step(state, at, 1);
        decision = { allowed: one.allowed, remaining: left.remaining, resetMs: Math.ceil(left.resetMs), retryAfterMs: one.retryAfterMs };
      } else {
        step = entry.algorithm.step(read(entry.key, at), at, entry.cost);
        decision = { allowed: step.allowed, remaining: step.remaining, resetMs: Math.ceil(step.resetMs), retryAfterMs: Math.ceil(step.retryAfterMs) };
      }
      if (!decision.allowed) allAllowed = false;
      steps.push(step);
      decisions.push(decision);
    }
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
