import { describe, expect, test, vi } from 'vitest';
import type { SessionRevocation } from '../src/index.ts';
import { createRevocationTracker } from '../src/revocations.ts';

describe('the revoked-session set', () => {
  /** A tracker over a store whose revocations the test sets, on a clock the test moves. */
  function tracker(accessTtlMs: number, pollIntervalMs = 1_000) {
    let clock = 1_000_000;
    const revoked: SessionRevocation[] = [];
    const sinces: number[] = [];
    const store = {
      listRevokedSince: async (since: Date) => {
        sinces.push(since.getTime());
        return [...revoked];
      },
    };
    const set = createRevocationTracker({
      store,
      revocations: { pollIntervalMs },
      accessTtlMs,
      logger: { warn: () => {} },
      now: () => clock,
    });
    return {
      set,
      revoked,
      sinces,
      advance: (ms: number) => {
        clock += ms;
      },
      now: () => clock,
    };
  }

  test('drops a session id once every access token it covers has expired (ttl + 2 × 5 s tolerance)', async () => {
    const { set, advance } = tracker(60_000);
    await set.revoked([{ sessionId: 's1', userId: 'u1' }]);
    advance(30_000);
    await set.revoked([{ sessionId: 's2', userId: 'u1' }]);
    expect(set.isRevoked('s1')).toBe(true);
    advance(60_000 + 10_000 - 30_000 - 1);
    await set.revoked([{ sessionId: 's3', userId: 'u1' }]);
    expect(set.size()).toBe(3);
    // s1's tokens are all expired now (70 s after it was learned): it goes, s2 and s3 stay.
    advance(1);
    await set.revoked([{ sessionId: 's4', userId: 'u1' }]);
    expect(set.isRevoked('s1')).toBe(false);
    expect([set.isRevoked('s2'), set.isRevoked('s3'), set.isRevoked('s4')]).toEqual([true, true, true]);
    expect(set.size()).toBe(3);
    // The poll forgets too, even when nothing new is revoked.
    advance(3_600_000);
    await set.poll();
    expect(set.size()).toBe(0);
    await set.close();
  });

  test('fills from the last retention window at start, then polls from the previous poll minus an overlap', async () => {
    const { set, revoked, sinces, advance, now } = tracker(900_000, 1_000);
    revoked.push({ sessionId: 'old', userId: 'u1' });
    const startedAt = now();
    await set.start();
    expect(sinces).toEqual([startedAt - 910_000]);
    expect(set.isRevoked('old')).toBe(true);
    advance(5_000);
    await set.poll();
    expect(sinces[1]).toBe(startedAt - 30_000);
    await set.close();
  });

  test('a session learned twice (bus echo, then the poll) is announced once', async () => {
    const { set, revoked } = tracker(900_000);
    const listener = vi.fn();
    set.onSessionRevoked(listener);
    await set.revoked([{ sessionId: 's1', userId: 'u1' }]);
    revoked.push({ sessionId: 's1', userId: 'u1' });
    await set.poll();
    await set.revoked([{ sessionId: 's1', userId: 'u1' }]);
    expect(listener).toHaveBeenCalledTimes(1);
    expect(listener).toHaveBeenCalledWith({ sessionId: 's1', userId: 'u1' });
    await set.close();
  });

  test('a failing poll warns once per outage and keeps the set', async () => {
    const logger = { warn: vi.fn() };
    let fail = true;
    const set = createRevocationTracker({
      store: {
        listRevokedSince: async () => {
          if (fail) throw new Error('primary down');
          return [];
        },
      },
      revocations: {},
      accessTtlMs: 900_000,
      logger,
    });
    await set.revoked([{ sessionId: 's1', userId: 'u1' }]);
    await set.poll();
    await set.poll();
    expect(logger.warn).toHaveBeenCalledTimes(1);
    fail = false;
    await set.poll();
    fail = true;
    await set.poll();
    expect(logger.warn).toHaveBeenCalledTimes(2);
    expect(set.isRevoked('s1')).toBe(true);
    await set.close();
  });
});
