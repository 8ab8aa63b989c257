/**
 * @switchboard/rbac/redis: the grant-change bus over Redis pub/sub.
 * @packageDocumentation
 */
export { createRedisRbacBus, type RedisBusClients } from './stores/redis.ts';
