/**
 * @switchboard/cache: a two-tier cache (in-process L1, optional Redis L2) with single-flight
 * fetches, tags invalidated in O(1), grace / fail-safe, and cross-instance L1 invalidation with
 * a bounded staleness guarantee. Redis tier and bus: `@switchboard/cache/redis`.
 * @packageDocumentation
 */
export {
  type Cache,
  type CacheEvent,
  type CacheEventName,
  type CacheOptions,
  type CacheStats,
  createCache,
  type GetOrSetOptions,
  type SetOptions,
} from './cache.ts';
export { CacheError, type CacheErrorCode, FetchTimeoutError, isCacheError } from './errors.ts';
export { jsonSerializer } from './serializer.ts';
export { createMemoryBus } from './stores/memory-bus.ts';
export { createMemoryTier, type MemoryTierOptions } from './stores/memory-tier.ts';
export type { Telemetry } from './telemetry.ts';
export type {
  BusMessage,
  CacheBus,
  CacheEntry,
  LocalHit,
  LocalTier,
  Serializer,
  SharedRead,
  SharedTier,
} from './types.ts';
