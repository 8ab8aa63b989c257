import pg from 'pg';
import { isConnectionError, isRecoveryConflict } from './connection-errors.ts';
import { InvalidCausalTokenError, RouterClosedError } from './errors.ts';
import { type LsnSample, pruneSamples, replicaLagMs } from './lag.ts';
import { formatLsn, lsnDistance, parseLsn } from './lsn.ts';
import { pickNode, pickReplayed, type RoutingPolicy } from './policies.ts';
import { decodeCausalToken, encodeCausalToken } from './token.ts';
import type { DbReader, ReadOptions, Row, Statement } from './types.ts';

/**
 * A database server: a connection string (the router creates and closes its pool), an existing
 * `pg.Pool` (yours: the router never closes it), or either with a `name` for stats and events.
 */
export type NodeSource =
  | string
  | pg.Pool
  | { name?: string; connectionString: string }
  | { name?: string; pool: pg.Pool };

/**
 * Where a node stands, as the last health check (or a failed read) saw it.
 * - `unknown`: not checked yet.
 * - `healthy`: answers, in its expected role; a replica within the lag limits (in rotation).
 * - `lagging`: a replica that answers but is more than `maxLagMs` / `maxLagBytes` behind.
 * - `down`: the check failed or timed out, or a read failed with a connection error.
 * - `promoted`: a "replica" that is no longer in recovery (promoted): its data may diverge
 *   from the primary the router writes to, so it serves nothing.
 * - `in-recovery`: the "primary" is a standby (failed over elsewhere): writes to it fail.
 */
export type NodeState = 'unknown' | 'healthy' | 'lagging' | 'down' | 'promoted' | 'in-recovery';

/** One node in `router.stats()`. */
export interface NodeStats {
  name: string;
  role: 'primary' | 'replica';
  state: NodeState;
  /** True when the node may serve reads (replica in rotation, or primary answering). */
  healthy: boolean;
  /** Replicas: how stale, in ms, at the last check (`null` before one succeeded). */
  lagMs: number | null;
  /** Replicas: bytes of WAL behind the primary at the last check. */
  lagBytes: number | null;
  /** Replicas: the last replayed WAL position known (`16/B374D848`); primary: its current one. */
  lsn: string | null;
  /** Queries running on this node through the router right now. */
  inFlight: number;
  /** Queries completed successfully through the router. */
  queries: number;
  /** Queries that failed (any error). */
  errors: number;
  /** `Date.now()` of the last health check, `null` before the first. */
  lastCheckAt: number | null;
  /** Message of the error that last took the node out, `null` when none. */
  lastError: string | null;
}

/** Everything `router.stats()` reports. */
export interface DbRouterStats {
  primary: NodeStats;
  replicas: NodeStats[];
  reads: {
    /** Reads started through `read` / readers. */
    total: number;
    /** Reads answered by a replica (after a retry included). */
    onReplicas: number;
    /** Reads answered by the primary, for any reason. */
    onPrimary: number;
    /** Reads sent to the primary because no replica was in rotation. */
    noReplicaAvailable: number;
    /** Reads with a token that no replica in rotation had replayed (sent to the primary). */
    tokenNotReached: number;
    /** Extra round trips spent asking a replica whether it had replayed a token. */
    tokenProbes: number;
    /** Reads run a second time on another node after a connection error. */
    retried: number;
    /** Reads that failed (the error went to the caller). */
    failed: number;
  };
  /** Statements run through `write`. */
  writes: number;
  /** Health rounds completed. */
  healthRounds: number;
}

/** What the router tells a logger. Listener errors are swallowed: they never break routing. */
export type DbRouterEvent =
  | {
      type: 'node-state';
      node: string;
      role: 'primary' | 'replica';
      from: NodeState;
      to: NodeState;
      /** Why: `'health-check'`, `'read-error'`. */
      reason: 'health-check' | 'read-error';
      lagMs?: number;
      lagBytes?: number;
      error?: unknown;
    }
  | { type: 'read-retried'; from: string; to: string; error: unknown }
  | { type: 'invalid-token'; token: string };

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
}

