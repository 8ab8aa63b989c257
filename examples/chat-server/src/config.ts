import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RedisConfig } from './redis.ts';

/** What the server reads from its environment, validated once at start. */
export interface ServerConfig {
  /** `PORT`, 0 for any free port. @default 4000 */
  port: number;
  /** `HOST`. @default '127.0.0.1' */
  host: string;
  /** `DATABASE_URL`: an existing PostgreSQL 15+ database; unset means the embedded server. */
  databaseUrl: string | undefined;
  /** `DATABASE_REPLICA_URLS`: comma-separated streaming replicas of `DATABASE_URL`, for reads. */
  replicaUrls: string[];
  /**
   * `REDIS_URL`, `REDIS_SENTINELS` (+ `REDIS_MASTER_NAME`) or `REDIS_CLUSTER_NODES`, one of them:
   * unset means one instance, no Redis.
   */
  redis: RedisConfig | undefined;
  /** `DATA_DIR`: the embedded server's cluster and the generated secrets. @default examples/chat-server/.data */
  dataDir: string;
  limits: LimitsConfig;
  /** Password hashing capacity and the periodic clean-up of @switchboard/auth. */
  auth: AuthConfig;
  /** `LOG_LEVEL`: pino level (trace, debug, info, warn, error, fatal, silent). @default 'info' */
  logLevel: string;
  /**
   * `LOG_FORMAT`: `ecs` (Elastic Common Schema lines, for Filebeat / Elastic Agent) or `pino`
   * (plain pino lines, for `pino-pretty` in development). @default 'ecs'
   */
  logFormat: 'ecs' | 'pino';
  /**
   * Traces over OTLP/HTTP, on when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the OpenTelemetry SDK reads
   * its standard `OTEL_*` variables: `OTEL_SERVICE_NAME`, headers, sampling...). Every package's
   * spans and metrics, and `trace.id` / `span.id` on log lines. @default false
   */
  telemetry: boolean;
  /** `ACCESS_TOKEN_KEYS`: a JSON array of private JWKs (the first signs); unset means generated once under `dataDir`. */
  accessTokenKeys: string | undefined;
  /** `NODE_ENV=production`: GraphiQL, introspection and an open `/metrics` are off unless asked for. */
  production: boolean;
  /**
   * `CORS_ORIGINS`: comma-separated origins (`https://chat.example.com`) whose pages may call the
   * API and open graphql-ws sockets from a browser, each normalized to its origin. Empty: same
   * origin only. `*` is refused: the list is the whole point.
   * @default []
   */
  corsOrigins: string[];
  /** `GRAPHIQL`: GraphiQL and schema introspection. @default true in development, false in production */
  graphiql: boolean;
  /**
   * `METRICS_TOKEN`: `/metrics` answers only requests with `Authorization: Bearer <token>`
   * (at least 16 characters).
   */
  metricsToken: string | undefined;
  /** `METRICS_PORT`: `/metrics` is served only on this port of 127.0.0.1, not on `port`. */
  metricsPort: number | undefined;
}

