import { isFixedWindow } from '../algorithms/fixed-window.ts';
import { encodeKey, isSafeShort } from '../keys.ts';
import { toResult } from '../results.ts';
import type { Algorithm, Decision, EvaluateMode, RateLimitResult, RateLimitStore, Step, StoreEntry } from '../types.ts';

export interface MemoryStoreOptions {
  /**
   * Most keys kept at once; past it the least recently written key is dropped (it restarts with
   * a full allowance, so keep this above your number of active clients). @default 100000
   */
  maxKeys?: number;
  /** Clock in ms, for tests. @default Date.now */
  now?: () => number;
}

/**
 * One prefix's keys. Storage keys are `<prefix>|<encoded key>` (see keys.ts): the store splits
 * them at the first '|' so that a limiter can look its keys up by the encoded key alone, without
 * building (and hashing) the concatenated string on every check. Keys without a '|' (only a
 * store used directly would have them) live in a table of their own.
 */
interface Table {
  /** The storage-key prefix, including the '|' ('' for the table of keys without one). */
  readonly head: string;
  readonly slots: Map<string, Slot>;
  /** A limiter holds it: never dropped when empty. */
  pinned: boolean;
}

interface Slot {
  state: number[];
  expiresAt: number;
  /** Written since eviction last passed it (CLOCK: a second chance before being dropped). */
  referenced: boolean;
  readonly key: string;
  /**
   * Whether `key` is a user key kept as it is by the encoding (see keys.ts). A user key found
   * in a table with this set needs no check of its own: it is that same, safe, string.
   */
  readonly safe: boolean;
  readonly table: Table;
  // Insertion order over all tables, oldest first (what the single Map's order used to be).
  older: Slot | undefined;
  newer: Slot | undefined;
}

/**
 * What a limiter over this store uses instead of building storage keys: the checks of one
 * prefix, by encoded key, answering the limiter's result directly. Internal; found through
 * `MEMORY_TABLE` (a store without it, custom or older, gets the general path).
 */
export interface MemoryTable {
  /** A check of one limiter (its algorithm and block duration) on an encoded key. */
  check(mode: EvaluateMode, key: string, cost: number): RateLimitResult;
  /**
   * `check('consume', ...)` for a user key as the caller gave it (a non-empty string, not yet
   * encoded), specialised for the limiter's algorithm, answered as `limiter.consume` answers: a
   * settled promise, made where the result is made (V8 allocates the two together, cheaper
   * than a `Promise.resolve` of a returned result).
   */
  consume(userKey: string, cost: number): Promise<RateLimitResult>;
}

const MEMORY_TABLE = Symbol.for('@switchboard/ratelimit/memory-table@1');

/** A limiter's view of its prefix's keys, if `store` is a memory store that offers one. */
export function memoryTableOf(
  store: RateLimitStore,
  prefix: string,
  algorithm: Algorithm,
  blockDurationMs: number,
): MemoryTable | undefined {
  const tableOf = (store as { [MEMORY_TABLE]?: unknown })[MEMORY_TABLE];
  return typeof tableOf === 'function'
    ? (tableOf as (prefix: string, algorithm: Algorithm, blockDurationMs: number) => MemoryTable)(
        prefix,
        algorithm,
        blockDurationMs,
      )
    : undefined;
}

type MemoryStore = RateLimitStore & {
  readonly size: number;
  evaluateSync: NonNullable<RateLimitStore['evaluateSync']>;
};

