/**
 * The environment every server the harness starts gets, in one place. The limits are raised:
 * the server's defaults are sized for one person typing, and a load run sends as thousands of
 * users through a few hundred loopback addresses. Nothing is switched off: every check still
 * runs on every request, it just does not refuse. Add a variable here when the server gains a
 * limit (the table in examples/chat-server/README.md lists them).
 */
export const LOAD_LIMITS: Readonly<Record<string, string>> = {
  MESSAGES_PER_HOUR: '1000000000',
  MESSAGES_PER_CHAT_PER_HOUR: '1000000000',
  AUTH_REQUESTS_PER_IP_PER_MINUTE: '1000000',
  SUBSCRIPTIONS_PER_USER: '1000',
  // Every operation is charged (its field count) to the user, or to the address when anonymous.
  OPERATIONS_PER_MINUTE: '1000000000',
};

/** How production runs the server: built JavaScript, `NODE_ENV=production`, request logs at `info`. */
export const PRODUCTION: Readonly<Record<string, string>> = {
  NODE_ENV: 'production',
  LOG_LEVEL: 'info',
};

/**
 * The environment of one server process: this process's own (PATH, HOME, ...), then production
 * settings and raised limits, then `overrides` (the CLI's `--server-env KEY=VALUE`, the
 * instance's own PORT, DATA_DIR, DATABASE_URL, ...).
 */
export function serverEnvironment(overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
  const inherited = { ...process.env };
  // Anything the harness itself was started with that would change the server's behaviour.
  for (const name of [
    'PORT',
    'HOST',
    'DATA_DIR',
    'DATABASE_URL',
    'DATABASE_REPLICA_URLS',
    'REDIS_URL',
    'REDIS_SENTINELS',
    'REDIS_MASTER_NAME',
    'ACCESS_TOKEN_KEYS',
    'INSTANCES',
    'NODE_OPTIONS',
    // Production settings: the harness measures the defaults. An inherited METRICS_PORT would
    // also make every instance after the first fail to listen.
    'CORS_ORIGINS',
    'GRAPHIQL',
    'METRICS_TOKEN',
    'METRICS_PORT',
  ]) {
    delete inherited[name];
  }
  return { ...inherited, ...PRODUCTION, ...LOAD_LIMITS, ...overrides };
}