/** A configuration mistake: one line naming the variable, printed instead of a stack trace. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const production = env.NODE_ENV?.trim() === 'production';
  const port = parsePort(env.PORT);
  return {
    port,
    host: parseHost(env.HOST),
    databaseUrl: parseDatabaseUrl(env.DATABASE_URL),
    replicaUrls: parseReplicaUrls(env),
    redis: parseRedis(env),
    dataDir: env.DATA_DIR?.trim() ? resolve(env.DATA_DIR.trim()) : DEFAULT_DATA_DIR,
    accessTokenKeys: env.ACCESS_TOKEN_KEYS?.trim() || undefined,
    logLevel: parseLogLevel(env.LOG_LEVEL),
    logFormat: parseLogFormat(env.LOG_FORMAT),
    telemetry: Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim()),
    limits: parseLimits(env),
    auth: parseAuth(env),
    production,
    corsOrigins: parseOrigins(env.CORS_ORIGINS),
    graphiql: parseSwitch(env, 'GRAPHIQL', !production),
    metricsToken: parseMetricsToken(env.METRICS_TOKEN),
    metricsPort: parseMetricsPort(env.METRICS_PORT, port),
  };
}

function parseLimits(env: NodeJS.ProcessEnv): LimitsConfig {
  const messagesPerHour = parseCount(env, 'MESSAGES_PER_HOUR', 100);
  return {
    messagesPerHour,
    messagesPerChatPerHour: parseCount(env, 'MESSAGES_PER_CHAT_PER_HOUR', 50),
    actionsPerHour: parseCount(env, 'ACTIONS_PER_HOUR', messagesPerHour * 3),
    typingPerChatPerSecond: parseCount(env, 'TYPING_PER_CHAT_PER_SECOND', 1),
    authPerIpPerMinute: parseCount(env, 'AUTH_REQUESTS_PER_IP_PER_MINUTE', 30),
    loginAttemptsPerIpPerUsername: parseCount(env, 'LOGIN_ATTEMPTS_PER_IP_PER_USERNAME', 10),
    loginAttemptsPerUsername: parseCount(env, 'LOGIN_ATTEMPTS_PER_USERNAME', 100),
    loginWindowMinutes: parseCount(env, 'LOGIN_WINDOW_MINUTES', 15),
    subscriptionsPerUser: parseCount(env, 'SUBSCRIPTIONS_PER_USER', 20),
    instances: parseCount(env, 'INSTANCES', 2),
    // Only when set; createApp applies DEFAULT_OPERATIONS_PER_MINUTE otherwise.
    ...(env.OPERATIONS_PER_MINUTE?.trim()
      ? { operationsPerMinute: parseCount(env, 'OPERATIONS_PER_MINUTE', DEFAULT_OPERATIONS_PER_MINUTE) }
      : {}),
  };
}

/**
 * The operation budget when `OPERATIONS_PER_MINUTE` is unset: a page of 50 messages costs about
 * 800 points (fields × page size), so a client paging through history or switching chats stays
 * inside it, while a flood of even the cheapest query (1 point) is held to 100 per second once
 * the bucket is spent.
 */
export const DEFAULT_OPERATIONS_PER_MINUTE = 6_000;

/** Rate limits; the defaults are the ones our users start from. */
export interface LimitsConfig {
  /** `MESSAGES_PER_HOUR`: messages one user may send per hour, all chats together. @default 100 */
  messagesPerHour: number;
  /** `MESSAGES_PER_CHAT_PER_HOUR`: messages one user may send per hour in one chat. @default 50 */
  messagesPerChatPerHour: number;
  /**
   * `ACTIONS_PER_HOUR`: every other write one user may repeat (create chat, add or remove a
   * participant, edit, delete, mark read, delete chat), together, per hour.
   * @default 3 × `MESSAGES_PER_HOUR` (300)
   */
  actionsPerHour: number;
  /** `TYPING_PER_CHAT_PER_SECOND`: typing notices one user may send per second in one chat. @default 1 */
  typingPerChatPerSecond: number;
  /** `AUTH_REQUESTS_PER_IP_PER_MINUTE`: register, login, refresh and logout calls per client address. @default 30 */
  authPerIpPerMinute: number;
  /**
   * `LOGIN_ATTEMPTS_PER_IP_PER_USERNAME`: logins to one username from one client address per
   * login window. @default 10
   */
  loginAttemptsPerIpPerUsername: number;
  /**
   * `LOGIN_ATTEMPTS_PER_USERNAME`: logins to one username from all addresses together per login
   * window (a ceiling above the per-address one, so a stranger cannot lock the owner out). @default 100
   */
  loginAttemptsPerUsername: number;
  /** `LOGIN_WINDOW_MINUTES`: the window of both login limits, in minutes. @default 15 */
  loginWindowMinutes: number;
  /**
   * `SUBSCRIPTIONS_PER_USER`: subscriptions one user may hold open on one instance (each holds
   * a live feed and memory until it ends). @default 20
   */
  subscriptionsPerUser: number;
  /**
   * `INSTANCES`: how many instances share the limits; while Redis is unreachable each one
   * enforces its share of the message limits from memory. @default 2
   */
  instances: number;
  /**
   * `OPERATIONS_PER_MINUTE`: cost points one client (a signed-in user, else a client address)
   * may spend per minute on operations of any kind, each charged once (a subscription when it
   * starts) at its field count with list multipliers (`createOperationCost` of
   * @switchboard/ratelimit). A bucket of this many points, refilled at this rate.
   * @default {@link DEFAULT_OPERATIONS_PER_MINUTE} (6000)
   */
  operationsPerMinute?: number;
}

