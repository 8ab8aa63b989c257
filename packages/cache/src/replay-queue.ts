// A very long outage keeps the newest invalidations (older ones are superseded by TTLs).
const MAX_PENDING = 10_000;

/**
 * Invalidations L2 missed while it was down, replayed in order once it answers again: without
 * them L2 would go on serving (and refilling every L1 with) values deleted during the outage.
 */
export class ReplayQueue {
  private readonly pending: (() => Promise<void>)[] = [];
  private replaying = false;

  /** Queues a task; it rejects when L2 still cannot take it (the replay then stops). */
  push(task: () => Promise<void>): void {
    if (this.pending.length >= MAX_PENDING) this.pending.shift();
    this.pending.push(task);
  }

  /** Runs the queue until it is empty or a task fails. */
  async replay(): Promise<void> {
    // One replay at a time, removing exactly the item that succeeded.
    if (this.replaying) return;
    this.replaying = true;
    try {
      for (let next = this.pending[0]; next; next = this.pending[0]) {
        try {
          await next();
        } catch {
          return;
        }
        const index = this.pending.indexOf(next);
        if (index >= 0) this.pending.splice(index, 1);
      }
    } finally {
      this.replaying = false;
    }
  }
}