/** The router `createDbRouter` resolves to. */
export interface DbRouter {
  /**
   * The primary's pool: writes, and transactions (`withTransaction(router.primary, ...)` of
   * @switchboard/tx). Call `captureToken()` after a commit on it for read-your-writes.
   */
  readonly primary: pg.Pool;
  /** Runs a statement on the primary. Never retried (it may not be idempotent). */
  write<R extends Row = Row>(statement: Statement, values?: readonly unknown[]): Promise<pg.QueryResult<R>>;
  /**
   * Runs a read on a replica in rotation (by the policy), or on the primary when the options
   * or the cluster's state require it. A connection error is retried once on another node;
   * statement errors (syntax, constraint, 25006 read-only) are never retried.
   */
  read<R extends Row = Row>(
    statement: Statement,
    values?: readonly unknown[],
    options?: ReadOptions,
  ): Promise<pg.QueryResult<R>>;
  /** A `{ query(text, values) }` that routes every query like `read(text, values, options)`. */
  reader(options?: ReadOptions): DbReader;
  /**
   * A causal token for everything committed so far on the primary (its `pg_current_wal_lsn()`):
   * reads with it see those commits. Call it after a commit; safe to put in a header or cookie.
   */
  captureToken(): Promise<string>;
  /** A snapshot of every node and the routing counters. */
  stats(): DbRouterStats;
  /** Runs a health round now (normally they run in the background) and resolves when done. */
  checkHealth(): Promise<void>;
  /** Stops health checks, waits for running queries, closes the pools the router created. */
  close(): Promise<void>;
}

interface RouterNode {
  readonly name: string;
  readonly role: 'primary' | 'replica';
  readonly pool: pg.Pool;
  readonly owned: boolean;
  readonly clientConfig: pg.ClientConfig;
  state: NodeState;
  inFlight: number;
  queries: number;
  errors: number;
  lagMs: number | null;
  lagBytes: number | null;
  lsn: bigint | undefined;
  /** Monotonic time at which the query that produced `lsn` started: newer observations win. */
  lsnObservedAt: number;
  /** Monotonic time a read marked the node down: checks started before it cannot bring it back. */
  downAt: number;
  lastCheckAt: number | null;
  lastError: string | null;
  healthClient: pg.Client | undefined;
}

const PRIMARY_CHECK = `SELECT pg_is_in_recovery() AS in_recovery,
  CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END AS lsn`;

// Postgres' own staleness estimate, 0 when everything received is replayed: `now() -
// pg_last_xact_replay_timestamp()` alone keeps growing while the primary is idle.
const REPLICA_CHECK = `SELECT pg_is_in_recovery() AS in_recovery,
  pg_last_wal_replay_lsn()::text AS replay_lsn,
  CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
    ELSE (extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000)::float8 END AS estimate_ms`;

const REPLAY_LSN = 'SELECT pg_last_wal_replay_lsn()::text AS lsn';
const CURRENT_LSN = 'SELECT pg_current_wal_lsn()::text AS lsn';

const DEFAULT_POOL: pg.PoolConfig = { max: 10, connectionTimeoutMillis: 5_000 };

const now = () => performance.now();
const noop = () => {};

/**
 * Routes queries between a Postgres primary and its streaming replicas: health-checked,
 * lag-aware, with read-your-writes through causal tokens.
 *
 * Resolves once the first health round is done, so the very first read already knows which
 * replicas are up; an unreachable node never makes it reject (it starts `down`). Bad options
 * throw a `TypeError`.
 *
 * @example
 * const router = await createDbRouter({
 *   primary: process.env.DATABASE_URL,
 *   replicas: [process.env.REPLICA_1_URL, process.env.REPLICA_2_URL],
 * });
 * await router.write('INSERT INTO messages (chat_id, body) VALUES ($1, $2)', [chatId, body]);
 * const token = await router.captureToken();
 * const { rows } = await router.read('SELECT * FROM messages WHERE chat_id = $1', [chatId], { token });
 * await router.close();
 */
