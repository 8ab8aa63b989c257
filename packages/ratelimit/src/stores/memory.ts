// One file: the store is one closure over its tables, its insertion-ordered list of keys and its
// blocks. Eviction, the sweep, the general check and a bound limiter's consume all read and
// write that state in place; split apart, each piece would need the others' internals.
import { wholeNumberOption } from '@switchboard/hot-path';
import { openWindowCount } from '../algorithms/fixed-window.ts';
import { bindStore } from '../bind-store.ts';
import { encodeKey, isSafeShort, KEY_SEPARATOR } from '../keys.ts';
import { toResult } from '../results.ts';
import { memoryStoreChecks, type Telemetry } from '../telemetry.ts';
import type {
  Algorithm,
  BoundStore,
  Decision,
  EvaluateMode,
  RateLimitResult,
  RateLimitStore,
  Step,
  StoreBindOptions,
  StoreEntry,
} from '../types.ts';

export interface MemoryStoreOptions {
  /**
   * Most keys kept at once; past it the least recently written key is dropped (it restarts with
   * a full allowance, so keep this above your number of active clients). @default 100000
   */
  maxKeys?: number;
  /** Clock in ms, for tests. @default Date.now */
  now?: () => number;
  /**
   * OpenTelemetry metrics: the counter `switchboard.ratelimit.checks` (attributes
   * `switchboard.ratelimit.prefix`, `.operation`, `.outcome`: `allowed` or `refused`). Checks
   * are in-memory decisions: counted, not traced.
   * @default false
   */
  telemetry?: Telemetry;
}

/**
 * One prefix's keys. Storage keys are `<prefix>|<encoded key>` (see keys.ts): the store splits
 * them at the first separator so that a bound limiter looks its keys up by the encoded key
 * alone, without building (and hashing) the joined string on every check. Keys without a
 * separator (only a store used directly would have them) live in a table of their own.
 */
interface Table {
  /** The storage-key prefix, separator included ('' for the table of keys without one). */
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

type MemoryStore = RateLimitStore & {
  /** Keys held now. */
  readonly size: number;
  bind: NonNullable<RateLimitStore['bind']>;
};

/**
 * An in-process store: exact and atomic within one process (every check runs synchronously),
 * bounded in memory (expired keys are swept in amortized O(1) per write; the least recently
 * written key goes when `maxKeys` is reached). Use it alone for a single instance, or as the
 * insurance store behind Redis.
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const maxKeys = wholeNumberOption('createMemoryStore', 'maxKeys', options.maxKeys ?? 100_000, { min: 1 });
  const now = options.now ?? Date.now;
  const checks = memoryStoreChecks(options.telemetry);
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
      table = { head: `${prefix}${KEY_SEPARATOR}`, slots: new Map(), pinned: false };
      tables.set(prefix, table);
    }
    return table;
  };

  /** The table and key within it of a storage key. */
  const locate = (storageKey: string, create: boolean): [Table | undefined, string] => {
    const bar = storageKey.indexOf(KEY_SEPARATOR);
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

  const evaluate = (mode: EvaluateMode, entries: readonly StoreEntry[]): Decision[] => {
    if (entries.length !== 1) return evaluateMany(mode, entries, now());
    if (pruneTables) prune();
    const entry = entries[0] as StoreEntry;
    const [table, key] = locate(entry.key, true);
    return [evaluateKey(mode, table as Table, key, entry.key, entry.algorithm, entry.cost, entry.blockDurationMs)];
  };

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
   * The fixed-window consume of one bound limiter: the same answers and writes as
   * `algorithm.step` through `evaluateKey` (the same window rule, `openWindowCount`), with one
   * look-up and the count updated in place instead of a new state per check (the property tests
   * in test/fast-paths.test.ts hold the two together). With blocks present it takes the general
   * path.
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
        const count = openWindowCount(state, at, windowMs);
        if (count >= 0) {
          // Within the key's window (the usual case): only the count changes.
          const resetMs = Math.ceil((state[1] as number) + windowMs - at);
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

  // A bound limiter's keys live in its prefix's table, pinned: found by the encoded key alone.
  // Limiters with a hash tag (kept for Redis Cluster; one process has no slots) take the general
  // path, whose storage keys carry the tag as `evaluate`'s do.
  const bind = (prefix: string, algorithm: Algorithm, options: StoreBindOptions): BoundStore => {
    if (options.hashTag !== undefined) return bindStore(store, prefix, algorithm, options);
    const table = tableFor(prefix, true) as Table;
    table.pinned = true;
    const { blockDurationMs } = options;
    const consume: BoundStore['consume'] =
      algorithm.kind === 'fixed-window'
        ? fixedWindowConsumer(table, algorithm, blockDurationMs)
        : (userKey, cost) => {
            const key = isSafeShort(userKey) ? userKey : encodeKey(userKey);
            return Promise.resolve(checkKey('consume', table, key, algorithm, cost, blockDurationMs));
          };
    return { consume: checks ? checks.bound(prefix, consume) : consume };
  };

  const store: MemoryStore = {
    bind,
    evaluate: (mode, entries) => {
      try {
        const decisions = evaluate(mode, entries);
        checks?.decided(mode, entries, decisions);
        return Promise.resolve(decisions);
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
  return store;
}
