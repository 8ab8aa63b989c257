import pg from 'pg';
import { formatLsn } from './lsn.ts';
import type { NodeSource } from './options.ts';
import type { Row, Statement } from './types.ts';

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

/** One server as the router tracks it: health checks write its state, reads and writes count on it. */
export interface RouterNode {
  readonly name: string;
  readonly role: 'primary' | 'replica';
  readonly pool: pg.Pool;
  /** Whether the router created the pool (and so ends it on close). */
  readonly owned: boolean;
  /** The pool's connection settings, for the health check's own connection. */
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

export const noop = () => {};

/**
 * A node from what the caller passed. `names` holds the names taken so far: two nodes with one
 * name would make stats and events ambiguous.
 */
export function makeNode(
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
  // Anything else pg would read as a host name or socket path and fail only at the first
  // health check. The string itself is left out of the message: it may hold a password.
  if (connectionString !== undefined && !/^(postgres(ql)?:\/\/|socket:|\/)/i.test(connectionString)) {
    throw new TypeError(
      `createDbRouter: the ${defaultName}'s connection string must be a postgres:// or postgresql:// URL (or a socket path)`,
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

// Duck-typed rather than `instanceof pg.Pool`: the caller's pool may come from another copy of pg.
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

/**
 * Records a WAL position seen on the node. Health checks and token probes run concurrently, so
 * an answer can arrive after a newer one: the position from the query that started last wins.
 */
export function observeLsn(node: RouterNode, lsn: bigint, startedAt: number): void {
  if (startedAt >= node.lsnObservedAt) {
    node.lsn = lsn;
    node.lsnObservedAt = startedAt;
  }
}

/** A statement on `node`, counted in its stats; never retried (writes, token capture). */
export function runOn<R extends Row>(
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

export function nodeStats(node: RouterNode): NodeStats {
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