export function createDbRouter(options: DbRouterOptions): Promise<DbRouter> {
  const settings = resolveOptions(options);
  const names = new Set<string>();
  const primary = makeNode(options.primary, 'primary', 'primary', settings.pool, names);
  const replicas = settings.replicas.map((source, index) =>
    makeNode(source, 'replica', `replica-${index + 1}`, settings.pool, names),
  );
  const router = new Router(primary, replicas, settings, options.onEvent);
  return router.start().then(() => router.api);
}

interface Settings {
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
}

function resolveOptions(options: DbRouterOptions): Settings {
  if (typeof options !== 'object' || options === null) throw new TypeError('createDbRouter: options are required');
  if (options.primary === undefined) throw new TypeError('createDbRouter: `primary` is required');
  const replicas = options.replicas ?? [];
  if (!Array.isArray(replicas)) throw new TypeError('createDbRouter: `replicas` must be an array');
  const policy = options.policy ?? 'least-in-flight';
  if (policy !== 'round-robin' && policy !== 'least-in-flight') {
    throw new TypeError(`createDbRouter: \`policy\` must be 'round-robin' or 'least-in-flight', got ${String(policy)}`);
  }
  const invalidToken = options.invalidToken ?? 'primary';
  if (invalidToken !== 'primary' && invalidToken !== 'throw') {
    throw new TypeError(`createDbRouter: \`invalidToken\` must be 'primary' or 'throw', got ${String(invalidToken)}`);
  }
  if (options.onEvent !== undefined && typeof options.onEvent !== 'function') {
    throw new TypeError('createDbRouter: `onEvent` must be a function');
  }
  const maxLagBytes = options.maxLagBytes;
  if (maxLagBytes !== undefined) positive('maxLagBytes', maxLagBytes);
  const readTimeoutMs = options.readTimeoutMs;
  if (readTimeoutMs !== undefined) positive('readTimeoutMs', readTimeoutMs);
  return {
    replicas,
    policy,
    intervalMs: positive('healthCheck.intervalMs', options.healthCheck?.intervalMs ?? 1_000),
    timeoutMs: positive('healthCheck.timeoutMs', options.healthCheck?.timeoutMs ?? 1_000),
    maxLagMs: positive('maxLagMs', options.maxLagMs ?? 5_000),
    maxLagBytes,
    tokenWaitMs: nonNegative('tokenWaitMs', options.tokenWaitMs ?? 0),
    tokenPollMs: positive('tokenPollMs', options.tokenPollMs ?? 10),
    invalidToken,
    readTimeoutMs,
    pool: { ...DEFAULT_POOL, ...options.pool },
  };
}

function positive(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`createDbRouter: \`${name}\` must be a finite number > 0, got ${String(value)}`);
  }
  return value;
}

function nonNegative(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`createDbRouter: \`${name}\` must be a finite number >= 0, got ${String(value)}`);
  }
  return value;
}

function isPool(value: unknown): value is pg.Pool {
  const candidate = value as { query?: unknown; connect?: unknown; end?: unknown } | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.query === 'function' &&
    typeof candidate.connect === 'function' &&
    typeof candidate.end === 'function'
  );
}

