import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestTopology, type Topology } from '../src/index.ts';
import { waitFor } from './wait-for.ts';

describe('Postgres replicas under lag and failure', () => {
  let topology: Topology;
  let primary: pg.Pool;
  const pools: pg.Pool[] = [];

  const pool = (url: string) => {
    const created = new pg.Pool({ connectionString: url, max: 2, connectionTimeoutMillis: 2_000 });
    created.on('error', () => {
      // Idle clients of a killed server error out; the tests assert on queries instead.
    });
    pools.push(created);
    return created;
  };

  beforeAll(async () => {
    topology = await startTestTopology({ postgres: { replicas: [{}, { applyDelayMs: 2_000 }] }, redis: false });
    primary = pool(topology.info.postgres?.primary ?? '');
    await primary.query('CREATE TABLE events (id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())');
  });

  afterAll(async () => {
    await Promise.all(pools.map((created) => created.end().catch(() => undefined)));
    await topology?.stop();
  });

  test('a replica with apply delay does not show a new row until the delay has passed', async () => {
    const [plainUrl, delayedUrl] = topology.info.postgres?.replicas ?? [];
    const plain = pool(plainUrl ?? '');
    const delayed = pool(delayedUrl ?? '');
    const count = async (replica: pg.Pool) =>
      (await replica.query<{ n: number }>('SELECT count(*)::int AS n FROM events')).rows[0]?.n;
    // The CREATE TABLE itself is delayed too: wait until the delayed replica has it.
    await waitFor(
      async () => ((await delayed.query("SELECT to_regclass('events') AS t")).rows[0]?.t ? true : undefined),
      {
        timeoutMs: 10_000,
      },
    );

    const writtenAt = Date.now();
    await primary.query('INSERT INTO events DEFAULT VALUES');
    await waitFor(async () => ((await count(plain)) === 1 ? true : undefined), { timeoutMs: 2_000 });
    const plainLagMs = Date.now() - writtenAt;
    expect(plainLagMs).toBeLessThan(1_000);
    expect(await count(delayed)).toBe(0);

    await waitFor(async () => ((await count(delayed)) === 1 ? true : undefined), { timeoutMs: 10_000, intervalMs: 50 });
    expect(Date.now() - writtenAt).toBeGreaterThanOrEqual(1_900);
  });

  test('a paused replica hangs (backends included) and answers again once resumed', async () => {
    const replica = topology.postgres?.replicas[0];
    if (!replica) throw new Error('no replica');
    const client = new pg.Client({ connectionString: replica.url() });
    await client.connect();
    try {
      expect((await client.query('SELECT 1 AS one')).rows[0]).toEqual({ one: 1 });
      replica.pause();
      // An already-open connection is served by its own backend process: it must be frozen too.
      const pending = client.query('SELECT 2 AS two');
      const outcome = await Promise.race([pending.then(() => 'answered'), sleep(500).then(() => 'hung')]);
      expect(outcome).toBe('hung');
      replica.resume();
      expect((await pending).rows[0]).toEqual({ two: 2 });
    } finally {
      replica.resume();
      await client.end();
    }
  });

  test('a killed replica is gone, the primary keeps writing, and after restart it catches up', async () => {
    const replica = topology.postgres?.replicas[0];
    if (!replica) throw new Error('no replica');
    const oldPid = replica.pid;
    await replica.kill();
    expect(replica.isRunning()).toBe(false);
    await expect(
      new pg.Client({ connectionString: replica.url(), connectionTimeoutMillis: 1_000 }).connect(),
    ).rejects.toThrow();

    await primary.query('INSERT INTO events SELECT FROM generate_series(1, 1000)');
    const { rows } = await primary.query<{ n: number }>('SELECT count(*)::int AS n FROM events');
    const expected = rows[0]?.n;

    await replica.restart();
    expect(replica.pid).not.toBe(oldPid);
    const restarted = pool(replica.url());
    const seen = await waitFor(
      async () => {
        const n = (await restarted.query<{ n: number }>('SELECT count(*)::int AS n FROM events')).rows[0]?.n;
        return n === expected ? n : undefined;
      },
      { timeoutMs: 10_000 },
    );
    expect(seen).toBe(expected);
  });
});
