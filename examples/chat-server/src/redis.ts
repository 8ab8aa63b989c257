import { Redis, type RedisOptions } from 'ioredis';

/** Where Redis is: one URL, or Sentinels watching a master by name. */
export type RedisConfig = { url: string } | { sentinels: { host: string; port: number }[]; masterName: string };

/** Makes the server's Redis connections (each package gets its own) and closes them all. */
export interface RedisConnections {
  client(): Redis;
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

export function connectRedis(config: RedisConfig): RedisConnections {
  const clients: Redis[] = [];
  return {
    client() {
      const client =
        'url' in config
          ? new Redis(config.url, RESILIENT)
          : new Redis({
              ...RESILIENT,
              sentinels: config.sentinels,
              name: config.masterName,
              sentinelRetryStrategy: (attempt: number) => Math.min(attempt * 100, 1_000),
              failoverDetector: false,
            });
      // Connection errors are retried by ioredis; without a listener they would crash the process.
      client.on('error', () => {});
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.all(clients.map((client) => client.quit().catch(() => client.disconnect())));
    },
  };
}