function makeNode(
  source: NodeSource,
  role: 'primary' | 'replica',
  defaultName: string,
  poolConfig: pg.PoolConfig,
  names: Set<string>,
): RouterNode {
  let name = defaultName;
  let pool: pg.Pool | undefined;
  let connectionString: string | undefined;
  if (typeof source === 'string') connectionString = source;
  else if (isPool(source)) pool = source;
  else if (typeof source === 'object' && source !== null) {
    if ('name' in source && source.name !== undefined) {
      if (typeof source.name !== 'string' || source.name === '') {
        throw new TypeError(`createDbRouter: a node's \`name\` must be a non-empty string`);
      }
      name = source.name;
    }
    if ('pool' in source && isPool(source.pool)) pool = source.pool;
    else if ('connectionString' in source && typeof source.connectionString === 'string') {
      connectionString = source.connectionString;
    }
  }
  if (pool === undefined && (connectionString === undefined || connectionString === '')) {
    throw new TypeError(
      `createDbRouter: the ${defaultName} must be a connection string, a pg.Pool, or { name?, connectionString | pool }`,
    );
  }
  if (names.has(name)) throw new TypeError(`createDbRouter: two nodes are named ${JSON.stringify(name)}`);
  names.add(name);
  const owned = pool === undefined;
  const nodePool = pool ?? new pg.Pool({ ...poolConfig, connectionString });
  if (owned) {
    // An idle connection that dies (server killed) emits 'error' on the pool; without a
    // listener Node would crash. The pool drops that connection by itself.
    nodePool.on('error', noop);
  }
  const clientConfig: pg.ClientConfig = {
    ...(nodePool.options as pg.ClientConfig),
    application_name: (nodePool.options as pg.ClientConfig).application_name ?? 'switchboard-db-router-health',
  };
  return {
    name,
    role,
    pool: nodePool,
    owned,
    clientConfig,
    state: 'unknown',
    inFlight: 0,
    queries: 0,
    errors: 0,
    lagMs: null,
    lagBytes: null,
    lsn: undefined,
    lsnObservedAt: Number.NEGATIVE_INFINITY,
    downAt: Number.NEGATIVE_INFINITY,
    lastCheckAt: null,
    lastError: null,
    healthClient: undefined,
  };
}

type CheckResult = { ok: true; row: Record<string, unknown>; startedAt: number } | { ok: false; error: unknown };

/** A read's target constraint: `undefined` = any replica, a position = replicas that replayed it. */
type MinLsn = bigint | undefined;

class Router {
  readonly api: DbRouter;
  private readonly samples: LsnSample[] = [];
  /** Rotation of token-less reads. */
  private cursor = 0;
  /** Rotation of token reads and retries, apart so that they never skew the plain reads' turn. */
  private otherCursor = 0;
  private closed = false;
  private closing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private readonly counters = {
    total: 0,
    onReplicas: 0,
    onPrimary: 0,
    noReplicaAvailable: 0,
    tokenNotReached: 0,
    tokenProbes: 0,
    retried: 0,
    failed: 0,
  };
  private writes = 0;
  private healthRounds = 0;
  private readonly healthyReplica = (node: RouterNode) => node.state === 'healthy';

  constructor(
    private readonly primaryNode: RouterNode,
    private readonly replicas: readonly RouterNode[],
    private readonly settings: Settings,
    private readonly onEvent: ((event: DbRouterEvent) => void) | undefined,
  ) {
    this.api = {
      primary: primaryNode.pool,
      write: (statement, values) => this.write(statement, values),
      read: (statement, values, readOptions) => this.read(statement, values, readOptions),
      reader: (readOptions) => this.reader(readOptions),
      captureToken: () => this.captureToken(),
      stats: () => this.stats(),
      checkHealth: () => this.checkNow(),
      close: () => this.close(),
    };
  }

  async start(): Promise<void> {
    await this.checkNow();
  }

  // ---- queries

  private write<R extends Row>(statement: Statement, values?: readonly unknown[]): Promise<pg.QueryResult<R>> {
    if (this.closed) return Promise.reject(new RouterClosedError());
    this.writes++;
    return this.run<R>(this.primaryNode, statement, values);
  }

  private read<R extends Row>(
    statement: Statement,
    values: readonly unknown[] | undefined,
    options: ReadOptions | undefined,
  ): Promise<pg.QueryResult<R>> {
    if (this.closed) return Promise.reject(new RouterClosedError());
    this.counters.total++;
    if (options === undefined) return this.readAnywhere(statement, values);
    if (options.consistency === 'primary') return this.readOn<R>(this.primaryNode, statement, values, undefined);
    if (options.consistency !== undefined && options.consistency !== 'replica') {
      return Promise.reject(badConsistency(options.consistency));
    }
    const { token } = options;
    if (token === undefined || token === null || token === '') return this.readAnywhere(statement, values);
    const lsn = decodeCausalToken(token);
    if (lsn === undefined) {
      const rejected = this.invalidToken(token);
      if (rejected) return Promise.reject(rejected);
      return this.readOn<R>(this.primaryNode, statement, values, undefined);
    }
    return this.readAfter<R>(lsn, statement, values);
  }

