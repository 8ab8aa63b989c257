/**
 * @switchboard/cache/redis: the Redis L2 tier and the Redis pub/sub bus. Kept off the root so
 * that in-process users never load anything Redis-related.
 * @packageDocumentation
 */
export {
  createRedisBus,
  type RedisBusOptions,
  type RedisPublisherLike,
  type RedisSubscriberLike,
} from './stores/redis-bus.ts';
export {
  createRedisTier,
  type NodeRedisClientLike,
  type RedisClientLike,
  type RedisTierOptions,
} from './stores/redis-tier.ts';
