import type { SpanLike } from '@switchboard/hot-path';
import type * as pg from 'pg';
import { type Cluster, now } from './cluster.ts';
import { isConnectionError, isRecoveryConflict } from './connection-errors.ts';
import { InvalidCausalTokenError, RouterClosedError } from './errors.ts';
import { parseLsn } from './lsn.ts';
import { observeLsn, type RouterNode } from './nodes.ts';
import { pickNode, pickReplayed, type RoutingPolicy } from './policies.ts';
import type { DbRouterStats } from './router.ts';
import { decodeCausalToken } from './token.ts';
import type { RouterTracing, TokenWait } from './tracing.ts';
import type { DbReader, ReadOptions, Row, Statement } from './types.ts';

/** The read counters of `router.stats()` (documented there), kept here as reads happen. */
export type ReadCounters = DbRouterStats['reads'];

/** A read's target constraint: `undefined` = any replica, a position = replicas that replayed it. */
type MinLsn = bigint | undefined;

/** The read's span when telemetry is on; passed along rather than looked up, so off costs nothing. */
type Span = SpanLike | undefined;

const REPLAY_LSN = 'SELECT pg_last_wal_replay_lsn()::text AS lsn';
const PRIMARY_ONLY: ReadOptions = { consistency: 'primary' };

/**
 * Where each read runs, and running it there: a replica in rotation by the policy, one that has
 * replayed the read's token, or the primary; once more elsewhere after a lost connection.
 */
export class ReadRouter {
  readonly counters: ReadCounters = {
    total: 0,
    onReplicas: 0,
    onPrimary: 0,
    noReplicaAvailable: 0,
    tokenNotReached: 0,
    tokenProbes: 0,
    retried: 0,
    failed: 0,
  };
  /** Rotation of token-less reads. */
  private cursor = 0;
  /** Rotation of token reads and retries, apart so that they never skew the plain reads' turn. */
  private otherCursor = 0;
  // Read from the cluster once: every read needs them.
  private readonly primary: RouterNode;
  private readonly replicas: readonly RouterNode[];
  private readonly policy: RoutingPolicy;
  private readonly readTimeoutMs: number | undefined;
  private readonly healthyReplica = (node: RouterNode) => node.state === 'healthy';

  constructor(
    private readonly cluster: Cluster,
    private readonly tracing: RouterTracing | undefined,
  ) {
    this.primary = cluster.primary;
    this.replicas = cluster.replicas;
    this.policy = cluster.settings.policy;
    this.readTimeoutMs = cluster.settings.readTimeoutMs;
  }

  read<R extends Row>(
    statement: Statement,
    values: readonly unknown[] | undefined,
    options: ReadOptions | undefined,
  ): Promise<pg.QueryResult<R>> {
    if (this.tracing !== undefined) {
      return this.tracing.query(statement, (span) => this.route<R>(statement, values, options, span));
    }
    return this.route<R>(statement, values, options, undefined);
  }

  private route<R extends Row>(
    statement: Statement,
    values: readonly unknown[] | undefined,
    options: ReadOptions | undefined,
    span: Span,
  ): Promise<pg.QueryResult<R>> {
    if (this.cluster.closed) return Promise.reject(new RouterClosedError());
    this.counters.total++;
    if (options === undefined) return this.readAnywhere(statement, values, span);
    if (options.consistency === 'primary') {
      if (span) this.tracing?.onPrimary(span, 'consistency');
      return this.readOn<R>(this.primary, statement, values, undefined, span);
    }
    if (options.consistency !== undefined && options.consistency !== 'replica') {
      return Promise.reject(badConsistency(options.consistency));
    }
    const { token } = options;
    if (token === undefined || token === null || token === '') return this.readAnywhere(statement, values, span);
    const lsn = decodeCausalToken(token);
    if (lsn === undefined) {
      const rejected = this.invalidToken(token);
      if (rejected) return Promise.reject(rejected);
      if (span) this.tracing?.onPrimary(span, 'invalid-token');
      return this.readOn<R>(this.primary, statement, values, undefined, span);
    }
    return this.readAfter<R>(lsn, statement, values, span);
  }

