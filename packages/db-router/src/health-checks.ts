import pg from 'pg';
import { type Cluster, now } from './cluster.ts';
import { type LsnSample, pruneSamples, replicaLagMs } from './lag.ts';
import { lsnDistance, parseLsn } from './lsn.ts';
import { noop, observeLsn, type RouterNode } from './nodes.ts';

const PRIMARY_CHECK = `SELECT pg_is_in_recovery() AS in_recovery,
  CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END AS lsn`;

// Postgres' own staleness estimate, 0 when everything received is replayed: `now() -
// pg_last_xact_replay_timestamp()` alone keeps growing while the primary is idle.
const REPLICA_CHECK = `SELECT pg_is_in_recovery() AS in_recovery,
  pg_last_wal_replay_lsn()::text AS replay_lsn,
  CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
    ELSE (extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000)::float8 END AS estimate_ms`;

type CheckResult = { ok: true; row: Record<string, unknown>; startedAt: number } | { ok: false; error: unknown };

/**
 * Health rounds: the primary first (its WAL position is what replicas' lag is measured
 * against), then every replica at once, each on a connection of its own outside the pool, so
 * that a pool saturated by reads never makes a healthy node look down.
 */
export class HealthChecks {
  /** Rounds completed. */
  rounds = 0;
  /** The primary's positions at past rounds, oldest first: what replica lag is measured against. */
  private readonly samples: LsnSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;

  constructor(private readonly cluster: Cluster) {}

  /** Runs a round now; rounds never overlap: a manual check joins the running one, then runs its own. */
  checkNow(): Promise<void> {
    if (this.cluster.closed) return Promise.resolve();
    const previous = this.round ?? Promise.resolve();
    const round = previous.then(() => this.healthRound());
    this.round = round;
    return round;
  }

  /** Stops scheduling rounds, waits for the running one and drops every check connection. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    await this.round?.catch(noop);
    discardHealthClient(this.cluster.primary);
    for (const node of this.cluster.replicas) discardHealthClient(node);
  }

  private schedule(): void {
    if (this.cluster.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      void this.checkNow();
    }, this.cluster.settings.intervalMs);
    // Background checks alone never keep the process alive.
    this.timer.unref();
  }

  private async healthRound(): Promise<void> {
    const { cluster } = this;
    if (cluster.closed) return;
    try {
      const primaryResult = await this.check(cluster.primary, PRIMARY_CHECK);
      if (cluster.closed) return;
      this.applyPrimary(primaryResult);
      const results = await Promise.all(cluster.replicas.map((node) => this.check(node, REPLICA_CHECK)));
      if (cluster.closed) return;
      const at = now();
      cluster.replicas.forEach((node, index) => {
        this.applyReplica(node, results[index] as CheckResult, at);
      });
      this.rounds++;
    } finally {
      this.schedule();
    }
  }

  private applyPrimary(result: CheckResult): void {
    const { cluster } = this;
    const node = cluster.primary;
    node.lastCheckAt = Date.now();
    if (!result.ok) {
      cluster.setState(node, 'down', 'health-check', { error: result.error });
      return;
    }
    if (result.row.in_recovery === true) {
      cluster.setState(node, 'in-recovery', 'health-check', {});
      return;
    }
    const lsn = parseLsn(result.row.lsn as string | null);
    if (lsn !== undefined) {
      const at = now();
      observeLsn(node, lsn, result.startedAt);
      this.samples.push({ at, lsn });
      pruneSamples(this.samples, cluster.settings.maxLagMs + cluster.settings.intervalMs, at);
    }
    node.lastError = null;
    cluster.setState(node, 'healthy', 'health-check', {});
  }

  private applyReplica(node: RouterNode, result: CheckResult, at: number): void {
    const { cluster } = this;
    node.lastCheckAt = Date.now();
    if (!result.ok) {
      cluster.setState(node, 'down', 'health-check', { error: result.error });
      return;
    }
    if (result.row.in_recovery !== true) {
      node.lastError = 'not in recovery (promoted): its data may diverge from the primary';
      cluster.setState(node, 'promoted', 'health-check', {});
      return;
    }
    const replayLsn = parseLsn(result.row.replay_lsn as string | null);
    if (replayLsn === undefined) {
      cluster.setState(node, 'down', 'health-check', { error: new Error('replica reports no replay position') });
      return;
    }
    observeLsn(node, replayLsn, result.startedAt);
    const estimate = typeof result.row.estimate_ms === 'number' ? result.row.estimate_ms : null;
    const lagMs = Math.round(replicaLagMs(this.samples, replayLsn, estimate, at));
    const newest = this.samples[this.samples.length - 1];
    const lagBytes = newest ? lsnDistance(replayLsn, newest.lsn) : 0;
    node.lagMs = lagMs;
    node.lagBytes = lagBytes;
    const { maxLagMs, maxLagBytes } = cluster.settings;
    if (lagMs > maxLagMs || (maxLagBytes !== undefined && lagBytes > maxLagBytes)) {
      node.lastError = `lag ${lagMs} ms / ${lagBytes} bytes`;
      cluster.setState(node, 'lagging', 'health-check', { lagMs, lagBytes });
      return;
    }
    // A read saw a connection error after this check started: wait for a check that started later.
    if (node.state === 'down' && node.downAt > result.startedAt) return;
    node.lastError = null;
    cluster.setState(node, 'healthy', 'health-check', { lagMs, lagBytes });
  }

  private async check(node: RouterNode, sql: string): Promise<CheckResult> {
    const startedAt = now();
    const { timeoutMs } = this.cluster.settings;
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
      timer = setTimeout(() => reject(new Error(`health check timed out after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const row = await Promise.race([work, timeout]);
      return { ok: true, row, startedAt };
    } catch (error) {
      discardHealthClient(node);
      return { ok: false, error };
    } finally {
      clearTimeout(timer);
    }
  }
}

function discardHealthClient(node: RouterNode): void {
  const client = node.healthClient;
  node.healthClient = undefined;
  if (client === undefined) return;
  // A paused server never answers the goodbye: drop the socket rather than wait for it.
  (client as unknown as { connection?: { stream?: { destroy?: () => void } } }).connection?.stream?.destroy?.();
  client.end().catch(noop);
}