  private reader(options: ReadOptions = {}): DbReader {
    if (options.consistency !== undefined && options.consistency !== 'replica' && options.consistency !== 'primary') {
      throw badConsistency(options.consistency);
    }
    if (options.consistency === 'primary') {
      return { query: (statement, values) => this.read(statement, values, PRIMARY_ONLY) };
    }
    const { token } = options;
    if (token === undefined || token === null || token === '') {
      return { query: (statement, values) => this.read(statement, values, undefined) };
    }
    if (decodeCausalToken(token) === undefined) {
      // Reported (or thrown) once, now, rather than on every query of the reader.
      const rejected = this.invalidToken(token);
      if (rejected) throw rejected;
      return { query: (statement, values) => this.read(statement, values, PRIMARY_ONLY) };
    }
    // Parsed once for the reader's lifetime, not per query.
    const lsn = decodeCausalToken(token) as bigint;
    return {
      query: (statement, values) => {
        if (this.closed) return Promise.reject(new RouterClosedError());
        this.counters.total++;
        return this.readAfter(lsn, statement, values);
      },
    };
  }

  /** Emits the event; returns the error to throw when the policy is `'throw'`. */
  private invalidToken(token: unknown): InvalidCausalTokenError | undefined {
    const error = new InvalidCausalTokenError(token);
    if (this.settings.invalidToken === 'throw') return error;
    this.emit({ type: 'invalid-token', token: error.token });
    return undefined;
  }

  private readAnywhere<R extends Row>(statement: Statement, values?: readonly unknown[]): Promise<pg.QueryResult<R>> {
    const replica = pickNode(this.settings.policy, this.replicas, this.cursor++, this.healthyReplica);
    if (replica === undefined) {
      if (this.replicas.length > 0) this.counters.noReplicaAvailable++;
      return this.readOn<R>(this.primaryNode, statement, values, undefined);
    }
    return this.readOn<R>(replica, statement, values, undefined);
  }

  private readAfter<R extends Row>(
    lsn: bigint,
    statement: Statement,
    values?: readonly unknown[],
  ): Promise<pg.QueryResult<R>> {
    const known = pickReplayed(this.settings.policy, this.replicas, this.otherCursor++, lsn);
    if (known) return this.readOn<R>(known, statement, values, lsn);
    return this.readAfterProbe<R>(lsn, statement, values);
  }

  private async readAfterProbe<R extends Row>(
    lsn: bigint,
    statement: Statement,
    values?: readonly unknown[],
  ): Promise<pg.QueryResult<R>> {
    // Not known to be reached yet: ask the most advanced replica in rotation (replay positions
    // only move forward, so once it says yes any of its connections will do).
    const candidate = this.mostAdvancedReplica();
    if (candidate) {
      const deadline = now() + this.settings.tokenWaitMs;
      for (;;) {
        const probed = await this.probe(candidate);
        if (probed === undefined) break;
        if (probed >= lsn) return this.readOn<R>(candidate, statement, values, lsn);
        const left = deadline - now();
        if (left <= 0 || this.closed) break;
        await sleep(Math.min(this.settings.tokenPollMs, left));
        if (candidate.state !== 'healthy') break;
      }
    }
    this.counters.tokenNotReached++;
    return this.readOn<R>(this.primaryNode, statement, values, lsn);
  }

  private mostAdvancedReplica(): RouterNode | undefined {
    let best: RouterNode | undefined;
    for (const node of this.replicas) {
      if (node.state !== 'healthy') continue;
      if (best === undefined || (node.lsn ?? -1n) > (best.lsn ?? -1n)) best = node;
    }
    return best;
  }

  /** The replica's replay position now, or `undefined` if it could not tell (it is then `down`). */
  private async probe(node: RouterNode): Promise<bigint | undefined> {
    this.counters.tokenProbes++;
    const startedAt = now();
    try {
      // Bounded like a health check: a frozen replica must not hold a token read.
      const result = await node.pool.query<{ lsn: string | null }>(
        withTimeout(REPLAY_LSN, undefined, this.settings.timeoutMs),
      );
      const lsn = parseLsn(result.rows[0]?.lsn);
      if (lsn !== undefined) this.observeLsn(node, lsn, startedAt);
      return lsn;
    } catch (error) {
      if (isConnectionError(error)) this.markDown(node, error);
      return undefined;
    }
  }

