import { setTimeout as sleep } from 'node:timers/promises';
import { type PostgresCluster, startTestTopology, type Topology } from '@switchboard/infra';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  createCausalSessions,
  createDbRouter,
  createMemoryTokenStore,
  type DbRouter,
  type DbRouterEvent,
  type DbRouterOptions,
} from '../src/index.ts';

// Replica 1 streams normally; replica 2 applies every transaction 2 s after its commit.
let topology: Topology;
let cluster: PostgresCluster;
let admin: pg.Pool;
const routers: DbRouter[] = [];

async function router(options: Partial<DbRouterOptions> = {}): Promise<DbRouter> {
  const info = topology.info.postgres;
  if (!info) throw new Error('no postgres');
  const created = await createDbRouter({
    primary: info.primary,
    replicas: info.replicas,
    policy: 'round-robin',
    healthCheck: { intervalMs: 200, timeoutMs: 500 },
    ...options,
  });
  routers.push(created);
  return created;
}

/** Polls `condition` (true when met) every 50 ms for up to `timeoutMs`. */
async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  topology = await startTestTopology({ postgres: { replicas: [{}, { applyDelayMs: 2000 }] }, redis: false });
  if (!topology.postgres || !topology.info.postgres) throw new Error('no postgres');
  cluster = topology.postgres;
  admin = new pg.Pool({ connectionString: topology.info.postgres.primary, max: 4 });
  await admin.query('CREATE TABLE items (id serial PRIMARY KEY, owner text NOT NULL)');
  // The delayed replica sees the table 2 s later.
  const delayed = new pg.Pool({ connectionString: topology.info.postgres.replicas[1], max: 1 });
  await waitFor('the table on the delayed replica', () =>
    delayed
      .query("SELECT to_regclass('items') IS NOT NULL AS ok")
      .then((result) => result.rows[0]?.ok === true)
      .catch(() => false),
  );
  await delayed.end();
});

afterAll(async () => {
  await Promise.all(routers.map((each) => each.close()));
  await admin?.end();
  await topology?.stop();
});

describe('read-your-writes with a replica 2 s behind (maxLagMs above 2 s: the token protects, not ejection)', () => {
  test('200 write-then-read pairs all see their own write; reads without a recent write still go to replicas', async () => {
    const db = await router({ maxLagMs: 10_000 });
    const sessions = createCausalSessions({ router: db, store: createMemoryTokenStore() });
    const before = db.stats();
    const servedBy = new Map<string, number>();
    let unseen = 0;
    let plainReads = 0;

    const pair = async (index: number) => {
      const user = `writer-${index}`;
      const inserted = await db.write<{ id: number }>('INSERT INTO items (owner) VALUES ($1) RETURNING id', [user]);
      await sessions.afterWrite(user);
      const { rows } = await sessions
        .readerFor(user)
        .query<{ node: string; seen: boolean }>(
          "SELECT current_setting('cluster_name') AS node, EXISTS (SELECT 1 FROM items WHERE id = $1) AS seen",
          [inserted.rows[0]?.id],
        );
      const row = rows[0];
      if (!row?.seen) unseen++;
      const node = row?.node || 'primary';
      servedBy.set(node, (servedBy.get(node) ?? 0) + 1);
      // Someone who wrote nothing: no token, any replica.
      await sessions.readerFor(`reader-${index}`).query('SELECT count(*) FROM items');
      plainReads++;
    };
    let next = 0;
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (next < 200) await pair(next++);
      }),
    );

    expect(unseen).toBe(0);
    expect([...servedBy.values()].reduce((sum, count) => sum + count, 0)).toBe(200);
    // The 2 s-delayed replica never served a read that had to see a write made just before.
    expect(servedBy.get('postgres-replica2') ?? 0).toBe(0);
    // Most token reads still avoided the primary: the up-to-date replica had replayed the token.
    expect(servedBy.get('postgres-replica1') ?? 0).toBeGreaterThan(50);
    const after = db.stats();
    expect(after.replicas.every((replica) => replica.healthy)).toBe(true);
    // Token-less reads went to both replicas, in turn (the delayed one included), none to the primary.
    const gained = after.replicas.map((replica, index) => replica.queries - (before.replicas[index]?.queries ?? 0));
    expect(gained[1]).toBeGreaterThanOrEqual(plainReads / 2 - 10);
    expect(after.reads.onReplicas - before.reads.onReplicas).toBeGreaterThanOrEqual(plainReads);
    expect(after.reads.failed).toBe(before.reads.failed);
  });

  test('control: without the token, reads right after a write do miss it (the test above could fail)', async () => {
    const db = await router({ maxLagMs: 10_000 });
    let missed = 0;
    for (let index = 0; index < 20; index++) {
      const inserted = await db.write<{ id: number }>('INSERT INTO items (owner) VALUES ($1) RETURNING id', ['x']);
      const { rowCount } = await db.read('SELECT 1 FROM items WHERE id = $1', [inserted.rows[0]?.id]);
      if (rowCount === 0) missed++;
    }
    expect(missed).toBeGreaterThan(0);
  });
});

