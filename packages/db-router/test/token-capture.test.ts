import { describe, expect, test } from 'vitest';
import { createDbRouter } from '../src/index.ts';

/** A primary that answers `pg_current_wal_lsn()` only when the test says so. */
function fakePrimary() {
  const pending: (() => void)[] = [];
  let lsn = 0;
  const pool = {
    // Nothing listens on port 1: health checks fail fast and leave the node `down`; tokens do not care.
    options: { host: '127.0.0.1', port: 1, connectionTimeoutMillis: 200 },
    on: () => pool,
    connect: () => Promise.reject(new Error('not used')),
    end: () => Promise.resolve(),
    query: () =>
      new Promise((resolve) => {
        pending.push(() => {
          lsn += 16;
          resolve({ rows: [{ lsn: `0/${lsn.toString(16)}` }] });
        });
      }),
  };
  const answerAll = () => {
    for (const answer of pending.splice(0)) answer();
  };
  return { pool, pending, answerAll };
}

const endOfTurn = () => new Promise<void>((resolve) => process.nextTick(resolve));

describe('router.captureToken', () => {
  test('callers of one turn share one look-up, sent when the turn ends', async () => {
    const primary = fakePrimary();
    const router = await createDbRouter({ primary: primary.pool as never, healthCheck: { timeoutMs: 500 } });
    const tokens = [router.captureToken(), router.captureToken(), router.captureToken()];
    expect(primary.pending).toHaveLength(0);
    await endOfTurn();
    expect(primary.pending).toHaveLength(1);
    primary.answerAll();
    const [first, ...rest] = await Promise.all(tokens);
    expect(rest).toEqual([first, first]);
    await router.close();
  });

  test('a caller after the look-up was sent does not share it, even while it is still in flight', async () => {
    const primary = fakePrimary();
    const router = await createDbRouter({ primary: primary.pool as never, healthCheck: { timeoutMs: 500 } });
    const early = router.captureToken();
    await endOfTurn();
    // Its commit may have landed after the first reading was taken: it needs a reading of its own.
    const late = router.captureToken();
    await endOfTurn();
    expect(primary.pending).toHaveLength(2);
    primary.answerAll();
    expect(await early).not.toBe(await late);
    await router.close();
    await expect(router.captureToken()).rejects.toMatchObject({ code: 'ROUTER_CLOSED' });
  });
});