  private observeLsn(node: RouterNode, lsn: bigint, startedAt: number): void {
    if (startedAt >= node.lsnObservedAt) {
      node.lsn = lsn;
      node.lsnObservedAt = startedAt;
    }
  }

  /** Runs a read on `node`; on a connection error (or a replica's recovery conflict), once more elsewhere. */
  private readOn<R extends Row>(
    node: RouterNode,
    statement: Statement,
    values: readonly unknown[] | undefined,
    minLsn: MinLsn,
  ): Promise<pg.QueryResult<R>> {
    return this.attempt<R>(node, statement, values, minLsn, true);
  }

  /** One read on one node, counted. One `.then` per read: this is the hot path the benchmark measures. */
  private attempt<R extends Row>(
    node: RouterNode,
    statement: Statement,
    values: readonly unknown[] | undefined,
    minLsn: MinLsn,
    mayRetry: boolean,
  ): Promise<pg.QueryResult<R>> {
    node.inFlight++;
    const { readTimeoutMs } = this.settings;
    const sent =
      readTimeoutMs === undefined
        ? node.pool.query<R>(statement as pg.QueryConfig, values as unknown[] | undefined)
        : node.pool.query<R>(withTimeout(statement, values, readTimeoutMs));
    return sent.then(
      (result) => {
        node.inFlight--;
        node.queries++;
        if (node.role === 'replica') this.counters.onReplicas++;
        else this.counters.onPrimary++;
        return result;
      },
      (error: unknown) => {
        node.inFlight--;
        node.errors++;
        return this.afterFailure<R>(node, statement, values, minLsn, mayRetry, error);
      },
    );
  }

  private afterFailure<R extends Row>(
    node: RouterNode,
    statement: Statement,
    values: readonly unknown[] | undefined,
    minLsn: MinLsn,
    mayRetry: boolean,
    error: unknown,
  ): Promise<pg.QueryResult<R>> {
    const connectionLost = isConnectionError(error);
    if (connectionLost && node.role === 'replica') this.markDown(node, error);
    const retryable = connectionLost || (node.role === 'replica' && isRecoveryConflict(error));
    const next = mayRetry && retryable ? this.retryTarget(node, minLsn) : undefined;
    if (next === undefined) {
      this.counters.failed++;
      throw error;
    }
    this.counters.retried++;
    this.emit({ type: 'read-retried', from: node.name, to: next.name, error });
    return this.attempt<R>(next, statement, values, minLsn, false);
  }

  /** Where a failed read runs again: another replica in rotation that has the token, else the primary. */
  private retryTarget(failed: RouterNode, minLsn: MinLsn): RouterNode | undefined {
    // A read that was on the primary stays there: it may have been a `consistency: 'primary'` read.
    if (failed === this.primaryNode) return undefined;
    const other = pickNode(
      this.settings.policy,
      this.replicas,
      this.otherCursor++,
      (node) =>
        node !== failed &&
        node.state === 'healthy' &&
        (minLsn === undefined || (node.lsn !== undefined && node.lsn >= minLsn)),
    );
    return other ?? this.primaryNode;
  }

  /** A statement on `node`, counted in its stats (writes, token capture). */
  private run<R extends Row>(
    node: RouterNode,
    statement: Statement,
    values: readonly unknown[] | undefined,
  ): Promise<pg.QueryResult<R>> {
    node.inFlight++;
    return node.pool.query<R>(statement as pg.QueryConfig, values as unknown[] | undefined).then(
      (result) => {
        node.inFlight--;
        node.queries++;
        return result;
      },
      (error: unknown) => {
        node.inFlight--;
        node.errors++;
        throw error;
      },
    );
  }

  private turnCapture: Promise<string> | undefined;

