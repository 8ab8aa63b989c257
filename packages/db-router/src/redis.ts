/**
 * @switchboard/db-router/redis: the Redis causal-token store, for `createCausalSessions` across
 * several application instances. Kept off the root so that users of the memory store never load
 * anything Redis-related.
 * @packageDocumentation
 */
export { createRedisTokenStore, type RedisCommandClient, type RedisTokenStoreOptions } from './stores/redis.ts';
