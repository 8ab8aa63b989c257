import { createHash, createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import {
  type Auth,
  createAuth,
  createMemoryRevocationBus,
  type PrivateSigningJwk,
  type RevocationBus,
} from '@switchboard/auth';
import { createPostgresDeviceTokenStore, createPostgresSessionStore } from '@switchboard/auth/postgres';
import { createRedisRevocationBus } from '@switchboard/auth/redis';
import { useAuth } from '@switchboard/auth/yoga';
import { createCache } from '@switchboard/cache';
import { createRedisBus, createRedisTier } from '@switchboard/cache/redis';
import { createCausalSessions, createDbRouter, createMemoryTokenStore } from '@switchboard/db-router';
import { createRedisTokenStore } from '@switchboard/db-router/redis';
import { createLogger, type Logger, setLogContext } from '@switchboard/logging';
import { useRequestLogging } from '@switchboard/logging/yoga';
import { createPaginator } from '@switchboard/pagination';
import {
  type Algorithm,
  createMemoryStore,
  createRateLimiter,
  fixedWindow,
  ipKey,
  type RateLimiterOptions,
  slidingWindowCounter,
  tokenBucket,
} from '@switchboard/ratelimit';
import { createRedisStore } from '@switchboard/ratelimit/redis';
import { type RateLimitRuleContext, useOperationRateLimit, useRateLimit } from '@switchboard/ratelimit/yoga';
import { createRbac } from '@switchboard/rbac';
import { createPostgresGrantStore, createPostgresPolicyStore } from '@switchboard/rbac/postgres';
import { createRedisRbacBus } from '@switchboard/rbac/redis';
import { createOutbox, createOutboxRelay } from '@switchboard/tx';
import { uuidSchema } from '@switchboard/validation';
import { hardenedYogaOptions } from '@switchboard/validation/yoga';
import { NoSchemaIntrospectionCustomRule } from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type pg from 'pg';
import * as v from 'valibot';
import packageJson from '../package.json' with { type: 'json' };
import { createAdminAudit } from './chat/admin-audit.ts';
import { createChats } from './chat/chats.ts';
import { createConsent } from './chat/consent.ts';
import { type ChatDb, replicatedDb, singleNodeDb } from './chat/db.ts';
import { createChatEvents } from './chat/events.ts';
import { loginInput, sendMessageChatId } from './chat/inputs.ts';
import { createInvitations } from './chat/invitations.ts';
import { createMessages } from './chat/messages.ts';
import { createRedisEvents } from './chat/redis-events.ts';
import { codeRoles, conditions } from './chat/roles.ts';
import { createSubscriptions } from './chat/subscriptions.ts';
import { createUsers, NOBODY } from './chat/users.ts';
import { DEFAULT_OPERATIONS_PER_MINUTE, type LimitsConfig } from './config.ts';
import { createMaskError, type MaskError } from './graphql/errors.ts';
import { type ChatContext, createResolvers, type RequestFacts, type SessionControl } from './graphql/resolvers.ts';
import { typeDefs } from './graphql/type-defs.ts';
import { createOps } from './ops.ts';
import type { RedisConnections } from './redis.ts';
import type { Routes } from './server.ts';

export interface AppOptions {
  /** The primary's pool: auth sessions, rbac grants, the outbox relay, writes and transactions. */
  pool: pg.Pool;
  /** Streaming replicas for reads (cluster mode), with read-your-writes per user. */
  replicas?: readonly string[];
  /** Redis (cluster mode): rate limits, pub/sub across instances, rbac and causal-token sharing. */
  redis?: RedisConnections;
  signingKeys: PrivateSigningJwk[];
  limits: LimitsConfig;
  /** The server's logger (`createLogger` from @switchboard/logging: ECS lines with the log context). */
  log: Logger;
  /** GraphiQL and schema introspection (`GRAPHIQL`; off in production by default). @default true */
  graphiql?: boolean;
  /** Password hashing capacity and clean-up (`AuthConfig`); unset fields: the defaults. */
  auth?: AuthSettings;
  /**
   * OpenTelemetry spans and metrics from every package (the global API: start the SDK first, see
   * src/telemetry.ts; `OTEL_EXPORTER_OTLP_ENDPOINT` turns it on in main.ts). @default false
   */
  telemetry?: boolean;
}

/** What `createApp` takes of `AuthConfig`, the clean-up interval in ms. */
export interface AuthSettings {
  /** argon2 operations at once. @default @switchboard/auth's */
  passwordConcurrency?: number | undefined;
  /** argon2 operations waiting; past it, `BUSY`. @default @switchboard/auth's */
  passwordQueueSize?: number | undefined;
  /** Mean time between two runs of `auth.cleanup()` (±25 %). @default 600000 (10 min) */
  cleanupIntervalMs?: number;
  /** Access tokens' lifetime (tests of clients refreshing them). @default @switchboard/auth's (15 min) */
  accessTtlMs?: number;
}

export interface App {
  yoga: YogaServerInstance<Record<string, unknown>, RequestFacts>;
  /** `/ready` and `/metrics`, served next to GraphQL. */
  routes: Routes;
  /**
   * Stops the outbox relay (waiting for its batch in flight), the auth clean-up and revocation
   * listening, and rbac's listeners.
   */
  close(): Promise<void>;
}

/**
 * The wiring diagram: every package configured the way its README tells users, then handed to
 * the chat domain. Nothing here decides anything about chats.
 */
export async function createApp(options: AppOptions): Promise<App> {
  const { pool, log, limits, redis } = options;
  const telemetry = options.telemetry ?? false;

  // auth: argon2id passwords (a bounded queue: BUSY past it), access tokens signed with our
  // keys, refresh sessions and device tokens in Postgres. Revocations reach every instance
  // through Redis (cluster mode) and a poll of the session store (what pub/sub lost).
  const revocationBus: RevocationBus = redis
    ? createRedisRevocationBus({ publisher: redis.client(), subscriber: redis.subscriber(), sharded: redis.sharded })
    : createMemoryRevocationBus();
  const auth = await createAuth({
    issuer: 'switchboard-chat',
    audience: 'switchboard-chat',
    keys: options.signingKeys,
    stores: {
      sessions: createPostgresSessionStore({ pool, telemetry }),
      devices: createPostgresDeviceTokenStore({ pool, telemetry }),
    },
    revocations: { bus: revocationBus },
    ...(options.auth?.passwordConcurrency === undefined
      ? {}
      : { passwordConcurrency: options.auth.passwordConcurrency }),
    ...(options.auth?.passwordQueueSize === undefined ? {} : { passwordQueueSize: options.auth.passwordQueueSize }),
    ...(options.auth?.accessTtlMs === undefined ? {} : { accessTtlMs: options.auth.accessTtlMs }),
    logger: { warn: (message) => log.warn(message) },
    telemetry,
    // With telemetry, a request's token check is a span of its trace too (auth's default leaves
    // verification untraced: it runs on every request).
    traceVerify: telemetry,
  });

  // rbac: roles per chat (scope chat:<id>), grants in Postgres, cached per user; with Redis a
  // grant change on one instance drops the cached grants on every other at once.
  // The chat roles' permissions are data (the policy store, seeded by a migration, editable at
  // runtime and followed by every instance within a second); the platform admin is code.
  const rbac = await createRbac({
    roles: codeRoles,
    conditions,
    policyStore: createPostgresPolicyStore({ pool, telemetry }),
    store: createPostgresGrantStore({ pool, telemetry }),
    cache: redis
      ? {
          bus: createRedisRbacBus({
            publisher: redis.client(),
            subscriber: redis.subscriber(),
            sharded: redis.sharded,
            telemetry,
          }),
        }
      : {},
    telemetry,
  });

  // pagination: keyset connections; cursors signed with a key derived from the signing key,
  // so they stay valid across restarts and instances.
  const cursorSecret = createHmac('sha256', String(options.signingKeys[0]?.d)).update('cursors').digest();
  const chatsPaginator = createPaginator({
    orderBy: [
      { field: 'createdAt', column: 'created_at', direction: 'desc' },
      { field: 'id', column: 'id', direction: 'desc' },
    ],
    maxPageSize: 100,
    defaultPageSize: 20,
    secret: cursorSecret,
  });
  const messagesPaginator = createPaginator({
    orderBy: [{ field: 'seq', column: 'seq', direction: 'asc' }],
    maxPageSize: 100,
    defaultPageSize: 50,
    secret: cursorSecret,
  });

  // tx: the outbox written in each message's transaction; the relay publishes after commit.
  // No NOTIFY per message: PostgreSQL commits NOTIFYing transactions one at a time (WAL flush
  // included), which capped sends at a few hundred per second. This process wakes its own relay
  // after each write; relays of other instances poll, so nothing waits longer than a poll.
  const outbox = createOutbox({ notify: false, telemetry });
  const events = createChatEvents(
    redis
      ? {
          eventTarget: createRedisEvents({
            publisher: redis.client(),
            subscriber: redis.subscriber(),
            sharded: redis.sharded,
            onError: (error, operation) => log.warn({ err: error, operation }, 'Redis pub/sub call failed'),
          }),
        }
      : {},
  );
  const relay = createOutboxRelay({ pool, outbox, telemetry, publish: (event) => events.publishOutboxEvent(event) });

  // db-router: with replicas, reads go to a replica that already has the reader's last write
  // (a causal token per user, shared through Redis so the next request may land anywhere).
  const router = options.replicas?.length
    ? await createDbRouter({
        primary: pool,
        replicas: [...options.replicas],
        maxLagMs: 10_000,
        tokenWaitMs: 50,
        telemetry,
      })
    : undefined;
  const db: ChatDb = router
    ? replicatedDb(
        router,
        createCausalSessions({
          router,
          store: redis ? createRedisTokenStore({ client: redis.client() }) : createMemoryTokenStore(),
          onStoreError: (error) => log.warn({ err: error }, 'causal token store failed: reading from the primary'),
        }),
      )
    : singleNodeDb(pool);
  // cache: look-ups of users and of a chat's participants; in memory, plus Redis (shared L2, and
  // a bus so an invalidation on one instance reaches every other) in cluster mode.
  const cache = createCache({
    ttlMs: 60_000,
    prefix: 'chat:',
    telemetry,
    ...(redis
      ? {
          l2: createRedisTier({ client: redis.client(), prefix: 'switchboard-chat' }),
          bus: createRedisBus({ publisher: redis.client(), subscriber: redis.subscriber(), sharded: redis.sharded }),
        }
      : {}),
  });
  const users = createUsers({ db, auth, cache });
  const onEnqueued = () => relay.wake();
  const auditAdminAccess = createAdminAudit(rbac);
  const chats = createChats({ db, rbac, paginator: chatsPaginator, cache, outbox, onEnqueued, auditAdminAccess });
  const invitations = createInvitations({ db, rbac, cache, outbox, onEnqueued });
  const consent = createConsent({ db });
  const messages = createMessages({
    db,
    rbac,
    paginator: messagesPaginator,
    outbox,
    onEnqueued,
    events,
    auditAdminAccess,
  });
  const subscriptions = createSubscriptions({
    db,
    rbac,
    auditAdminAccess,
    paginator: messagesPaginator,
    events,
    outbox,
    maxPerUser: limits.subscriptionsPerUser,
    log,
  });
  // A revoked session (logout, revokeSession, sign out everywhere, refresh-token reuse; made on
  // any instance) loses its open streams here at once, not at their next event.
  const stopEndingStreams = auth.onSessionRevoked(({ sessionId }) => subscriptions.endSession(sessionId));
  const sessions = createSessionControl(auth);
  const cleanup = scheduleAuthCleanup({ pool, auth, log, intervalMs: options.auth?.cleanupIntervalMs ?? 600_000 });

  // ratelimit: in memory for one instance, in Redis for many; one all-or-nothing check per message.
  const limitStore = redis ? createRedisStore({ client: redis.client(), telemetry }) : createMemoryStore({ telemetry });
  const hour = 3_600_000;
  // While Redis is unreachable (a failover), message limits fall back to a memory limiter per
  // instance with the limit split between instances; auth limits refuse (the safe side).
  const messageLimitFallback = redis ? { onStoreError: { insurance: { instances: limits.instances } } } : {};
  const limitLogger = {
    warn: (message: string, details?: Record<string, unknown>) => log.warn(details ?? {}, message),
  };
  const limiter = (
    prefix: string,
    algorithm: Algorithm,
    extra: Pick<RateLimiterOptions, 'onStoreError' | 'hashTag'> = {},
  ) => createRateLimiter({ store: limitStore, logger: limitLogger, ...extra, prefix, algorithm });
  // A message's two limits are one all-or-nothing script; on a Redis Cluster their keys (`userId`,
  // `userId:chatId`) must then share a slot: both are tagged by the user.
  const byUser = { hashTag: (key: string) => key.split(':')[0] ?? key };
  const perUser = limiter('msg-user', slidingWindowCounter({ limit: limits.messagesPerHour, windowMs: hour }), {
    ...messageLimitFallback,
    ...byUser,
  });
  const perUserPerChat = limiter(
    'msg-chat',
    slidingWindowCounter({ limit: limits.messagesPerChatPerHour, windowMs: hour }),
    { ...messageLimitFallback, ...byUser },
  );
  // A login's four limits (address, address + username, username, device) are one all-or-nothing
  // script; on a Redis Cluster their keys cannot share a natural slot, so every auth limit is
  // tagged 'auth': one slot (one master) takes all auth checks. Sign-ins and refreshes are a few
  // per user per hour, far from what one master answers; split them if that ever changes.
  const authSlot = { hashTag: () => 'auth' };
  const authPerIp = limiter(
    'auth-ip',
    slidingWindowCounter({ limit: limits.authPerIpPerMinute, windowMs: 60_000 }),
    authSlot,
  );
  // Guessing one account's password: a few tries per client address per window, and a higher
  // ceiling from all addresses together. Keyed by address first, so a stranger cannot lock the
  // owner out with bad tries of their own.
  const loginWindowMs = limits.loginWindowMinutes * 60_000;
  const loginPerUsernameAndIp = limiter(
    'login-user-ip',
    fixedWindow({ limit: limits.loginAttemptsPerIpPerUsername, windowMs: loginWindowMs }),
    authSlot,
  );
  const loginPerUsername = limiter(
    'login-user',
    fixedWindow({ limit: limits.loginAttemptsPerUsername, windowMs: loginWindowMs }),
    authSlot,
  );
  // A device the user logged in from before (one of their device tokens) is exempt from both
  // per-username limits, which strangers can exhaust from enough addresses: it gets as many
  // attempts as one address instead, keyed by the token, and the token itself dies after five
  // wrong passwords (users.ts). A token that is not this user's changes nothing.
  const loginPerDevice = limiter(
    'login-device',
    fixedWindow({ limit: limits.loginAttemptsPerIpPerUsername, windowMs: loginWindowMs }),
    authSlot,
  );
  const knownDevice = createKnownDeviceCheck({ pool, auth });
  // Every other write a user can repeat (chats, invitations, edits, read marks): generous, but
  // bounded; typing notices per second per chat (one by default).
  const actionsPerUser = limiter(
    'actions-user',
    slidingWindowCounter({ limit: limits.actionsPerHour, windowMs: hour }),
    messageLimitFallback,
  );
  const typingPerUserPerChat = limiter(
    'typing',
    fixedWindow({ limit: limits.typingPerChatPerSecond, windowMs: 1_000 }),
    messageLimitFallback,
  );
  // Every operation of any kind, once, by its cost (fields × list sizes): signed-in users per
  // user, others per network. Events of a subscription are free; starting one is charged.
  const operationsPerMinute = limits.operationsPerMinute ?? DEFAULT_OPERATIONS_PER_MINUTE;
  const operations = limiter(
    'ops',
    tokenBucket({ capacity: operationsPerMinute, refillPerSecond: operationsPerMinute / 60 }),
    messageLimitFallback,
  );
  const userKey = ({ context }: { context: ChatContext }) => context.principal?.userId ?? null;
  // Per network, not per address: an IPv6 client can take a fresh address from its /56 (or
  // larger) block for every request; IPv4-mapped addresses count as the IPv4 client.
  const clientKey = ({ context }: { context: ChatContext }) => ipKey(context.ip);

  const ops = createOps({ pool, outbox, cache, router, redis: redis?.client(), subscriptions: subscriptions.active });

  const hardened = hardenedYogaOptions();
  const maskError = createMaskError();
  const yoga = createYoga<Record<string, unknown>, RequestFacts>({
    schema: makeExecutableSchema({
      typeDefs,
      resolvers: createResolvers({ users, sessions, chats, messages, subscriptions, consent, invitations }),
    }),
    graphqlEndpoint: '/graphql',
    maxRequestBodySize: hardened.maxRequestBodySize,
    batching: false,
    // CORS is answered by server.ts from CORS_ORIGINS, for HTTP and WebSocket alike; yoga's
    // default would reflect any origin, with credentials.
    cors: false,
    graphiql: options.graphiql ?? true,
    maskedErrors: { maskError },
    logging: {
      debug: (...args) => log.debug(args.map(String).join(' ')),
      info: (...args) => log.info(args.map(String).join(' ')),
      warn: (...args) => log.warn(args.map(String).join(' ')),
      // yoga reports every GraphQL error here, client mistakes included; server faults are on
      // their operation's line already (useRequestLogging), with their stack.
      error: (...args) => log.debug(args.map(String).join(' ')),
    },
    // The node adapter passes Node's request as `req`: the socket address is the client (no proxy
    // in front in this example; behind one, read the forwarded address it sets instead).
    context: (initial): RequestFacts => ({
      ip: (initial as { req?: IncomingMessage }).req?.socket.remoteAddress ?? 'unknown',
      userAgent: initial.request.headers.get('user-agent') ?? undefined,
    }),
    plugins: [
      ...operationLogging(log, maskError, telemetry),
      ops.plugin,
      // Refuses GraphQL requests a browser could send cross-site without a preflight.
      useCSRFPrevention(),
      ...hardened.plugins,
      ...((options.graphiql ?? true) ? [] : [refuseIntrospection]),
      useAuth({ auth }),
      logUser,
      useOperationRateLimit<ChatContext>({
        limiter: operations,
        key: (context) => (context.principal ? `user:${context.principal.userId}` : `ip:${ipKey(context.ip)}`),
      }),
      useRateLimit<ChatContext>({
        rules: {
          'Mutation.sendMessage': [
            { limiter: perUser, key: userKey },
            {
              limiter: perUserPerChat,
              key: ({ context, args }) => {
                const chatId = sendMessageChatId(args.input);
                return context.principal && chatId ? `${context.principal.userId}:${chatId}` : null;
              },
            },
          ],
          'Mutation.register': { limiter: authPerIp, key: clientKey },
          'Mutation.refreshToken': { limiter: authPerIp, key: clientKey },
          'Mutation.login': [
            { limiter: authPerIp, key: clientKey },
            {
              limiter: loginPerUsernameAndIp,
              key: async (rule) => {
                const username = loginName(rule.args);
                if (username === null || (await knownDevice(rule))) return null;
                return `${ipKey(rule.context.ip)}:${username}`;
              },
            },
            {
              limiter: loginPerUsername,
              key: async (rule) => {
                const username = loginName(rule.args);
                return username === null || (await knownDevice(rule)) ? null : username;
              },
            },
            { limiter: loginPerDevice, key: knownDevice },
          ],
          'Mutation.logout': { limiter: authPerIp, key: clientKey },
          'Mutation.revokeSession': { limiter: actionsPerUser, key: userKey },
          'Mutation.revokeAllSessions': { limiter: actionsPerUser, key: userKey },
          'Mutation.createChat': { limiter: actionsPerUser, key: userKey },
          'Mutation.addParticipant': { limiter: actionsPerUser, key: userKey },
          'Mutation.removeParticipant': { limiter: actionsPerUser, key: userKey },
          'Mutation.editMessage': { limiter: actionsPerUser, key: userKey },
          'Mutation.deleteMessage': { limiter: actionsPerUser, key: userKey },
          'Mutation.markRead': { limiter: actionsPerUser, key: userKey },
          'Mutation.deleteChat': { limiter: actionsPerUser, key: userKey },
          'Mutation.blockUser': { limiter: actionsPerUser, key: userKey },
          'Mutation.unblockUser': { limiter: actionsPerUser, key: userKey },
          'Mutation.updateSettings': { limiter: actionsPerUser, key: userKey },
          'Mutation.acceptInvitation': { limiter: actionsPerUser, key: userKey },
          'Mutation.declineInvitation': { limiter: actionsPerUser, key: userKey },
          'Mutation.typing': {
            limiter: typingPerUserPerChat,
            key: ({ context, args }) => {
              const chatId = canonicalId(args.chatId);
              return context.principal && chatId ? `${context.principal.userId}:${chatId}` : null;
            },
          },
        },
      }),
    ],
  });

  await relay.start();
  return {
    yoga,
    routes: {
      '/ready': async (_request, response) => {
        const report = await ops.ready();
        response.writeHead(report.ready ? 200 : 503, { 'content-type': 'application/json' });
        response.end(JSON.stringify(report));
      },
      '/metrics': async (_request, response) => {
        const { contentType, body } = await ops.metrics();
        response.writeHead(200, { 'content-type': contentType });
        response.end(body);
      },
    },
    close: async () => {
      await cleanup.stop();
      stopEndingStreams();
      await auth.close();
      await relay.stop();
      await cache.close();
      rbac.close();
      await router?.close();
    },
  };
}

/** What `createServerLogger` takes of the configuration (`LOG_LEVEL`, `LOG_FORMAT`, `NODE_ENV`). */
export interface ServerLoggerOptions {
  level: string;
  /** `ecs` (the default) or `pino` (for pino-pretty). */
  format?: 'ecs' | 'pino';
  /** `service.environment`: `production`, `development`... */
  environment: string;
  /** `trace.id` / `span.id` on every line written while a span is active. @default false */
  telemetry?: boolean;
}

/**
 * The server's logger: @switchboard/logging's ECS lines (`service.name` chat-server, this
 * package's version), the log context on every line, its default redaction of passwords, tokens
 * and authorization headers, plus an `authorization` field at the top of a line or one level down
 * (graphql-ws `connectionParams`). Lines go to stdout unless `destination` says otherwise (tests
 * collect them).
 */
export function createServerLogger(
  options: ServerLoggerOptions,
  destination?: Parameters<typeof createLogger>[1],
): Logger {
  return createLogger(
    {
      serviceName: 'chat-server',
      serviceVersion: packageJson.version,
      environment: options.environment,
      level: options.level,
      format: options.format ?? 'ecs',
      redact: ['authorization', '*.authorization'],
      telemetry: options.telemetry ?? false,
    },
    destination,
  );
}

/**
 * The log context and one line per GraphQL operation (`useRequestLogging` from
 * @switchboard/logging), over HTTP, SSE and graphql-ws alike. Its errors are classified as the
 * client is answered (`maskError`, the server's own mask): client mistakes (codes below 500) at
 * `info`; an outage the server answers with a code of its own and a 5xx status
 * (`DATABASE_UNAVAILABLE`, `BUSY`) at `warn`, without a stack; a server fault (the mask keeps its
 * cause, see `createMaskError`) at `error`, once, with that cause and its stack. With `telemetry`,
 * each operation is a span, the parent of the packages' spans. Register first: every later plugin
 * runs in the operation's context.
 */
export function operationLogging(log: Logger, maskError: MaskError, telemetry = false): Plugin[] {
  return [useRequestLogging({ logger: log, maskError, telemetry })];
}

/** After `useAuth`: the caller's user id on every later line of the operation (`user.id`). */
const logUser: Plugin<ChatContext> = {
  onContextBuilding:
    () =>
    ({ context }) => {
      const userId = context.principal?.userId;
      if (userId) setLogContext({ userId });
    },
};

/** Without GraphiQL, `__schema` and `__type` are refused as validation errors: the schema stays unlisted. */
const refuseIntrospection: Plugin = {
  onValidate: ({ addValidationRule }) => addValidationRule(NoSchemaIntrospectionCustomRule),
};

/** The id as the schemas will read it (trimmed, lowercased), so a limit cannot be dodged by spelling it differently. */
function canonicalId(raw: unknown): string | null {
  const parsed = v.safeParse(uuidSchema, raw);
  return parsed.success ? parsed.output : null;
}

/**
 * The username as login reads it (`loginInput`: NFKC, trimmed, lowercase), so that a limit per
 * username cannot be dodged by spelling it differently (`ＡＬＩＣＥ` is `alice`). Null when login
 * would refuse it as input anyway (before any password check).
 */
function loginName(args: Record<string, unknown>): string | null {
  const parsed = v.safeParse(loginInput.entries.username, (args.input as { username?: unknown } | undefined)?.username);
  return parsed.success ? parsed.output : null;
}

/**
 * Whether a login presents a device token of the user it names: the token's SHA-256 (the key of
 * its own limit) if so, else null. Checked once per request (the login rules share the answer),
 * and only when a token is presented; an unknown username is asked about like a known one
 * (nobody's id), so the answer's timing tells nothing about which usernames exist.
 */
function createKnownDeviceCheck(deps: { pool: pg.Pool; auth: Auth }) {
  const checked = new WeakMap<object, Promise<string | null>>();
  const check = async (args: Record<string, unknown>): Promise<string | null> => {
    const token = (args.input as { deviceToken?: unknown } | undefined)?.deviceToken;
    const username = loginName(args);
    if (typeof token !== 'string' || token === '' || username === null) return null;
    const { rows } = await deps.pool.query<{ id: string }>('SELECT id FROM users WHERE lower(username) = $1', [
      username,
    ]);
    if (!(await deps.auth.verifyDeviceToken(token, rows[0]?.id ?? NOBODY))) return null;
    return createHash('sha256').update(token).digest('hex');
  };
  return ({ args, context }: RateLimitRuleContext<ChatContext>): Promise<string | null> => {
    let answer = checked.get(context);
    if (!answer) {
      answer = check(args);
      checked.set(context, answer);
    }
    return answer;
  };
}

/** Any key will do as long as every instance uses the same one (the migrations use another). */
const AUTH_CLEANUP_LOCK_KEY = 7_160_019_301;

/**
 * Runs `auth.cleanup()` every `intervalMs` (±25 %, so instances started together spread out),
 * on one instance at a time: a run that finds another instance's run under way (a Postgres
 * advisory lock) skips. Counts are logged at info, failures at warn; neither stops the schedule.
 */
function scheduleAuthCleanup(deps: { pool: pg.Pool; auth: Auth; log: Logger; intervalMs: number }): {
  stop(): Promise<void>;
} {
  const { pool, auth, log, intervalMs } = deps;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  const runOnce = async () => {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
        AUTH_CLEANUP_LOCK_KEY,
      ]);
      if (!rows[0]?.locked) {
        log.debug('auth cleanup: another instance is running it');
        return;
      }
      try {
        const { tokens, sessions } = await auth.cleanup();
        log.info({ tokens, sessions }, 'auth cleanup: expired refresh tokens and ended sessions deleted');
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [AUTH_CLEANUP_LOCK_KEY]);
      }
    } catch (error) {
      broken = error as Error;
      throw error;
    } finally {
      // A connection in doubt is dropped, taking any lock it still holds with it.
      client.release(broken);
    }
  };

  const next = () => {
    if (stopped) return;
    timer = setTimeout(
      () => {
        running = runOnce()
          .catch((error: unknown) => log.warn({ err: error }, 'auth cleanup failed; trying again at the next run'))
          .finally(() => {
            running = undefined;
            next();
          });
      },
      intervalMs * (0.75 + Math.random() * 0.5),
    );
    // The schedule alone must not keep a process alive.
    timer.unref();
  };
  next();

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

/**
 * The caller's sessions: listed, signed out one by id, or everywhere. @switchboard/auth refuses
 * a revoked session's access tokens on this instance before answering and announces it on the
 * revocation bus, from which every other instance refuses them and ends its streams (the store
 * poll finds it too, should the message be lost).
 */
function createSessionControl(auth: Auth): SessionControl {
  return {
    list: (userId) => auth.listSessions(userId),
    revoke: (userId, sessionId) =>
      typeof sessionId === 'string' && sessionId.length > 0 && sessionId.length <= 128
        ? auth.revokeSession(userId, sessionId)
        : Promise.resolve(false),
    async revokeAll(userId) {
      await auth.revokeAllSessions(userId);
    },
  };
}
