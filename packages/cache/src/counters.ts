import type { TierHits } from './telemetry.ts';

/** Counters since the cache was created. */
export interface CacheStats {
  l1Hits: number;
  l2Hits: number;
  misses: number;
  /** Expired values served because the fetcher failed or was slow. */
  staleServed: number;
  fetches: number;
  errors: number;
}

/**
 * The counters behind `stats()`, shared by a cache and its namespaces. One method per counter
 * (rather than a writable object) so that only this class changes them.
 */
export class CacheCounters {
  // Plain fields, not an object: `l1Hit()` runs on every L1 hit, one load less each time.
  private l1Hits = 0;
  private l2Hits = 0;
  private misses = 0;
  private stale = 0;
  private fetches = 0;
  private errors = 0;

  /** @param tierHits OpenTelemetry's `switchboard.cache.hits`, when telemetry is on. */
  constructor(private readonly tierHits?: TierHits) {}

  l1Hit(): void {
    this.l1Hits++;
    if (this.tierHits !== undefined) this.tierHits.l1Hit.add();
  }

  l2Hit(): void {
    this.l2Hits++;
    if (this.tierHits !== undefined) this.tierHits.l2Hit.add();
  }

  /** L1 had no servable copy (only counted for telemetry: `stats()` counts cache-wide misses). */
  l1Miss(): void {
    if (this.tierHits !== undefined) this.tierHits.l1Miss.add();
  }

  /** L2 answered without a fresh value (only counted for telemetry, like `l1Miss`). */
  l2Miss(): void {
    if (this.tierHits !== undefined) this.tierHits.l2Miss.add();
  }

  miss(): void {
    this.misses++;
  }

  staleServed(): void {
    this.stale++;
  }

  fetch(): void {
    this.fetches++;
  }

  error(): void {
    this.errors++;
  }

  /** A copy: callers cannot change the counts through it. */
  snapshot(): CacheStats {
    return {
      l1Hits: this.l1Hits,
      l2Hits: this.l2Hits,
      misses: this.misses,
      staleServed: this.stale,
      fetches: this.fetches,
      errors: this.errors,
    };
  }
}
