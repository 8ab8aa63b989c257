/**
 * @switchboard/auth/redis: session revocations over Redis pub/sub. Kept off the root so that
 * single-instance users never load anything Redis-related.
 * @packageDocumentation
 */
export { createRedisRevocationBus, type RedisRevocationBusOptions } from './stores/redis.ts';
