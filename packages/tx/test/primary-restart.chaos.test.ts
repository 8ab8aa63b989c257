import { type PostgresCluster, startTestTopology, type Topology } from '@switchboard/infra';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createOutbox, createOutboxRelay, isTxError, type OutboxEvent, withTransaction } from '../src/index.ts';
import { migrations } from '../src/postgres.ts';

let topology: Topology;
let cluster: PostgresCluster;
let pool: pg.Pool;

beforeAll(async () => {
  topology = await startTestTopology({ postgres: { replicas: 0 }, redis: false });
  cluster = topology.postgres as PostgresCluster;
  pool = new pg.Pool({ connectionString: topology.info.postgres?.primary, max: 6, connectionTimeoutMillis: 2000 });
  pool.on('error', () => {});
  for (const migration of migrations) await pool.query(migration.sql);
});

afterAll(async () => {
  await pool?.end();
  await topology?.stop();
});

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('primary crash and restart', () => {
  test('transactions fail fast and unchanged while it is down; the relay recovers and redelivers the batch it lost', async () => {
    const outbox = createOutbox();
    const published: OutboxEvent[] = [];
    let holdFirst: (() => void) | undefined;
    const states: boolean[] = [];
    const relay = createOutboxRelay({
      pool,
      outbox,
      pollIntervalMs: 100,
      publish: async (event) => {
        published.push(event);
        if ((event.payload as { hold?: boolean }).hold && !holdFirst) {
          // The first delivery hangs until the primary has died under it.
          await new Promise<void>((resolve) => {
            holdFirst = resolve;
          });
        }
      },
    });
    relay.on('listening', (up) => states.push(up));
    relay.on('error', () => {});
    relay.start();
    await until(() => relay.listening);

    const held = await withTransaction(pool, (tx) => outbox.enqueue(tx, { topic: 't', payload: { hold: true } }));
    await until(() => holdFirst !== undefined);

    await cluster.primary.kill();
    const startedAt = Date.now();
    const error = await withTransaction(pool, (tx) => tx.query('SELECT 1')).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    expect(isTxError(error)).toBe(false);
    expect(Date.now() - startedAt).toBeLessThan(5000);
    expect(pool.totalCount - pool.idleCount).toBeLessThanOrEqual(2); // the relay's batch and LISTEN clients
    // Its publish resolves, but the batch's "delivered" mark dies with the connection.
    holdFirst?.();
    await until(() => states.includes(false));

    await cluster.primary.restart();
    const after = await withTransaction(pool, (tx) => outbox.enqueue(tx, { topic: 't', payload: { after: true } }));
    await until(
      () => published.filter((event) => event.id === held).length === 2 && published.some((e) => e.id === after),
    );
    await until(() => relay.listening);
    expect(states.slice(0, 2)).toEqual([true, false]);
    expect(states.at(-1)).toBe(true);
    // At-least-once: the lost batch went out again with the same id.
    expect(published.filter((event) => event.id === held).map((event) => event.attempts)).toEqual([0, 0]);
    expect(await outbox.stats(pool)).toMatchObject({ pending: 0 });
    await relay.stop();
    expect(pool.totalCount - pool.idleCount).toBe(0);
  });
});
