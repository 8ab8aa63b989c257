import { generateSigningKey } from '@switchboard/auth';
import type { RedisInfo } from '@switchboard/infra';
import type { Logger } from '@switchboard/logging';
import pg from 'pg';
import { type App, type AuthSettings, createApp, createServerLogger } from '../src/app.ts';
import type { LimitsConfig } from '../src/config.ts';
import { migrationSources } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { connectRedis, type RedisConnections } from '../src/redis.ts';
import { type RunningServer, type ServerOptions, startServer } from '../src/server.ts';

export interface Instances {
  /** The primary's pool the instances share (migrated). */
  pool: pg.Pool;
  /** Each instance's GraphQL URL, in start order. */
  urls: string[];
  /** Each instance's `/metrics` listener (`server.metricsPort`), in start order. */
  metricsUrls: (string | undefined)[];
  close(): Promise<void>;
}

/**
 * Server instances in this process over one database, as the tests need them: sharing signing
 * keys, with replicas and Redis (Sentinel, or a Redis Cluster) when given. Limits default to far above any test.
 */
export async function startInstances(options: {
  primary: string;
  replicas?: readonly string[];
  redis?: RedisInfo;
  /** Seed nodes of a Redis Cluster, instead of `redis` (exclusive with it, as in the server's configuration). */
  redisCluster?: readonly { host: string; port: number }[];
  count?: number;
  limits?: Partial<LimitsConfig>;
  /** HTTP-level settings (CORS, metrics access, production) of every instance. */
  server?: Omit<ServerOptions, 'port' | 'host'>;
  /** GraphiQL and introspection. @default true */
  graphiql?: boolean;
  /** Where the instances log. @default a logger at `TEST_LOG_LEVEL` (silent) */
  log?: Logger;
  /** Password capacity and the auth clean-up interval of every instance. @default the server's */
  auth?: AuthSettings;
  /** Every package's spans and metrics through the global OpenTelemetry API. @default false */
  telemetry?: boolean;
}): Promise<Instances> {
  if (options.redis && options.redisCluster)
    throw new TypeError('startInstances: give `redis` or `redisCluster`, not both');
  const pool = new pg.Pool({ connectionString: options.primary, max: 20 });
  // A test may kill the primary's connections: idle clients must not crash the process.
  pool.on('error', () => {});
  await migrate(pool, await migrationSources());
  const signingKeys = [await generateSigningKey()];
  const limits: LimitsConfig = {
    messagesPerHour: 100_000,
    messagesPerChatPerHour: 100_000,
    actionsPerHour: 100_000,
    typingPerChatPerSecond: 100_000,
    authPerIpPerMinute: 100_000,
    loginAttemptsPerIpPerUsername: 100_000,
    loginAttemptsPerUsername: 100_000,
    loginWindowMinutes: 15,
    subscriptionsPerUser: 100_000,
    instances: 2,
    operationsPerMinute: 100_000_000,
    ...options.limits,
  };
  const log = options.log ?? createServerLogger({ environment: 'test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const running: { app: App; server: RunningServer; redis: RedisConnections | undefined }[] = [];
  for (let i = 0; i < (options.count ?? 1); i++) {
    const redisInfo = options.redis;
    const redis = redisInfo
      ? connectRedis({ sentinels: redisInfo.sentinels, masterName: redisInfo.masterName })
      : options.redisCluster
        ? connectRedis({ clusterNodes: options.redisCluster.map(({ host, port }) => ({ host, port })) })
        : undefined;
    const app = await createApp({
      pool,
      ...(options.replicas ? { replicas: options.replicas } : {}),
      ...(redis ? { redis } : {}),
      signingKeys,
      limits,
      log,
      ...(options.graphiql === undefined ? {} : { graphiql: options.graphiql }),
      ...(options.auth ? { auth: options.auth } : {}),
      ...(options.telemetry ? { telemetry: true } : {}),
    });
    const server = await startServer({ port: 0, host: '127.0.0.1', ...options.server }, app.yoga, app.routes);
    running.push({ app, server, redis });
  }
  return {
    pool,
    urls: running.map(({ server }) => server.url),
    metricsUrls: running.map(({ server }) => server.metricsUrl),
    async close() {
      for (const { app, server, redis } of running) {
        await server.close(1_000);
        await app.close();
        await redis?.close();
      }
      await pool.end();
    },
  };
}