  reader(options: ReadOptions = {}): DbReader {
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
        if (this.cluster.closed) return Promise.reject(new RouterClosedError());
        this.counters.total++;
        if (this.tracing !== undefined) {
          return this.tracing.query(statement, (span) => this.readAfter(lsn, statement, values, span));
        }
        return this.readAfter(lsn, statement, values, undefined);
      },
    };
  }

  /** Emits the event; returns the error to throw when the policy is `'throw'`. */
  private invalidToken(token: unknown): InvalidCausalTokenError | undefined {
    const error = new InvalidCausalTokenError(token);
    if (this.cluster.settings.invalidToken === 'throw') return error;
    this.cluster.emit({ type: 'invalid-token', token: error.token });
    return undefined;
  }

  private readAnywhere<R extends Row>(
    statement: Statement,
    values: readonly unknown[] | undefined,
    span: Span,
  ): Promise<pg.QueryResult<R>> {
    const replica = pickNode(this.policy, this.replicas, this.cursor++, this.healthyReplica);
    if (replica === undefined) {
      if (this.replicas.length > 0) this.counters.noReplicaAvailable++;
      if (span) this.tracing?.onPrimary(span, 'no-replica');
      return this.readOn<R>(this.primary, statement, values, undefined, span);
    }
    return this.readOn<R>(replica, statement, values, undefined, span);
  }

  private readAfter<R extends Row>(
    lsn: bigint,
    statement: Statement,
    values: readonly unknown[] | undefined,
    span: Span,
  ): Promise<pg.QueryResult<R>> {
    if (span) this.tracing?.token(span, lsn);
    const known = pickReplayed(this.policy, this.replicas, this.otherCursor++, lsn);
    if (known) return this.readOn<R>(known, statement, values, lsn, span);
    return this.readAfterProbe<R>(lsn, statement, values, span);
  }

  private async readAfterProbe<R extends Row>(
    lsn: bigint,
    statement: Statement,
    values: readonly unknown[] | undefined,
    span: Span,
  ): Promise<pg.QueryResult<R>> {
    // Not known to be reached yet: ask the most advanced replica in rotation (replay positions
    // only move forward, so once it says yes any of its connections will do).
    const candidate = this.mostAdvancedReplica();
    if (candidate) {
      const reached =
        span && this.tracing
          ? await this.tracing.tokenWait(lsn, candidate, (wait) => this.waitFor(candidate, lsn, wait))
          : await this.waitFor(candidate, lsn, undefined);
      if (reached) return this.readOn<R>(candidate, statement, values, lsn, span);
    }
    this.counters.tokenNotReached++;
    if (span) this.tracing?.onPrimary(span, 'token-not-reached');
    return this.readOn<R>(this.primary, statement, values, lsn, span);
  }

  /** Asks `candidate` for its replay position until it reaches `lsn` or `tokenWaitMs` is over. */
  private async waitFor(candidate: RouterNode, lsn: bigint, wait: TokenWait | undefined): Promise<boolean> {
    const { tokenWaitMs, tokenPollMs } = this.cluster.settings;
    const deadline = now() + tokenWaitMs;
    let reached = false;
    for (;;) {
      wait?.probed();
      const probed = await this.probe(candidate);
      if (probed === undefined) break;
      if (probed >= lsn) {
        reached = true;
        break;
      }
      const left = deadline - now();
      if (left <= 0 || this.cluster.closed) break;
      await sleep(Math.min(tokenPollMs, left));
      if (candidate.state !== 'healthy') break;
    }
    wait?.done(reached);
    return reached;
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
        withTimeout(REPLAY_LSN, undefined, this.cluster.settings.timeoutMs),
      );
      const lsn = parseLsn(result.rows[0]?.lsn);
      if (lsn !== undefined) observeLsn(node, lsn, startedAt);
      return lsn;
    } catch (error) {
      if (isConnectionError(error)) this.cluster.markDown(node, error);
      return undefined;
    }
  }

  /** Runs a read on `node`; on a connection error (or a replica's recovery conflict), once more elsewhere. */
  private readOn<R extends Row>(
    node: RouterNode,
    statement: Statement,
    values: readonly unknown[] | undefined,
    minLsn: MinLsn,
    span: Span,
  ): Promise<pg.QueryResult<R>> {
    return this.attempt<R>(node, statement, values, minLsn, true, span);
  }

  /** One read on one node, counted. One `.then` per read: this is the hot path the benchmark measures. */
  private attempt<R extends Row>(
    node: RouterNode,
    statement: Statement,
    values: readonly unknown[] | undefined,
    minLsn: MinLsn,
    mayRetry: boolean,
    span: Span,
  ): Promise<pg.QueryResult<R>> {
    if (span) this.tracing?.ranOn(span, node);
    node.inFlight++;
    const { readTimeoutMs } = this;
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
        return this.afterFailure<R>(node, statement, values, minLsn, mayRetry, error, span);
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
    span: Span,
  ): Promise<pg.QueryResult<R>> {
    const connectionLost = isConnectionError(error);
    if (connectionLost && node.role === 'replica') this.cluster.markDown(node, error);
    const retryable = connectionLost || (node.role === 'replica' && isRecoveryConflict(error));
    const next = mayRetry && retryable ? this.retryTarget(node, minLsn) : undefined;
    if (next === undefined) {
      this.counters.failed++;
      throw error;
    }
    this.counters.retried++;
    this.cluster.emit({ type: 'read-retried', from: node.name, to: next.name, error });
    if (span) this.tracing?.retried(span, node, next, error, connectionLost);
    return this.attempt<R>(next, statement, values, minLsn, false, span);
  }

  /** Where a failed read runs again: another replica in rotation that has the token, else the primary. */
  private retryTarget(failed: RouterNode, minLsn: MinLsn): RouterNode | undefined {
    // A read that was on the primary stays there: it may have been a `consistency: 'primary'` read.
    if (failed === this.primary) return undefined;
    const other = pickNode(
      this.policy,
      this.replicas,
      this.otherCursor++,
      (node) =>
        node !== failed &&
        node.state === 'healthy' &&
        (minLsn === undefined || (node.lsn !== undefined && node.lsn >= minLsn)),
    );
    return other ?? this.primary;
  }
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
