import { type OpenTelemetryApi, resolveTelemetry, wholeNumberOption } from '@switchboard/hot-path';
import type * as pg from 'pg';
import type { DbRouterEvent } from './cluster.ts';
import type { RoutingPolicy } from './policies.ts';
import type { Telemetry } from './tracing.ts';

/**
 * A database server: a connection string (the router creates and closes its pool), an existing
 * `pg.Pool` (yours: the router never closes it), or either with a `name` for stats and events.
 */
export type NodeSource =
  | string
  | pg.Pool
  | { name?: string; connectionString: string }
  | { name?: string; pool: pg.Pool };

/** Options of `createDbRouter`. */
export interface DbRouterOptions {
  /** The primary: every write, `consistency: 'primary'` reads, and reads no replica can serve. */
  primary: NodeSource;
  /** Streaming replicas of the primary. @default [] (every read goes to the primary) */
  replicas?: readonly NodeSource[];
  /** How reads are spread over replicas in rotation. @default 'least-in-flight' */
  policy?: RoutingPolicy;
  healthCheck?: {
    /** Pause between two health rounds (ms). @default 1000 */
    intervalMs?: number;
    /** A node that does not answer its check within this (ms) is `down`. @default 1000 */
    timeoutMs?: number;
  };
  /** A replica staler than this (ms) leaves the rotation until it catches up. @default 5000 */
  maxLagMs?: number;
  /** A replica more than this many bytes of WAL behind leaves the rotation. @default off */
  maxLagBytes?: number;
  /**
   * When no replica in rotation is known to have replayed a read's token, the router asks the
   * most advanced one (one small query); if it has not, it asks again every `tokenPollMs` for up
   * to this long (ms) before sending the read to the primary. @default 0 (ask once, no wait)
   */
  tokenWaitMs?: number;
  /** Poll interval while waiting for a token (ms). @default 10 */
  tokenPollMs?: number;
  /**
   * A read whose token is malformed: `'primary'` sends it to the primary (it sees everything;
   * an `invalid-token` event is emitted), `'throw'` rejects with `InvalidCausalTokenError`.
   * @default 'primary'
   */
  invalidToken?: 'primary' | 'throw';
  /**
   * A read that has no answer after this long (ms, from when it is sent on a connection) fails
   * like a lost connection: the node leaves the rotation and the read runs once more elsewhere.
   * The one defence against a frozen server or a network black hole, where nothing errors. Set it
   * well above your slowest read. @default off
   */
  readTimeoutMs?: number;
  /**
   * `pg.Pool` options for the pools the router creates from connection strings (not for pools
   * you pass). @default { max: 10, connectionTimeoutMillis: 5000 }
   */
  pool?: Omit<pg.PoolConfig, 'connectionString'>;
  /** Receives state changes, retries and invalid tokens (for a logger or metrics). */
  onEvent?: (event: DbRouterEvent) => void;
  /**
   * OpenTelemetry: every query through the router (`read`, `write`, readers, `captureToken`) runs
   * in a `client` span with OpenTelemetry's database attributes and the node chosen; a retry is
   * an event on it, a wait for a token a child span. `true` for the global `@opentelemetry/api`
   * (an optional peer dependency), or the API object. @default false
   */
  telemetry?: Telemetry;
}

/** The options with every default applied and every value checked, once, before anything opens. */
export interface Settings {
  replicas: readonly NodeSource[];
  policy: RoutingPolicy;
  intervalMs: number;
  timeoutMs: number;
  maxLagMs: number;
  maxLagBytes: number | undefined;
  tokenWaitMs: number;
  tokenPollMs: number;
  invalidToken: 'primary' | 'throw';
  readTimeoutMs: number | undefined;
  pool: pg.PoolConfig;
  /** The OpenTelemetry API when `telemetry` is on. */
  telemetry: OpenTelemetryApi | undefined;
}

const OWNER = 'createDbRouter';
const DEFAULT_POOL: pg.PoolConfig = { max: 10, connectionTimeoutMillis: 5_000 };
const AT_LEAST_ONE = { min: 1 };

/** Checks `options` and applies the defaults; bad options throw a `TypeError` naming the option. */
export function resolveOptions(options: DbRouterOptions): Settings {
  if (typeof options !== 'object' || options === null) throw new TypeError(`${OWNER}: options are required`);
  if (options.primary === undefined) throw new TypeError(`${OWNER}: \`primary\` is required`);
  const replicas = options.replicas ?? [];
  if (!Array.isArray(replicas)) throw new TypeError(`${OWNER}: \`replicas\` must be an array`);
  const policy = options.policy ?? 'least-in-flight';
  if (policy !== 'round-robin' && policy !== 'least-in-flight') {
    throw new TypeError(`${OWNER}: \`policy\` must be 'round-robin' or 'least-in-flight', got ${String(policy)}`);
  }
  const invalidToken = options.invalidToken ?? 'primary';
  if (invalidToken !== 'primary' && invalidToken !== 'throw') {
    throw new TypeError(`${OWNER}: \`invalidToken\` must be 'primary' or 'throw', got ${String(invalidToken)}`);
  }
  if (options.onEvent !== undefined && typeof options.onEvent !== 'function') {
    throw new TypeError(`${OWNER}: \`onEvent\` must be a function`);
  }
  const { maxLagBytes, readTimeoutMs } = options;
  return {
    replicas,
    policy,
    intervalMs: wholeNumberOption(
      OWNER,
      'healthCheck.intervalMs',
      options.healthCheck?.intervalMs ?? 1_000,
      AT_LEAST_ONE,
    ),
    timeoutMs: wholeNumberOption(OWNER, 'healthCheck.timeoutMs', options.healthCheck?.timeoutMs ?? 1_000, AT_LEAST_ONE),
    maxLagMs: wholeNumberOption(OWNER, 'maxLagMs', options.maxLagMs ?? 5_000, AT_LEAST_ONE),
    maxLagBytes:
      maxLagBytes === undefined ? undefined : wholeNumberOption(OWNER, 'maxLagBytes', maxLagBytes, AT_LEAST_ONE),
    tokenWaitMs: wholeNumberOption(OWNER, 'tokenWaitMs', options.tokenWaitMs ?? 0, { min: 0 }),
    tokenPollMs: wholeNumberOption(OWNER, 'tokenPollMs', options.tokenPollMs ?? 10, AT_LEAST_ONE),
    invalidToken,
    readTimeoutMs:
      readTimeoutMs === undefined ? undefined : wholeNumberOption(OWNER, 'readTimeoutMs', readTimeoutMs, AT_LEAST_ONE),
    pool: { ...DEFAULT_POOL, ...options.pool },
    telemetry: resolveTelemetry(OWNER, options.telemetry),
  };
}
