/**
 * The L2 outage breaker: after a failed or timed-out L2 call, L2 is skipped for
 * `retryAfterMs`, so that an outage costs one timeout, not one per request.
 */
export class L2Breaker {
  private retryAt = 0;

  constructor(
    private readonly retryAfterMs: number,
    private readonly now: () => number,
  ) {}

  /** Whether L2 is skipped for now, after a failure. */
  open(): boolean {
    return this.retryAt !== 0 && this.now() < this.retryAt;
  }

  /** L2 answered a call. True when that closed the breaker (L2 is back after an outage). */
  close(): boolean {
    if (this.retryAt === 0) return false;
    this.retryAt = 0;
    return true;
  }

  /** An L2 call failed or timed out: skip L2 for `retryAfterMs`. */
  trip(): void {
    this.retryAt = this.now() + this.retryAfterMs;
  }
}