/**
 * An in-process store: exact and atomic within one process (every check runs synchronously),
 * bounded in memory (expired keys are swept in amortized O(1) per write; the least recently
 * written key goes when `maxKeys` is reached). Use it alone for a single instance, or as the
 * insurance store behind Redis.
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const maxKeys = options.maxKeys ?? 100_000;
  if (!Number.isInteger(maxKeys) || maxKeys < 1)
    throw new TypeError(`maxKeys must be a whole number >= 1, got ${maxKeys}`);
  const now = options.now ?? Date.now;
  const tables = new Map<string, Table>();
  const bare: Table = { head: '', slots: new Map(), pinned: true };
  const blocks = new Map<string, number>();
  let size = 0;
  let oldest: Slot | undefined;
  let newest: Slot | undefined;
  let writesSinceSweep = 0;

  const tableFor = (prefix: string, create: boolean): Table | undefined => {
    let table = tables.get(prefix);
    if (!table && create) {
      table = { head: `${prefix}|`, slots: new Map(), pinned: false };
      tables.set(prefix, table);
    }
    return table;
  };

  /** The table and key within it of a storage key. */
  const locate = (storageKey: string, create: boolean): [Table | undefined, string] => {
    const bar = storageKey.indexOf('|');
    if (bar < 0) return [bare, storageKey];
    return [tableFor(storageKey.slice(0, bar), create), storageKey.slice(bar + 1)];
  };

  const append = (slot: Slot) => {
    slot.older = newest;
    slot.newer = undefined;
    if (newest) newest.newer = slot;
    else oldest = slot;
    newest = slot;
  };

  const unlink = (slot: Slot) => {
    if (slot.older) slot.older.newer = slot.newer;
    else oldest = slot.newer;
    if (slot.newer) slot.newer.older = slot.older;
    else newest = slot.older;
    slot.older = undefined;
    slot.newer = undefined;
  };

  const remove = (slot: Slot) => {
    unlink(slot);
    slot.table.slots.delete(slot.key);
    size--;
  };

  const insert = (table: Table, key: string, state: number[], expiresAt: number, at: number) => {
    const slot: Slot = {
      state,
      expiresAt,
      referenced: false,
      key,
      safe: isSafeShort(key),
      table,
      older: undefined,
      newer: undefined,
    };
    table.slots.set(key, slot);
    append(slot);
    if (++size > maxKeys) evictOne(at);
  };

  const read = (table: Table, key: string, at: number): Slot | undefined => {
    const slot = table.slots.get(key);
    if (!slot) return undefined;
    if (slot.expiresAt <= at) {
      remove(slot);
      return undefined;
    }
    return slot;
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

  const write = (table: Table, key: string, step: Step, at: number) => {
    const slot = table.slots.get(key);
    if (slot) {
      // Updated in place: no reordering on the hot path (eviction gives it a second chance).
      slot.state = step.next;
      slot.expiresAt = at + step.ttlMs;
      slot.referenced = true;
    } else {
      insert(table, key, step.next, at + step.ttlMs, at);
    }
    sweep(at);
  };

  // CLOCK eviction (approximate LRU): from the oldest insertion, a key written since it was
  // last passed goes to the back once; the first expired or unreferenced key is dropped.
  const evictOne = (at: number) => {
    let slot = oldest;
    while (slot) {
      const next = slot.newer;
      if (slot.referenced && slot.expiresAt > at) {
        slot.referenced = false;
        unlink(slot);
        append(slot);
      } else {
        remove(slot);
        return;
      }
      slot = next ?? oldest;
    }
  };

  // Amortized expiry: a full pass once every max(1000, size) writes costs O(1) per write and
  // keeps memory proportional to the keys active within the longest TTL.
  const sweep = (at: number) => {
    if (++writesSinceSweep >= 1_000 && writesSinceSweep >= size) sweepAll(at);
  };
  const sweepAll = (at: number) => {
    writesSinceSweep = 0;
    let slot = oldest;
    while (slot) {
      const next = slot.newer;
      if (slot.expiresAt <= at) remove(slot);
      slot = next;
    }
    for (const [key, until] of blocks) if (until <= at) blocks.delete(key);
    // Empty tables go at the start of the next call, when no caller holds one.
    pruneTables = tables.size > 0;
  };

  let pruneTables = false;
  const prune = () => {
    pruneTables = false;
    for (const [prefix, table] of tables) if (!table.pinned && table.slots.size === 0) tables.delete(prefix);
  };

  const evaluateOne = (
    mode: EvaluateMode,
    table: Table | undefined,
    key: string,
    storageKey: string,
    algorithm: Algorithm,
    cost: number,
    at: number,
  ): Decision & { step?: Step } => {
    const blocked = mode === 'force' ? 0 : blockedFor(storageKey, at);
    if (blocked > 0) {
      return { allowed: false, remaining: 0, resetMs: Math.ceil(blocked), retryAfterMs: Math.ceil(blocked) };
    }
    const state = table ? read(table, key, at)?.state : undefined;
    if (mode === 'peek') {
      const left = algorithm.step(state, at, 0);
      const one = algorithm.step(state, at, 1);
      return {
        allowed: one.allowed,
        remaining: left.remaining,
        resetMs: Math.ceil(left.resetMs),
        retryAfterMs: one.retryAfterMs,
      };
    }
    const step = algorithm.step(state, at, cost);
    return {
      allowed: step.allowed,
      remaining: step.remaining,
      resetMs: Math.ceil(step.resetMs),
      retryAfterMs: Math.ceil(step.retryAfterMs),
      step,
    };
  };

  const evaluateKey = (
    mode: EvaluateMode,
    table: Table,
    key: string,
    storageKey: string,
    algorithm: Algorithm,
    cost: number,
    blockDurationMs: number,
  ): Decision => {
    const at = now();
    const decision = evaluateOne(mode, table, key, storageKey, algorithm, cost, at);
    if (decision.step && (mode === 'force' || decision.allowed)) write(table, key, decision.step, at);
    else if (mode === 'consume' && !decision.allowed && blockDurationMs > 0 && blockedFor(storageKey, at) === 0) {
      blocks.set(storageKey, at + blockDurationMs);
    }
    return decision;
  };

  const evaluateOneSync = (mode: EvaluateMode, entry: StoreEntry): Decision => {
    if (pruneTables) prune();
    const [table, key] = locate(entry.key, true);
    return evaluateKey(mode, table as Table, key, entry.key, entry.algorithm, entry.cost, entry.blockDurationMs);
  };

  const evaluateSync = (mode: EvaluateMode, entries: readonly StoreEntry[]): Decision[] =>
    entries.length === 1 ? [evaluateOneSync(mode, entries[0] as StoreEntry)] : evaluateMany(mode, entries, now());

  const evaluateMany = (mode: EvaluateMode, entries: readonly StoreEntry[], at: number): Decision[] => {
    if (pruneTables) prune();
    const located = entries.map((entry) => locate(entry.key, true));
    const decisions = entries.map((entry, i) => {
      const [table, key] = located[i] as [Table, string];
      return evaluateOne(mode, table, key, entry.key, entry.algorithm, entry.cost, at);
    });
    const allAllowed = decisions.every((decision) => decision.allowed);
    const steps = decisions.map((decision) => (decision as { step?: Step }).step);
    if (mode === 'force' || (mode === 'consume' && allAllowed)) {
      entries.forEach((_, i) => {
        const step = steps[i];
        const [table, key] = located[i] as [Table, string];
        if (step) write(table, key, step, at);
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

  /**
   * The fixed-window consume of one limiter (`algorithm` from `fixedWindow()`), written out: the
   * same answers and writes as `fixedWindow().step` through `evaluateKey`, with one look-up and
   * the state updated in place. With blocks present it takes the general path.
   */
  const fixedWindowConsumer = (table: Table, algorithm: Algorithm, blockDurationMs: number) => {
    const { limit, windowMs } = algorithm;
    return (userKey: string, cost: number): Promise<RateLimitResult> => {
      // A key already stored as it is needs no check: most checks are on known keys.
      let key = userKey;
      let slot = table.slots.get(key);
      if (slot === undefined ? !isSafeShort(key) : !slot.safe) {
        key = encodeKey(userKey);
        slot = table.slots.get(key);
      }
      if (blocks.size !== 0) return Promise.resolve(checkKey('consume', table, key, algorithm, cost, blockDurationMs));
      const at = now();
      if (slot !== undefined && slot.expiresAt > at) {
        const state = slot.state;
        const start = state[1] as number;
        if (state.length === 2 && at < start + windowMs) {
          // Within the key's window (the usual case): only the count changes.
          const count = state[0] as number;
          const resetMs = Math.ceil(start + windowMs - at);
          if (count + cost > limit) return Promise.resolve(refuse(table, key, count, resetMs, at));
          state[0] = count + cost;
          slot.referenced = true;
          if (++writesSinceSweep >= 1_000 && writesSinceSweep >= size) sweepAll(at);
          return Promise.resolve({ allowed: true, limit, remaining: limit - count - cost, resetMs, retryAfterMs: 0 });
        }
      }
      // A new window: the key is new, expired, or holds another algorithm's state.
      const resetMs = Math.ceil(windowMs);
      if (cost > limit) return Promise.resolve(refuse(table, key, 0, resetMs, at));
      if (slot === undefined || slot.expiresAt <= at) {
        if (slot !== undefined) remove(slot);
        insert(table, key, [cost, at], at + windowMs, at);
      } else {
        slot.state = [cost, at];
        slot.expiresAt = at + windowMs;
        slot.referenced = true;
      }
      sweep(at);
      return Promise.resolve({ allowed: true, limit, remaining: limit - cost, resetMs, retryAfterMs: 0 });
    };
    function refuse(table: Table, key: string, count: number, wait: number, at: number): RateLimitResult {
      if (blockDurationMs > 0) blocks.set(table.head + key, at + blockDurationMs);
      return { allowed: false, limit, remaining: Math.max(0, limit - count), resetMs: wait, retryAfterMs: wait };
    }
  };

  const checkKey = (
    mode: EvaluateMode,
    table: Table,
    key: string,
    algorithm: Algorithm,
    cost: number,
    blockDurationMs: number,
  ): RateLimitResult => {
    return toResult(evaluateKey(mode, table, key, table.head + key, algorithm, cost, blockDurationMs), algorithm);
  };

  const tableOf = (prefix: string, algorithm: Algorithm, blockDurationMs: number): MemoryTable => {
    const table = tableFor(prefix, true) as Table;
    table.pinned = true;
    return {
      check: (mode, key, cost) => checkKey(mode, table, key, algorithm, cost, blockDurationMs),
      consume: isFixedWindow(algorithm)
        ? fixedWindowConsumer(table, algorithm, blockDurationMs)
        : (userKey, cost) => {
            const key = isSafeShort(userKey) ? userKey : encodeKey(userKey);
            return Promise.resolve(checkKey('consume', table, key, algorithm, cost, blockDurationMs));
          },
    };
  };

  const store: MemoryStore = {
    evaluateSync,
    evaluateOneSync,
    evaluate: (mode, entries) => {
      try {
        return Promise.resolve(evaluateSync(mode, entries));
      } catch (error) {
        return Promise.reject(error);
      }
    },
    reset(keys) {
      if (pruneTables) prune();
      for (const storageKey of keys) {
        const [table, key] = locate(storageKey, false);
        const slot = table?.slots.get(key);
        if (slot) remove(slot);
        blocks.delete(storageKey);
      }
      return Promise.resolve();
    },
    block(key, durationMs) {
      blocks.set(key, now() + durationMs);
      return Promise.resolve();
    },
    get size() {
      return size;
    },
  };
  // Not enumerable and not in the type: an internal protocol between this store and the limiter.
  Object.defineProperty(store, MEMORY_TABLE, { value: tableOf, enumerable: false });
  return store;
}
