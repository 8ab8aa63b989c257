import { wholeNumberOption } from '@switchboard/hot-path';
import { InvalidCausalTokenError } from '../errors.ts';
import { decodeCausalToken, encodeCausalToken } from '../token.ts';
import type { CausalTokenStore } from '../types.ts';

/** Options of `createMemoryTokenStore`. */
export interface MemoryTokenStoreOptions {
  /**
   * How long a token is kept (ms). Past it, replicas have long replayed it; keep it well above
   * the router's `maxLagMs`. @default 60000
   */
  ttlMs?: number;
  /** Most users remembered at once; the least recently written are dropped first. @default 100000 */
  maxEntries?: number;
  /** Clock (ms), for tests. @default Date.now */
  now?: () => number;
}

/**
 * Causal tokens in this process's memory: for a single instance, or tests. Behind a load
 * balancer with several instances use `createRedisTokenStore` from `@switchboard/db-router/redis`.
 */
export function createMemoryTokenStore(options: MemoryTokenStoreOptions = {}): CausalTokenStore {
  const ttlMs = wholeNumberOption('createMemoryTokenStore', 'ttlMs', options.ttlMs ?? 60_000, { min: 1 });
  const maxEntries = wholeNumberOption('createMemoryTokenStore', 'maxEntries', options.maxEntries ?? 100_000, {
    min: 1,
  });
  const clock = options.now ?? Date.now;
  if (typeof clock !== 'function') throw new TypeError('createMemoryTokenStore: `now` must be a function');
  // Insertion order = write order: the first key is the least recently written.
  const entries = new Map<string, { lsn: bigint; token: string; expiresAt: number }>();

  const live = (key: string) => {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= clock()) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  };

  return {
    get(key) {
      return Promise.resolve(live(key)?.token);
    },
    advance(key, token) {
      const lsn = decodeCausalToken(token);
      if (lsn === undefined) return Promise.reject(new InvalidCausalTokenError(token));
      const current = live(key);
      if (current !== undefined && current.lsn >= lsn) return Promise.resolve();
      entries.delete(key);
      entries.set(key, { lsn, token: encodeCausalToken(lsn), expiresAt: clock() + ttlMs });
      if (entries.size > maxEntries) {
        const oldest = entries.keys().next();
        if (!oldest.done) entries.delete(oldest.value);
      }
      return Promise.resolve();
    },
  };
}