/** @switchboard/auth's capacity and housekeeping. */
export interface AuthConfig {
  /**
   * `PASSWORD_CONCURRENCY`: argon2 hashes and verifications run at once.
   * @default unset: @switchboard/auth's (the libuv threadpool size, at most the CPU count)
   */
  passwordConcurrency: number | undefined;
  /**
   * `PASSWORD_QUEUE_SIZE`: password operations that may wait; one more is answered at once
   * with `BUSY` (HTTP 503, `Retry-After`). @default unset: @switchboard/auth's (16 × concurrency)
   */
  passwordQueueSize: number | undefined;
  /**
   * `AUTH_CLEANUP_INTERVAL_MINUTES`: how often expired refresh tokens and ended sessions are
   * deleted (`auth.cleanup()`), on one instance at a time, each run jittered by ±25 %. @default 10
   */
  cleanupIntervalMinutes: number;
}

function parseAuth(env: NodeJS.ProcessEnv): AuthConfig {
  const optional = (variable: string) => (env[variable]?.trim() ? parseCount(env, variable, 1) : undefined);
  return {
    passwordConcurrency: optional('PASSWORD_CONCURRENCY'),
    passwordQueueSize: optional('PASSWORD_QUEUE_SIZE'),
    cleanupIntervalMinutes: parseCount(env, 'AUTH_CLEANUP_INTERVAL_MINUTES', 10),
  };
}

function parseCount(env: NodeJS.ProcessEnv, variable: string, fallback: number): number {
  const raw = env[variable];
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1) {
    throw new ConfigError(variable, `must be a whole number of at least 1, got '${raw}'`);
  }
  return Number(raw);
}

const DEFAULT_DATA_DIR = fileURLToPath(new URL('../.data', import.meta.url));

function parseDatabaseUrl(raw: string | undefined, variable = 'DATABASE_URL'): string | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigError(variable, 'must be a URL like postgres://user:password@host:5432/database');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(variable, `must start with postgres:// or postgresql://, got '${url.protocol}//'`);
  }
  return raw.trim();
}

function parseReplicaUrls(env: NodeJS.ProcessEnv): string[] {
  const raw = env.DATABASE_REPLICA_URLS;
  if (raw === undefined || raw.trim() === '') return [];
  if (!env.DATABASE_URL?.trim()) {
    throw new ConfigError('DATABASE_REPLICA_URLS', 'needs DATABASE_URL (the primary they replicate)');
  }
  return raw
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => parseDatabaseUrl(part, 'DATABASE_REPLICA_URLS') as string);
}

function parseRedis(env: NodeJS.ProcessEnv): RedisConfig | undefined {
  const url = env.REDIS_URL?.trim();
  const sentinels = env.REDIS_SENTINELS?.trim();
  const clusterNodes = env.REDIS_CLUSTER_NODES?.trim();
  if (url && sentinels) throw new ConfigError('REDIS_URL', 'set REDIS_URL or REDIS_SENTINELS, not both');
  if (clusterNodes && (url || sentinels)) {
    const other = url ? 'REDIS_URL' : 'REDIS_SENTINELS';
    throw new ConfigError('REDIS_CLUSTER_NODES', `set REDIS_CLUSTER_NODES or ${other}, not both`);
  }
  if (url) {
    if (!/^rediss?:\/\/[^\s]+$/.test(url))
      throw new ConfigError('REDIS_URL', `must look like redis://host:6379, got '${url}'`);
    return { url };
  }
  if (!sentinels) {
    if (env.REDIS_MASTER_NAME?.trim()) throw new ConfigError('REDIS_MASTER_NAME', 'needs REDIS_SENTINELS');
    return clusterNodes ? { clusterNodes: parseClusterNodes(clusterNodes) } : undefined;
  }
  const nodes = sentinels.split(',').map((part) => {
    const match = /^\s*([^\s:]+):(\d{1,5})\s*$/.exec(part);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65_535) {
      throw new ConfigError('REDIS_SENTINELS', `must be host:port[,host:port...], got '${part.trim()}'`);
    }
    return { host: match[1] as string, port };
  });
  return { sentinels: nodes, masterName: env.REDIS_MASTER_NAME?.trim() || 'mymaster' };
}

/**
 * `REDIS_CLUSTER_NODES`: seed nodes of a Redis Cluster, `host:port` (`[v6 address]:port` for IPv6)
 * separated by commas. Any reachable node is enough for the client to learn the others; listing
 * several lets it start while one is down.
 */
