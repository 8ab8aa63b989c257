/** One cached value with what decides whether it may still be served. */
export interface CacheEntry {
  /** Unique per write: lets an instance tell whether its L1 copy is still the shared one. */
  id: string;
  value: unknown;
  /** Until then the value is fresh (ms since epoch). */
  freshUntil: number;
  /** Until then an expired value may still be served when the fetcher fails (grace / fail-safe). */
  graceUntil: number;
  /** Tag → generation when the value was fetched; a bumped generation invalidates the entry. */
  tags: readonly (readonly [string, number])[];
}

/** What an L1 lookup returns (read-only: the tier's own record, not a copy). */
export interface LocalHit {
  readonly entry: CacheEntry;
  /** When this copy was last confirmed against the shared tier (or written). */
  readonly verifiedAt: number;
}

/** An in-process tier (L1). Synchronous: a hit costs no I/O. */
export interface LocalTier {
  get(key: string): LocalHit | undefined;
  set(key: string, entry: CacheEntry, verifiedAt: number): void;
  delete(key: string): void;
  clear(): void;
  readonly size: number;
}

/** What the shared tier (L2) answers for a read: the stored entry and current generations. */
export interface SharedRead {
  /**
   * The stored envelope, or null when missing. From `read` it is not yet validated: the caller
   * checks its tags against `gens` (and uses `readValidated` for tags it did not ask about).
   */
  raw: string | null;
  /** Current generations of the tags asked for, in order (0 for a tag never bumped). */
  gens: number[];
  /** Current generation of the key (bumped by every delete of it). */
  keyGen: number;
}

/** A tier shared by every instance (L2), e.g. Redis. */
export interface SharedTier {
  /** Reads an entry and the current generations of `tags` (one round trip, no validation). */
  read(key: string, tags: readonly string[]): Promise<SharedRead>;
  /** Like `read`, but the entry comes back only if none of its own tags was bumped since. */
  readValidated(key: string, tags: readonly string[]): Promise<SharedRead>;
  /**
   * Stores `raw` only if the key and `tags` still have the generations read before the fetch
   * (else an invalidation happened meanwhile and the value may be stale): true if stored.
   */
  write(
    key: string,
    raw: string,
    ttlMs: number,
    expect: { keyGen: number; tags: readonly string[]; gens: readonly number[] },
  ): Promise<boolean>;
  /** Stores unconditionally (explicit `cache.set`). */
  set(key: string, raw: string, ttlMs: number): Promise<void>;
  /** Removes keys and bumps their generations (so in-flight fetches of them are not stored). */
  delete(keys: readonly string[]): Promise<void>;
  /** Bumps a tag's generation; returns the new one. */
  bumpTag(tag: string): Promise<number>;
  /** A short cluster-wide lock for stampede protection across instances; true if acquired. */
  lock(key: string, token: string, ttlMs: number): Promise<boolean>;
  /** Releases the lock only if it still holds `token` (it may have expired and been retaken). */
  unlock(key: string, token: string): Promise<void>;
}

/** Cross-instance invalidation messages. */
export type BusMessage =
  | { type: 'delete'; keys: string[] }
  | { type: 'tag'; tag: string; gen?: number }
  | { type: 'set'; keys: string[] };

/** Carries invalidations between instances (Redis pub/sub, or in-process for tests). */
export interface CacheBus {
  publish(message: BusMessage & { from: string }): Promise<void>;
  /** Returns an unsubscribe function. */
  subscribe(handler: (message: BusMessage & { from: string }) => void): () => void;
}

/** Turns values into strings for L2 and back. */
export interface Serializer {
  serialize(value: unknown): string;
  deserialize(raw: string): unknown;
}
