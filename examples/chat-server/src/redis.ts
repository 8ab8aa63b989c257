import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';

/** A Redis server's (or a Sentinel's, or a cluster node's) address. */
export interface RedisAddress {
  host: string;
  port: number;
}

/**
 * Where Redis is: one URL, Sentinels watching a master by name, or the seed nodes of a Redis
 * Cluster (any of its nodes: the client asks them for the rest).
 */
export type RedisConfig =
  | { url: string }
  | { sentinels: RedisAddress[]; masterName: string }
  | { clusterNodes: RedisAddress[] };

/** A connection of the server: a plain or Sentinel-managed client, or a Redis Cluster client. */
export type RedisClient = Redis | Cluster;

/** Makes the server's Redis connections (each package gets its own) and closes them all. */
export interface RedisConnections {
  /**
   * A new client, of the kind the configuration asks for. Every package takes either: commands
   * go to the node of their key's slot on a Cluster, and classic pub/sub (PUBLISH, SUBSCRIBE)
   * reaches every node of a Cluster, so the buses and the subscriptions' event target work
   * unchanged.
   */
  client(): RedisClient;
  /**
   * A new client to subscribe with, and the pub/sub the deployment uses. On a Cluster: sharded
   * (SPUBLISH / SSUBSCRIBE, Redis 7), the subscriber created with `shardedSubscribers`, so a
   * message travels within its channel's shard instead of to every node. Measured on a 3-master
   * cluster with a replica each (200 channels, 20,000 messages of 200 bytes, two subscribing
   * instances, 3 runs): sharded took 200–220 ms of Redis CPU against classic's 256–374 ms, at
   * 49–71 k messages/s against 34–60 k/s; classic's cost grows with every node added, sharded's
   * with the shard. Elsewhere classic.
   */
  subscriber(): RedisClient;
  readonly sharded: boolean;
  close(): Promise<void>;
}

/**
 * ioredis options that ride through a Sentinel failover with no failed command (measured in
 * tools/infra's failover drills): commands wait in the offline queue while the client finds the
 * new master; a demoted master's READONLY reconnects and resends. `failoverDetector` stays off
 * (with ioredis 6.0.0 it can end a client that is reconnecting when `+switch-master` arrives).
 */
// Inferred, not annotated: ioredis 6's option types reject `RedisOptions` itself under
// exactOptionalPropertyTypes.
const RESILIENT = {
  enableOfflineQueue: true,
  maxRetriesPerRequest: null,
  commandTimeout: 10_000,
  retryStrategy: () => 100,
  reconnectOnError: (error: Error) => (error.message.startsWith('READONLY') ? 2 : false),
  disconnectTimeout: 200,
  // Commands issued in one event-loop turn (causal tokens, cache reads, the relay's publishes of
  // a batch) leave in one write: fewer system calls per request under load.
  enableAutoPipelining: true,
} satisfies RedisOptions;

/**
 * ioredis Cluster options for a master's failover (its replica takes its slots after
 * `cluster-node-timeout` plus an election: ~4 s at 2000 in tools/infra's drills):
 *
 * - `scaleReads: 'master'`: replication is asynchronous, so a replica may answer with a causal
 *   token or a cache generation older than the one just written; reads stay on the masters.
 * - `retryDelayOnFailover: 100`: a command whose node closed its connection (a master killed) is
 *   sent again 100 ms later, after a refresh of the slot map, instead of failing.
 * - `retryDelayOnClusterDown: 100`: while a slot has no master, every node answers CLUSTERDOWN
 *   (`cluster-require-full-coverage yes`, the default); the command is sent again every 100 ms.
 * - `maxRedirections`: each of those retries (and each MOVED) counts as a redirection; with 16
 *   (the default) commands failed from 1 s after a master's SIGKILL, before its replica took over
 *   (measured here). 100 lets a command wait ~10 s, the `commandTimeout` of the other modes:
 *   with the master and its replica both killed, commands on their slots failed after 9.2–10 s.
 *   Redis' own default `cluster-node-timeout` is 15 s, against tools/infra's 2 s: lower it, or
 *   expect commands on a dead master's slots to fail before its replica takes over (each package
 *   has its answer to a failed Redis call).
 * - `clusterRetryStrategy`: when no node answers at all (every seed down, a network cut), the
 *   client tries again every 100 ms, up to 1 s apart, and never gives up (returning a
 *   non-number would end it for good).
 * - `commandTimeout` on the nodes' connections: a command sent to a frozen node (SIGSTOP, a
 *   black hole) fails after 10 s rather than waiting for ever.
 * - No auto-pipelining (the other modes have it): ioredis groups a turn's commands by node, so one
 *   pipeline holds keys of several slots, and it resends a pipeline only when every error in it
 *   is the same and its other commands were reads. During a failover the MOVED errors name
 *   different slots, and ioredis hands them to the callers: measured here (SIGKILL of a master,
 *   8 loops of token advance + GET + PUBLISH), 2 to 3 raw `MOVED` errors in 2 runs of 7 with it,
 *   none in 10 runs without it.
 */
const CLUSTER = {
  scaleReads: 'master',
  retryDelayOnFailover: 100,
  retryDelayOnClusterDown: 100,
  retryDelayOnTryAgain: 100,
  maxRedirections: 100,
  clusterRetryStrategy: (times: number) => Math.min(times * 100, 1_000),
  enableOfflineQueue: true,
  enableAutoPipelining: false,
  redisOptions: { commandTimeout: 10_000, disconnectTimeout: 200 },
} satisfies ClusterOptions;

export function connectRedis(config: RedisConfig): RedisConnections {
  const clients: RedisClient[] = [];
  const track = (client: RedisClient) => {
    // Connection errors are retried by ioredis; without a listener they would crash the process.
    client.on('error', () => {});
    clients.push(client);
    return client;
  };
  return {
    client() {
      return track(newClient(config));
    },
    subscriber() {
      return track(
        'clusterNodes' in config
          ? new Cluster(config.clusterNodes, { ...CLUSTER, shardedSubscribers: true })
          : newClient(config),
      );
    },
    sharded: 'clusterNodes' in config,
    async close() {
      await Promise.all(clients.map((client) => client.quit().catch(() => client.disconnect())));
    },
  };
}

function newClient(config: RedisConfig): RedisClient {
  if ('clusterNodes' in config) return new Cluster(config.clusterNodes, CLUSTER);
  if ('url' in config) return new Redis(config.url, RESILIENT);
  return new Redis({
    ...RESILIENT,
    sentinels: config.sentinels,
    name: config.masterName,
    sentinelRetryStrategy: (attempt: number) => Math.min(attempt * 100, 1_000),
    failoverDetector: false,
  });
}