describe('tokenWaitMs', () => {
  test('a token read waits for a replica to replay the token, up to tokenWaitMs, instead of using the primary', async () => {
    const info = topology.info.postgres;
    if (!info) throw new Error('no postgres');
    // Only the 2 s-delayed replica: a fresh token is not replayed there for ~2 s.
    const only = { replicas: [info.replicas[1] as string], maxLagMs: 10_000 };
    const patient = await router({ ...only, tokenWaitMs: 4_000, tokenPollMs: 50 });
    const hasty = await router({ ...only, tokenWaitMs: 0 });
    const inserted = await patient.write<{ id: number }>('INSERT INTO items (owner) VALUES ($1) RETURNING id', ['w']);
    const token = await patient.captureToken();
    const sql = "SELECT current_setting('cluster_name') AS node, EXISTS (SELECT 1 FROM items WHERE id = $1) AS seen";
    const id = [inserted.rows[0]?.id];

    const quick = await hasty.read<{ node: string; seen: boolean }>(sql, id, { token });
    expect(quick.rows[0]).toEqual({ node: '', seen: true });
    expect(hasty.stats().reads.tokenNotReached).toBe(1);

    const startedAt = Date.now();
    const waited = await patient.read<{ node: string; seen: boolean }>(sql, id, { token });
    expect(waited.rows[0]).toEqual({ node: 'postgres-replica2', seen: true });
    expect(Date.now() - startedAt).toBeGreaterThan(500);
    expect(patient.stats().reads.tokenNotReached).toBe(0);
    expect(patient.stats().reads.tokenProbes).toBeGreaterThan(2);
  });
});

describe('lag', () => {
  test('lag above maxLagMs ejects the replica; once caught up it rejoins, and an idle primary does not eject it', async () => {
    const events: DbRouterEvent[] = [];
    const db = await router({ maxLagMs: 1_000, onEvent: (event) => events.push(event) });
    // The earlier tests' writes may still be on their way through the delay.
    await waitFor('the delayed replica to catch up first', () => db.stats().replicas[1]?.state === 'healthy', 6_000);
    // The same with a byte threshold only: 1 kB of WAL behind is too much for this one.
    const byBytes = await router({ maxLagMs: 60_000, maxLagBytes: 1_024 });
    let writing = true;
    const writer = (async () => {
      while (writing) {
        await db.write('INSERT INTO items (owner) VALUES ($1)', ['lag']);
        await sleep(20);
      }
    })();
    try {
      await waitFor('the delayed replica to be ejected', () => db.stats().replicas[1]?.state === 'lagging', 6_000);
      await waitFor('the byte threshold to eject it', () => byBytes.stats().replicas[1]?.state === 'lagging', 6_000);
      expect(byBytes.stats().replicas[1]?.lagBytes).toBeGreaterThan(1_024);
    } finally {
      writing = false;
      await writer;
    }
    const ejected = db.stats().replicas;
    expect(ejected[0]?.state).toBe('healthy');
    expect(ejected[1]?.lagMs).toBeGreaterThan(1_000);
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'node-state', node: 'replica-2', from: 'healthy', to: 'lagging' }),
    );
    // While it is out, token-less reads all go to replica 1.
    const before = db.stats().replicas.map((replica) => replica.queries);
    for (let index = 0; index < 10; index++) await db.read('SELECT 1');
    expect(db.stats().replicas.map((replica, index) => replica.queries - (before[index] ?? 0))).toEqual([10, 0]);

    await waitFor('the delayed replica to rejoin', () => db.stats().replicas[1]?.state === 'healthy', 6_000);
    // Idle for longer than maxLagMs: now() - pg_last_xact_replay_timestamp() keeps growing, the lag does not.
    await sleep(1_500);
    await db.checkHealth();
    const naive = await db.read<{ ms: number }>(
      'SELECT (extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000)::float8 AS ms',
    );
    expect(naive.rows[0]?.ms).toBeGreaterThan(1_000);
    for (const replica of db.stats().replicas) {
      expect(replica.state).toBe('healthy');
      // 0, or the few ms a background WAL record (standby snapshot, checkpoint) takes to replay.
      expect(replica.lagMs).toBeLessThan(200);
    }
  });
});

