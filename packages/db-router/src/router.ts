import type * as pg from 'pg';
import { Cluster } from './cluster.ts';
import { RouterClosedError } from './errors.ts';
import { HealthChecks } from './health-checks.ts';
import { makeNode, type NodeStats, nodeStats, runOn } from './nodes.ts';
import { type DbRouterOptions, resolveOptions } from './options.ts';
import { ReadRouter } from './read-routing.ts';
import { TokenCapture } from './token-capture.ts';
import { RouterTracing } from './tracing.ts';
import type { DbReader, ReadOptions, Row, Statement } from './types.ts';

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
  const cluster = new Cluster(primary, replicas, settings, options.onEvent);
  const tracing = settings.telemetry && new RouterTracing(settings.telemetry, primary, replicas);
  const health = new HealthChecks(cluster);
  const reads = new ReadRouter(cluster, tracing);
  const tokens = new TokenCapture(cluster);
  let writes = 0;
  let closing: Promise<void> | undefined;

  const router: DbRouter = {
    primary: primary.pool,
    write(statement, values) {
      if (cluster.closed) return Promise.reject(new RouterClosedError());
      writes++;
      if (tracing) {
        return tracing.query(statement, (span) => {
          tracing.ranOn(span, primary);
          return runOn(primary, statement, values);
        });
      }
      return runOn(primary, statement, values);
    },
    read: (statement, values, readOptions) => reads.read(statement, values, readOptions),
    reader: (readOptions) => reads.reader(readOptions),
    captureToken: () => (tracing ? tracing.capture(() => tokens.capture()) : tokens.capture()),
    stats: () => ({
      primary: nodeStats(primary),
      replicas: replicas.map(nodeStats),
      reads: { ...reads.counters },
      writes,
      healthRounds: health.rounds,
    }),
    checkHealth: () => health.checkNow(),
    close() {
      closing ??= (async () => {
        cluster.closed = true;
        await health.stop();
        await Promise.all([primary, ...replicas].filter((node) => node.owned).map((node) => node.pool.end()));
      })();
      return closing;
    },
  };
  return health.checkNow().then(() => router);
}