  /**
   * Callers of one event-loop turn share one look-up, sent once the turn ends: every one of them
   * called after its commit returned, so the LSN it reads covers all their commits. A caller
   * after the look-up was sent starts the next one (it cannot share a reading taken before it).
   */
  private captureToken(): Promise<string> {
    if (this.closed) return Promise.reject(new RouterClosedError());
    if (this.turnCapture === undefined) {
      this.turnCapture = new Promise<void>((resolve) => process.nextTick(resolve)).then(() => {
        this.turnCapture = undefined;
        return this.captureNow();
      });
    }
    return this.turnCapture;
  }

  private async captureNow(): Promise<string> {
    if (this.closed) throw new RouterClosedError();
    const result = await this.run<{ lsn: string | null }>(this.primaryNode, CURRENT_LSN, undefined);
    const lsn = parseLsn(result.rows[0]?.lsn);
    if (lsn === undefined) throw new Error(`pg_current_wal_lsn() returned ${String(result.rows[0]?.lsn)}`);
    return encodeCausalToken(lsn);
  }

  // ---- health

  private checkNow(): Promise<void> {
    if (this.closed) return Promise.resolve();
    // Rounds never overlap: a manual check joins the running one, then runs its own.
    const previous = this.round ?? Promise.resolve();
    const round = previous.then(() => this.healthRound());
    this.round = round;
    return round;
  }

