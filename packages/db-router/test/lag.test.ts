import { describe, expect, test } from 'vitest';
import { type LsnSample, pruneSamples, replicaLagMs } from '../src/lag.ts';

const samples: LsnSample[] = [
  { at: 1_000, lsn: 100n },
  { at: 2_000, lsn: 200n },
  { at: 3_000, lsn: 300n },
];

describe('replicaLagMs', () => {
  test('is 0 for a replica that replayed everything the primary had, however long the primary was idle', () => {
    const idle: LsnSample[] = [
      { at: 1_000, lsn: 500n },
      { at: 60_000, lsn: 500n },
    ];
    // Postgres' own estimate would say 59 s: now() - last replay timestamp keeps growing.
    expect(replicaLagMs(idle, 500n, 59_000, 61_000)).toBe(0);
  });

  test('is the age of the oldest position the replica has not replayed', () => {
    expect(replicaLagMs(samples, 250n, null, 3_500)).toBe(500);
    expect(replicaLagMs(samples, 150n, null, 3_500)).toBe(1_500);
    expect(replicaLagMs(samples, 300n, null, 3_500)).toBe(0);
  });

  test("trusts Postgres' estimate when the replica is behind every sample kept (startup, far behind)", () => {
    expect(replicaLagMs(samples, 50n, 120_000, 3_500)).toBe(120_000);
    expect(replicaLagMs(samples, 50n, null, 3_500)).toBe(2_500);
    expect(replicaLagMs([], 50n, 700, 3_500)).toBe(700);
    expect(replicaLagMs([], 50n, null, 3_500)).toBe(0);
  });
});

describe('pruneSamples', () => {
  test('keeps the newest sample old enough to bound the window, and every younger one', () => {
    const kept = pruneSamples(
      [
        { at: 0, lsn: 1n },
        { at: 1_000, lsn: 2n },
        { at: 2_000, lsn: 3n },
        { at: 9_000, lsn: 4n },
      ],
      5_000,
      10_000,
    );
    expect(kept.map((sample) => sample.at)).toEqual([2_000, 9_000]);
    expect(pruneSamples([{ at: 0, lsn: 1n }], 5_000, 100_000)).toHaveLength(1);
  });
});
