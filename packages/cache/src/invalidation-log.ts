// Bounded: past it, the oldest are forgotten and `forgottenUpTo` makes every read older than
// them count as invalidated (safe, only costs an L1 fill).
const RECENT_INVALIDATIONS = 10_000;

/**
 * Recent invalidations remembered per key (`k:`) and per tag (`t:`), to know whether one
 * landed while an L2 read or a write was in flight: an L1 fill started before it must not keep
 * the value it read.
 */
export class InvalidationLog {
  private current = 0;
  private readonly recent = new Map<string, number>();
  private forgottenUpTo = 0;

  /** Grows with every invalidation this instance applies (its own or from the bus). */
  get epoch(): number {
    return this.current;
  }

  /** Records an invalidation of `marker` (`k:<key>` or `t:<tag>`) at a new epoch. */
  record(marker: string): void {
    this.current++;
    this.recent.delete(marker);
    this.recent.set(marker, this.current);
    if (this.recent.size > RECENT_INVALIDATIONS) {
      const oldest = this.recent.entries().next();
      if (!oldest.done) {
        this.recent.delete(oldest.value[0]);
        this.forgottenUpTo = oldest.value[1];
      }
    }
  }

  /** Whether the key or one of the tags was invalidated after `epoch` (conservative). */
  invalidatedSince(epoch: number, key: string, tags: readonly string[]): boolean {
    if (this.current === epoch) return false;
    if (epoch < this.forgottenUpTo) return true;
    if ((this.recent.get(`k:${key}`) ?? 0) > epoch) return true;
    for (const tag of tags) if ((this.recent.get(`t:${tag}`) ?? 0) > epoch) return true;
    return false;
  }
}
