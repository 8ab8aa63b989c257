/**
 * @switchboard/ratelimit/redis: the Redis store (one EVALSHA per check). Kept off the root so
 * that users of the memory store never load anything Redis-related.
 * @packageDocumentation
 */
export { createRedisStore, type RedisCommandClient, type RedisStoreOptions } from './stores/redis.ts';
export type { Telemetry } from './telemetry.ts';
