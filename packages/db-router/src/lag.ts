/** The primary's WAL position at one health round, on the router's monotonic clock. */
export interface LsnSample {
  readonly at: number;
  readonly lsn: bigint;
}

/**
 * How stale a replica is, in milliseconds, from the primary's positions sampled at past health
 * rounds (oldest first): the age of the oldest sample the replica has not replayed yet, 0 when
 * it has replayed them all. This needs no clock shared between servers, and an idle primary
 * gives 0 however long it has been idle.
 *
 * When the replica is behind even the oldest sample (at startup, or far behind), it may be
 * staler than the history shows: Postgres' own estimate (`replicaEstimateMs`, from
 * `now() - pg_last_xact_replay_timestamp()`, 0 when receive LSN = replay LSN) is used when larger.
 */
export function replicaLagMs(
  samples: readonly LsnSample[],
  replayLsn: bigint,
  replicaEstimateMs: number | null,
  now: number,
): number {
  for (let index = 0; index < samples.length; index++) {
    const sample = samples[index] as LsnSample;
    if (sample.lsn > replayLsn) {
      const sampleLag = Math.max(0, now - sample.at);
      return index === 0 ? Math.max(sampleLag, replicaEstimateMs ?? 0) : sampleLag;
    }
  }
  return samples.length === 0 ? Math.max(0, replicaEstimateMs ?? 0) : 0;
}

/**
 * Drops samples that can no longer change a decision: keeps the newest one at least `keepMs`
 * old (so a replica behind every kept sample is known to be at least `keepMs` behind) and all
 * younger ones. Mutates and returns `samples`.
 */
export function pruneSamples(samples: LsnSample[], keepMs: number, now: number): LsnSample[] {
  let drop = 0;
  while (drop + 1 < samples.length && (samples[drop + 1] as LsnSample).at <= now - keepMs) drop++;
  if (drop > 0) samples.splice(0, drop);
  return samples;
}
