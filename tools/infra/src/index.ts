/**
 * Dev/test infrastructure: real PostgreSQL (primary + streaming replicas), Redis (master +
 * replicas + Sentinels) and Redis Cluster on 127.0.0.1, on free ports, stopped by pid. Used by
 * the tests, the benchmarks and the chat server's cluster mode. Not published.
 */
export { ensurePostgres, ensureRedis } from './binaries.ts';
export { InfraError } from './errors.ts';
export { type ListeningApp, listenOnLoopback } from './http-app.ts';
export {
  PostgresCluster,
  type PostgresClusterOptions,
  PostgresNode,
  type PostgresReplicaOptions,
  queryOne,
  startPostgres,
} from './postgres.ts';
export { isRunning, type ProcessRecord, readStartTime, signalTree } from './process.ts';
export { DEFAULT_MASTER_NAME, RedisGroup, type RedisGroupOptions, RedisNode, startRedis } from './redis.ts';
export { sentinelClientOptions } from './redis-client.ts';
export {
  CLUSTER_SLOTS,
  RedisCluster,
  type RedisClusterOptions,
  type RedisClusterShard,
  startRedisCluster,
} from './redis-cluster.ts';
export { redisCommand } from './resp.ts';
export {
  clusterBusTestKit,
  clusterSubscribers,
  countQueries,
  createTestDatabase,
  drillClusterClient,
  startTestTopology,
  testKeyPrefix,
  timeUntil,
  untilClusterSubscribers,
} from './testing.ts';
export { reapOrphans, startTopology, stopTopologyDir, type Topology, type TopologyOptions } from './topology.ts';
export type { PostgresInfo, RedisClusterInfo, RedisInfo, TopologyInfo } from './types.ts';