function parseClusterNodes(raw: string): { host: string; port: number }[] {
  const seen = new Set<string>();
  return raw.split(',').map((part) => {
    const entry = part.trim();
    if (entry === '') {
      throw new ConfigError('REDIS_CLUSTER_NODES', `has an empty entry in '${raw}' (host:port[,host:port...])`);
    }
    const match = /^(?:\[([0-9A-Fa-f.]*:[0-9A-Fa-f:.]*)\]|([^\s:[\]/@,]+)):(\d+)$/.exec(entry);
    if (!match) {
      throw new ConfigError('REDIS_CLUSTER_NODES', `must be host:port[,host:port...], got '${entry}'`);
    }
    const port = Number(match[3]);
    if (!(port >= 1 && port <= 65_535)) {
      throw new ConfigError('REDIS_CLUSTER_NODES', `port must be from 1 to 65535, got '${entry}'`);
    }
    const host = (match[1] ?? match[2]) as string;
    const key = `${host.toLowerCase()}:${port}`;
    if (seen.has(key)) throw new ConfigError('REDIS_CLUSTER_NODES', `lists '${entry}' twice`);
    seen.add(key);
    return { host, port };
  });
}

function parsePort(raw: string | undefined, variable = 'PORT'): number {
  if (raw === undefined || raw.trim() === '') return 4000;
  const port = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || port > 65_535) {
    throw new ConfigError(variable, `must be a whole number from 0 to 65535, got '${raw}'`);
  }
  return port;
}

function parseMetricsPort(raw: string | undefined, serverPort: number): number | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const port = parsePort(raw, 'METRICS_PORT');
  if (port !== 0 && port === serverPort) {
    throw new ConfigError('METRICS_PORT', `must differ from PORT (${serverPort}): it is a second listener`);
  }
  return port;
}

const MIN_METRICS_TOKEN_LENGTH = 16;

function parseMetricsToken(raw: string | undefined): string | undefined {
  const token = raw?.trim();
  if (!token) return undefined;
  // Short tokens can be guessed; the comparison is constant-time, the search space is not.
  if (token.length < MIN_METRICS_TOKEN_LENGTH || /\s/.test(token)) {
    throw new ConfigError(
      'METRICS_TOKEN',
      `must be at least ${MIN_METRICS_TOKEN_LENGTH} characters without spaces (e.g. openssl rand -hex 32)`,
    );
  }
  return token;
}

/**
 * Each entry reduced to its origin (scheme, host, port: what a browser sends in `Origin`), so
 * `https://Chat.example.com:443` and `https://chat.example.com` are one entry.
 */
function parseOrigins(raw: string | undefined): string[] {
  if (raw === undefined || raw.trim() === '') return [];
  const origins = new Set<string>();
  for (const part of raw.split(',')) {
    const entry = part.trim();
    if (entry === '') continue;
    if (entry === '*' || entry === 'null') {
      throw new ConfigError('CORS_ORIGINS', `lists origins one by one; '${entry}' is not accepted`);
    }
    let url: URL | undefined;
    try {
      url = new URL(entry);
    } catch {
      url = undefined;
    }
    const bare = url && url.pathname === '/' && !url.search && !url.hash && !url.username && !url.password;
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || !bare) {
      throw new ConfigError('CORS_ORIGINS', `must be origins like https://chat.example.com, got '${entry}'`);
    }
    origins.add(url.origin);
  }
  return [...origins];
}

function parseSwitch(env: NodeJS.ProcessEnv, variable: string, fallback: boolean): boolean {
  const raw = env[variable]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (raw !== 'true' && raw !== 'false') {
    throw new ConfigError(variable, `must be true or false, got '${env[variable]}'`);
  }
  return raw === 'true';
}

function parseHost(raw: string | undefined): string {
  if (raw === undefined || raw.trim() === '') return '127.0.0.1';
  if (/\s/.test(raw.trim())) throw new ConfigError('HOST', `must be a host name or address, got '${raw}'`);
  return raw.trim();
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

function parseLogLevel(raw: string | undefined): string {
  if (raw === undefined || raw.trim() === '') return 'info';
  const level = raw.trim().toLowerCase();
  if (!LOG_LEVELS.includes(level))
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got '${raw}'`);
  return level;
}

function parseLogFormat(raw: string | undefined): 'ecs' | 'pino' {
  if (raw === undefined || raw.trim() === '') return 'ecs';
  const format = raw.trim().toLowerCase();
  if (format !== 'ecs' && format !== 'pino') throw new ConfigError('LOG_FORMAT', `must be ecs or pino, got '${raw}'`);
  return format;
}
