import { setDefaultTelemetry } from '@switchboard/tx';
import { type App, createApp, createServerLogger } from './app.ts';
import { ConfigError, loadConfig, type ServerConfig } from './config.ts';
import { type Database, migrateDatabase, openDatabase } from './db/database.ts';
import { connectRedis, type RedisConnections } from './redis.ts';
import { metricsAccess, type RunningServer, startServer } from './server.ts';
import { loadSigningKeys } from './signing-keys.ts';
import { startTelemetry } from './telemetry.ts';

async function main(): Promise<void> {
  const config = loadConfig();
  // First: the packages look the SDK up through the global API when they are created.
  const stopTelemetry = config.telemetry ? startTelemetry() : undefined;
  if (config.telemetry) setDefaultTelemetry(true);
  // Elastic Common Schema lines on stdout (LOG_FORMAT=pino: plain pino lines, for pino-pretty).
  const log = createServerLogger({
    environment: config.production ? 'production' : 'development',
    level: config.logLevel,
    format: config.logFormat,
    telemetry: config.telemetry,
  });
  const database = await openDatabase(config);
  let app: App | undefined;
  let redis: RedisConnections | undefined;
  let server: RunningServer;
  try {
    await migrateDatabase(database);
    const signingKeys = await loadSigningKeys({ fromEnvironment: config.accessTokenKeys, dataDir: config.dataDir });
    redis = config.redis ? connectRedis(config.redis) : undefined;
    app = await createApp({
      pool: database.pool,
      replicas: config.replicaUrls,
      ...(redis ? { redis } : {}),
      signingKeys,
      limits: config.limits,
      auth: {
        passwordConcurrency: config.auth.passwordConcurrency,
        passwordQueueSize: config.auth.passwordQueueSize,
        cleanupIntervalMs: config.auth.cleanupIntervalMinutes * 60_000,
      },
      log,
      graphiql: config.graphiql,
      telemetry: config.telemetry,
    });
    server = await startServer(config, app.yoga, app.routes);
  } catch (error) {
    await app?.close();
    await redis?.close();
    await database.close();
    throw error;
  }
  process.stdout.write(banner(server, database, config));

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: finishing in-flight requests, then stopping\n`);
    // In-flight requests still need the database: close it only after the HTTP server.
    void server
      .close()
      .then(() => app?.close())
      .then(() => redis?.close())
      .then(() => database.close())
      .then(() => stopTelemetry?.())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          process.stderr.write(`stopped with an error: ${error instanceof Error ? error.message : String(error)}\n`);
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

function banner(server: RunningServer, database: Database, config: ServerConfig): string {
  const data = database.dataDir ? `embedded PostgreSQL, data in ${database.dataDir}` : 'PostgreSQL from DATABASE_URL';
  const replicas = config.replicaUrls.length ? `, ${config.replicaUrls.length} replica(s) for reads` : '';
  const redis = !config.redis
    ? ''
    : 'url' in config.redis
      ? ', Redis'
      : 'clusterNodes' in config.redis
        ? ', Redis Cluster'
        : ', Redis via Sentinel';
  const graphiql = config.graphiql ? ' (GraphiQL in a browser)' : '';
  return `Switchboard chat server: ${server.url}${graphiql}\n${data}${replicas}${redis}\n${metricsLine(server, config)}Stop with Ctrl-C.\n`;
}

/** Where /metrics is, or (production, nothing configured) how to serve it: one line, or none. */
function metricsLine(server: RunningServer, config: ServerConfig): string {
  switch (metricsAccess(config)) {
    case 'port':
      return `metrics: ${server.metricsUrl}\n`;
    case 'off':
      return '/metrics is off in production: set METRICS_TOKEN (scrape with Authorization: Bearer <token>) or METRICS_PORT (served on 127.0.0.1 only)\n';
    default:
      return '';
  }
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`invalid configuration: ${error.message}\n`);
  } else if (isAddressInUse(error)) {
    process.stderr.write(`cannot listen: ${error.message} (set PORT to a free port)\n`);
  } else {
    process.stderr.write(`failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  process.exit(1);
});

function isAddressInUse(error: unknown): error is Error {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
}
