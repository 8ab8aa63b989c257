import { wholeNumberOption } from '@switchboard/hot-path';
import type { CacheEntry, LocalTier } from '../types.ts';

export interface MemoryTierOptions {
  /** Most entries kept. @default 10000 */
  maxEntries?: number;
  /**
   * Most bytes kept, estimated from each value's JSON length (only computed when set).
   * @default unbounded
   */
  maxBytes?: number;
  /** Clock in ms, for tests. @default Date.now */
  now?: () => number;
}

interface Slot {
  entry: CacheEntry;
  verifiedAt: number;
  bytes: number;
  /** Read since eviction last passed it: CLOCK's second chance, instead of reordering on every hit. */
  referenced: boolean;
}

/**
 * The in-process tier: bounded by entries and/or bytes with approximate-LRU (CLOCK) eviction,
 * entries dropped once past their grace period. A hit is a Map lookup and a flag write.
 */
export function createMemoryTier(options: MemoryTierOptions = {}): LocalTier {
  const maxEntries = wholeNumberOption('createMemoryTier', 'maxEntries', options.maxEntries ?? 10_000, { min: 1 });
  const maxBytes = wholeNumberOption('createMemoryTier', 'maxBytes', options.maxBytes ?? Number.POSITIVE_INFINITY, {
    min: 1,
    infinite: true,
  });
  const now = options.now ?? Date.now;
  const measureBytes = Number.isFinite(maxBytes);
  const slots = new Map<string, Slot>();
  let bytes = 0;

  const remove = (key: string, slot: Slot) => {
    slots.delete(key);
    bytes -= slot.bytes;
  };

  const evict = () => {
    const at = now();
    while (slots.size > maxEntries || bytes > maxBytes) {
      let evicted = false;
      for (const [key, slot] of slots) {
        if (slot.referenced && slot.entry.graceUntil > at) {
          slot.referenced = false;
          slots.delete(key);
          slots.set(key, slot);
          continue;
        }
        remove(key, slot);
        evicted = true;
        break;
      }
      if (!evicted) break;
    }
  };

  return {
    get(key) {
      const slot = slots.get(key);
      if (!slot) return undefined;
      if (slot.entry.graceUntil <= now()) {
        remove(key, slot);
        return undefined;
      }
      slot.referenced = true;
      return slot;
    },
    set(key, entry, verifiedAt) {
      const previous = slots.get(key);
      if (previous) remove(key, previous);
      const size = measureBytes ? estimateBytes(key, entry.value) : 0;
      // A single value larger than the whole budget is not kept at all.
      if (size > maxBytes) return;
      slots.set(key, { entry, verifiedAt, bytes: size, referenced: false });
      bytes += size;
      if (slots.size > maxEntries || bytes > maxBytes) evict();
    },
    delete(key) {
      const slot = slots.get(key);
      if (slot) remove(key, slot);
    },
    clear() {
      slots.clear();
      bytes = 0;
    },
    get size() {
      return slots.size;
    },
  };
}

function estimateBytes(key: string, value: unknown): number {
  let json: string | undefined;
  try {
    json = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  } catch {
    json = undefined;
  }
  // UTF-16 in memory: two bytes a character, plus a fixed overhead per entry.
  return 2 * (key.length + (json?.length ?? 16)) + 64;
}