describe('failures', () => {
  test('a replica killed mid-run: zero failed reads (one retry at most), and it rejoins after restart', async () => {
    const events: DbRouterEvent[] = [];
    const db = await router({ onEvent: (event) => events.push(event) });
    let failed = 0;
    let done = 0;
    let running = true;
    const workers = Array.from({ length: 8 }, async () => {
      while (running) {
        try {
          await db.read('SELECT count(*) FROM items');
          done++;
        } catch {
          failed++;
        }
      }
    });
    await sleep(300);
    const victim = cluster.replicas[0];
    if (!victim) throw new Error('no replica');
    await victim.kill();
    await sleep(700);
    running = false;
    await Promise.all(workers);

    expect(failed).toBe(0);
    expect(done).toBeGreaterThan(50);
    const stats = db.stats();
    expect(stats.replicas[0]?.state).toBe('down');
    expect(stats.reads.failed).toBe(0);
    // Reads were in flight on the victim when it died: they ran again elsewhere.
    expect(stats.reads.retried).toBeGreaterThanOrEqual(1);
    expect(stats.reads.retried).toBe(events.filter((event) => event.type === 'read-retried').length);
    // Each retry went from the dead replica to a live node.
    for (const event of events) {
      if (event.type === 'read-retried') expect(event).toMatchObject({ from: 'replica-1' });
    }

    await victim.restart();
    await waitFor('replica-1 back in rotation', () => db.stats().replicas[0]?.state === 'healthy');
    const before = db.stats().replicas[0]?.queries ?? 0;
    for (let index = 0; index < 10; index++) await db.read('SELECT 1');
    expect((db.stats().replicas[0]?.queries ?? 0) - before).toBeGreaterThanOrEqual(4);
  });

  test('a frozen replica (SIGSTOP: nothing errors, nothing answers): with readTimeoutMs, zero failed reads', async () => {
    const db = await router({ readTimeoutMs: 300 });
    let failed = 0;
    let done = 0;
    let running = true;
    const workers = Array.from({ length: 8 }, async () => {
      while (running) {
        try {
          await db.read('SELECT count(*) FROM items');
          done++;
        } catch {
          failed++;
        }
      }
    });
    const victim = cluster.replicas[0];
    if (!victim) throw new Error('no replica');
    await sleep(300);
    victim.pause();
    try {
      await sleep(1_200);
      running = false;
      await Promise.all(workers);
    } finally {
      victim.resume();
    }
    expect(failed).toBe(0);
    expect(done).toBeGreaterThan(50);
    const stats = db.stats();
    expect(stats.replicas[0]?.state).toBe('down');
    expect(stats.replicas[0]?.lastError).toMatch(/timeout|timed out/i);
    expect(stats.reads.retried).toBeGreaterThanOrEqual(1);
    await waitFor('replica-1 back in rotation', () => db.stats().replicas[0]?.state === 'healthy');
  });

  test('all replicas down: reads are served by the primary; both rejoin after restart', async () => {
    const db = await router();
    await Promise.all(cluster.replicas.map((replica) => replica.kill()));
    await db.checkHealth();
    expect(db.stats().replicas.map((replica) => replica.state)).toEqual(['down', 'down']);
    const before = db.stats().reads;
    for (let index = 0; index < 20; index++) {
      const { rows } = await db.read<{ recovery: boolean }>('SELECT pg_is_in_recovery() AS recovery');
      expect(rows[0]?.recovery).toBe(false);
    }
    const after = db.stats().reads;
    expect(after.onPrimary - before.onPrimary).toBe(20);
    expect(after.noReplicaAvailable - before.noReplicaAvailable).toBe(20);
    expect(after.failed).toBe(before.failed);

    await Promise.all(cluster.replicas.map((replica) => replica.restart()));
    await waitFor('both replicas back', () => db.stats().replicas.every((replica) => replica.healthy));
  });

  test('a replica that was promoted leaves the rotation: its data may diverge from the primary', async () => {
    const events: DbRouterEvent[] = [];
    const db = await router({ maxLagMs: 10_000, onEvent: (event) => events.push(event) });
    const promoted = new pg.Client({ connectionString: topology.info.postgres?.replicas[0] });
    await promoted.connect();
    try {
      await promoted.query('SELECT pg_promote(true, 10)');
    } finally {
      await promoted.end();
    }
    await db.checkHealth();
    expect(db.stats().replicas[0]).toMatchObject({ state: 'promoted', healthy: false });
    expect(events).toContainEqual(expect.objectContaining({ node: 'replica-1', to: 'promoted' }));
    for (let index = 0; index < 6; index++) {
      const { rows } = await db.read<{ recovery: boolean }>('SELECT pg_is_in_recovery() AS recovery');
      expect(rows[0]?.recovery).toBe(true);
    }
  });
});