  private schedule(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      void this.checkNow();
    }, this.settings.intervalMs);
    // Background checks alone never keep the process alive.
    this.timer.unref();
  }

  private async healthRound(): Promise<void> {
    if (this.closed) return;
    try {
      const primaryResult = await this.check(this.primaryNode, PRIMARY_CHECK);
      if (this.closed) return;
      this.applyPrimary(primaryResult);
      const results = await Promise.all(this.replicas.map((node) => this.check(node, REPLICA_CHECK)));
      if (this.closed) return;
      const at = now();
      this.replicas.forEach((node, index) => {
        this.applyReplica(node, results[index] as CheckResult, at);
      });
      this.healthRounds++;
    } finally {
      this.schedule();
    }
  }

  private applyPrimary(result: CheckResult): void {
    const node = this.primaryNode;
    node.lastCheckAt = Date.now();
    if (!result.ok) {
      this.setState(node, 'down', 'health-check', { error: result.error });
      return;
    }
    if (result.row.in_recovery === true) {
      this.setState(node, 'in-recovery', 'health-check', {});
      return;
    }
    const lsn = parseLsn(result.row.lsn as string | null);
    if (lsn !== undefined) {
      const at = now();
      this.observeLsn(node, lsn, result.startedAt);
      this.samples.push({ at, lsn });
      pruneSamples(this.samples, this.settings.maxLagMs + this.settings.intervalMs, at);
    }
    node.lastError = null;
    this.setState(node, 'healthy', 'health-check', {});
  }

  private applyReplica(node: RouterNode, result: CheckResult, at: number): void {
    node.lastCheckAt = Date.now();
    if (!result.ok) {
      this.setState(node, 'down', 'health-check', { error: result.error });
      return;
    }
    if (result.row.in_recovery !== true) {
      node.lastError = 'not in recovery (promoted): its data may diverge from the primary';
      this.setState(node, 'promoted', 'health-check', {});
      return;
    }
    const replayLsn = parseLsn(result.row.replay_lsn as string | null);
    if (replayLsn === undefined) {
      this.setState(node, 'down', 'health-check', { error: new Error('replica reports no replay position') });
      return;
    }
    this.observeLsn(node, replayLsn, result.startedAt);
    const estimate = typeof result.row.estimate_ms === 'number' ? result.row.estimate_ms : null;
    const lagMs = Math.round(replicaLagMs(this.samples, replayLsn, estimate, at));
    const newest = this.samples[this.samples.length - 1];
    const lagBytes = newest ? lsnDistance(replayLsn, newest.lsn) : 0;
    node.lagMs = lagMs;
    node.lagBytes = lagBytes;
    const { maxLagMs, maxLagBytes } = this.settings;
    if (lagMs > maxLagMs || (maxLagBytes !== undefined && lagBytes > maxLagBytes)) {
      node.lastError = `lag ${lagMs} ms / ${lagBytes} bytes`;
      this.setState(node, 'lagging', 'health-check', { lagMs, lagBytes });
      return;
    }
    // A read saw a connection error after this check started: wait for a check that started later.
    if (node.state === 'down' && node.downAt > result.startedAt) return;
    node.lastError = null;
    this.setState(node, 'healthy', 'health-check', { lagMs, lagBytes });
  }

  private markDown(node: RouterNode, error: unknown): void {
    node.downAt = now();
    this.setState(node, 'down', 'read-error', { error });
  }

  private setState(
    node: RouterNode,
    to: NodeState,
    reason: 'health-check' | 'read-error',
    details: { error?: unknown; lagMs?: number; lagBytes?: number },
  ): void {
    if (details.error !== undefined) node.lastError = errorMessage(details.error);
    const from = node.state;
    if (from === to) return;
    node.state = to;
    this.emit({ type: 'node-state', node: node.name, role: node.role, from, to, reason, ...details });
  }

  private async check(node: RouterNode, sql: string): Promise<CheckResult> {
    const startedAt = now();
    let timer: NodeJS.Timeout | undefined;
    const work = (async () => {
      let client = node.healthClient;
      if (client === undefined) {
        client = new pg.Client(node.clientConfig);
        client.on('error', noop);
        node.healthClient = client;
        await client.connect();
      }
      const result = await client.query(sql);
      return result.rows[0] as Record<string, unknown>;
    })();
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`health check timed out after ${this.settings.timeoutMs} ms`)),
        this.settings.timeoutMs,
      );
    });
    try {
      const row = await Promise.race([work, timeout]);
      return { ok: true, row, startedAt };
    } catch (error) {
      this.discardHealthClient(node);
      return { ok: false, error };
    } finally {
      clearTimeout(timer);
    }
  }

  private discardHealthClient(node: RouterNode): void {
    const client = node.healthClient;
    node.healthClient = undefined;
    if (client === undefined) return;
    // A paused server never answers the goodbye: drop the socket rather than wait for it.
    (client as unknown as { connection?: { stream?: { destroy?: () => void } } }).connection?.stream?.destroy?.();
    client.end().catch(noop);
  }

  // ---- stats, events, shutdown

  private stats(): DbRouterStats {
    return {
      primary: nodeStats(this.primaryNode),
      replicas: this.replicas.map(nodeStats),
      reads: { ...this.counters },
      writes: this.writes,
      healthRounds: this.healthRounds,
    };
  }

  private emit(event: DbRouterEvent): void {
    if (!this.onEvent) return;
    try {
      this.onEvent(event);
    } catch {
      // A failing logger must not break routing.
    }
  }

  private close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      clearTimeout(this.timer);
      await this.round?.catch(noop);
      const nodes = [this.primaryNode, ...this.replicas];
      for (const node of nodes) this.discardHealthClient(node);
      await Promise.all(nodes.filter((node) => node.owned).map((node) => node.pool.end()));
    })();
    return this.closing;
  }
}

const PRIMARY_ONLY: ReadOptions = { consistency: 'primary' };

function nodeStats(node: RouterNode): NodeStats {
  return {
    name: node.name,
    role: node.role,
    state: node.state,
    healthy: node.state === 'healthy',
    lagMs: node.role === 'replica' ? node.lagMs : null,
    lagBytes: node.role === 'replica' ? node.lagBytes : null,
    lsn: node.lsn === undefined ? null : formatLsn(node.lsn),
    inFlight: node.inFlight,
    queries: node.queries,
    errors: node.errors,
    lastCheckAt: node.lastCheckAt,
    lastError: node.lastError,
  };
}

/** The statement as a query config with node-postgres' per-query `query_timeout`. */
function withTimeout(statement: Statement, values: readonly unknown[] | undefined, timeoutMs: number): pg.QueryConfig {
  const config: pg.QueryConfig & { query_timeout: number } =
    typeof statement === 'string'
      ? { text: statement, query_timeout: timeoutMs }
      : { ...statement, query_timeout: timeoutMs };
  if (values !== undefined) config.values = values as unknown[];
  return config;
}

function badConsistency(value: unknown): TypeError {
  return new TypeError(`consistency must be 'replica' or 'primary', got ${String(value)}`);
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
