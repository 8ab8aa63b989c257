import type { RelayStatements } from './relay-sql.ts';

/**
 * Chooses how the next batch finds the heads of keys (relay-sql.ts). The walk goes through pending
 * events in position order and stops after `batchSize` heads: cheap when keys are many, since heads
 * then lie close together. With a few hot keys and a deep backlog it would walk the whole backlog
 * every batch (most events wait behind their key's head), so then the relay switches to the loose
 * index scan, which costs one probe per distinct key however deep the backlog.
 *
 * The choice is made from what the previous batches claimed, not from table statistics, which are
 * always stale for an outbox.
 */
export class ClaimPlanner {
  #skipScan = false;

  constructor(
    private readonly statements: Pick<RelayStatements, 'claimByWalk' | 'claimBySkipScan'>,
    private readonly batchSize: number,
  ) {}

  /** The claim statement for the next batch. */
  get claimSql(): string {
    return this.#skipScan ? this.statements.claimBySkipScan : this.statements.claimByWalk;
  }

  /** Learns from a batch that claimed `claimed` events (at least one) from `keys` distinct keys. */
  observe(claimed: number, keys: number): void {
    // Full batches from few keys: hot keys with a backlog behind them. Many keys: walk again. The
    // gap between the two thresholds keeps a mixed workload from flipping at every batch.
    if (!this.#skipScan && claimed >= this.batchSize && keys <= this.batchSize / 4) this.#skipScan = true;
    else if (this.#skipScan && keys > this.batchSize / 2) this.#skipScan = false;
  }
}
