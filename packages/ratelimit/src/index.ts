/**
 * @switchboard/ratelimit: exact, atomic rate limiting over memory and Redis (one round trip per
 * check, multi-limit checks all or nothing). Redis store: `@switchboard/ratelimit/redis`;
 * GraphQL errors: `@switchboard/ratelimit/graphql`; graphql-yoga plugins:
 * `@switchboard/ratelimit/yoga`; store contract suite: `@switchboard/ratelimit/testing`.
 * @packageDocumentation
 */
export { type FixedWindowOptions, fixedWindow } from './algorithms/fixed-window.ts';
export { type GcraOptions, gcra } from './algorithms/gcra.ts';
export { type SlidingWindowCounterOptions, slidingWindowCounter } from './algorithms/sliding-window-counter.ts';
export { type SlidingWindowLogOptions, slidingWindowLog } from './algorithms/sliding-window-log.ts';
export { type TokenBucketOptions, tokenBucket } from './algorithms/token-bucket.ts';
export { bindStore } from './bind-store.ts';
export {
  RATE_LIMIT_ERROR_TABLE,
  type RateLimitErrorMapping,
  type RateLimitErrorResponse,
  rateLimitErrorResponse,
} from './error-table.ts';
export {
  isRateLimitError,
  isRateLimitedError,
  RateLimitError,
  type RateLimitErrorCode,
  RateLimitedError,
  StoreTimeoutError,
  StoreUnavailableError,
} from './errors.ts';
export { type RateLimitHeaderOptions, rateLimitHeaders } from './headers.ts';
// For HTTP framework adapters (ours: ./express, ./fastify, @switchboard/nestjs; or your own).
export {
  createHttpRateLimitCheck,
  type HttpRateLimitOptions,
  type HttpRateLimitOutcome,
  type RateLimitRefusalBody,
} from './http-rate-limit.ts';
export { type IpKeyOptions, ipKey } from './ip.ts';
export { encodeKey, hashTagOf, storageKey } from './keys.ts';
export {
  type ConsumeAllEntry,
  type ConsumeAllResult,
  type ConsumeOptions,
  consumeAll,
  createRateLimiter,
  type RateLimiter,
  type RateLimiterOptions,
  type RateLimitLogger,
  type StoreErrorPolicy,
} from './rate-limiter.ts';
export { createMemoryStore, type MemoryStoreOptions } from './stores/memory.ts';
export type { Telemetry } from './telemetry.ts';
export type {
  Algorithm,
  AlgorithmKind,
  BoundStore,
  Decision,
  EvaluateMode,
  RateLimitResult,
  RateLimitStore,
  Step,
  StoreBindOptions,
  StoreEntry,
} from './types.ts';
