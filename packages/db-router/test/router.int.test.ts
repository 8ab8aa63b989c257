import { createTestDatabase } from '@switchboard/infra';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import {
  createCausalSessions,
  createDbRouter,
  createMemoryTokenStore,
  type DbRouter,
  type DbRouterEvent,
  isCausalToken,
} from '../src/index.ts';

let db: { primary: string; replicas: string[] };
let router: DbRouter;
const events: DbRouterEvent[] = [];

beforeAll(async () => {
  db = await createTestDatabase(inject('infra'), 'db_router');
  router = await createDbRouter({
    primary: db.primary,
    replicas: db.replicas,
    policy: 'round-robin',
    healthCheck: { intervalMs: 200, timeoutMs: 1_000 },
    onEvent: (event) => events.push(event),
  });
  await router.write('CREATE TABLE notes (id serial PRIMARY KEY, owner text NOT NULL, body text NOT NULL)');
});

afterAll(async () => {
  await router?.close();
});

/** Waits until every replica has replayed `token` (so replica reads are deterministic). */
async function settled(token: string) {
  for (let attempt = 0; attempt < 200; attempt++) {
    await router.checkHealth();
    const lsn = BigInt(`0x${token.slice(3)}`);
    const reached = router
      .stats()
      .replicas.every((replica) => replica.lsn !== null && parseLsnText(replica.lsn) >= lsn && replica.healthy);
    if (reached) return;
  }
  throw new Error('replicas never caught up');
}

function parseLsnText(text: string): bigint {
  const [high, low] = text.split('/');
  return (BigInt(`0x${high}`) << 32n) | BigInt(`0x${low}`);
}

describe('createDbRouter on the shared topology', () => {
  test('starts with every node checked: both replicas in rotation, lag 0 on an idle cluster', () => {
    const stats = router.stats();
    expect(stats.primary).toMatchObject({ role: 'primary', state: 'healthy', healthy: true });
    expect(stats.replicas.map((replica) => replica.name)).toEqual(['replica-1', 'replica-2']);
    for (const replica of stats.replicas) {
      expect(replica).toMatchObject({ role: 'replica', state: 'healthy', healthy: true });
      expect(replica.lagMs).toBeGreaterThanOrEqual(0);
    }
    expect(stats.healthRounds).toBeGreaterThanOrEqual(1);
  });

  test('writes go to the primary; reads are spread over the replicas in turn', async () => {
    const written = await router.write('INSERT INTO notes (owner, body) VALUES ($1, $2) RETURNING id', ['a', 'hi']);
    expect(written.rows).toHaveLength(1);
    await settled(await router.captureToken());
    const before = router.stats();
    const servers = new Set<string>();
    for (let index = 0; index < 10; index++) {
      const result = await router.read<{ port: number; recovery: boolean }>(
        "SELECT current_setting('port')::int AS port, pg_is_in_recovery() AS recovery",
      );
      expect(result.rows[0]?.recovery).toBe(true);
      servers.add(String(result.rows[0]?.port));
    }
    expect(servers.size).toBe(2);
    const after = router.stats();
    expect(after.reads.onReplicas - before.reads.onReplicas).toBe(10);
    expect(after.replicas.map((replica, index) => replica.queries - (before.replicas[index]?.queries ?? 0))).toEqual([
      5, 5,
    ]);
  });

  test("consistency: 'primary' reads the primary", async () => {
    const result = await router.read<{ recovery: boolean }>('SELECT pg_is_in_recovery() AS recovery', [], {
      consistency: 'primary',
    });
    expect(result.rows[0]?.recovery).toBe(false);
    const reader = router.reader({ consistency: 'primary' });
    expect(
      (await reader.query<{ recovery: boolean }>('SELECT pg_is_in_recovery() AS recovery')).rows[0]?.recovery,
    ).toBe(false);
  });

  test('an unknown consistency is a TypeError, not a silent replica read', async () => {
    await expect(router.read('SELECT 1', [], { consistency: 'strong' as never })).rejects.toThrow(TypeError);
    expect(() => router.reader({ consistency: 'strong' as never })).toThrow(/consistency/);
  });

  test('a reader is a pg-style { query } and returns plain pg results (query configs too)', async () => {
    // The shape @switchboard/pagination and other pg-style code accept.
    const pgStyle: { query(text: string, params: unknown[]): PromiseLike<{ rows: unknown[] }> } = router.reader();
    expect((await pgStyle.query('SELECT $1::text AS v', ['x'])).rows).toEqual([{ v: 'x' }]);
    const reader = router.reader();
    const result = await reader.query<{ n: number }>({ text: 'SELECT $1::int AS n', values: [7] });
    expect(result.rows).toEqual([{ n: 7 }]);
    expect(result.command).toBe('SELECT');
    expect(result.fields.map((field) => field.name)).toEqual(['n']);
  });

  test('captureToken returns a compact token; a read with it sees the write', async () => {
    await router.write('INSERT INTO notes (owner, body) VALUES ($1, $2)', ['b', 'fresh']);
    const token = await router.captureToken();
    expect(isCausalToken(token)).toBe(true);
    expect(token.length).toBeLessThanOrEqual(19);
    const result = await router.read<{ body: string }>('SELECT body FROM notes WHERE owner = $1', ['b'], { token });
    expect(result.rows.map((row) => row.body)).toEqual(['fresh']);
  });

  test('captureToken calls of one turn share one look-up; a call after it was sent makes another', async () => {
    const queriesOnPrimary = () => router.stats().primary.queries;
    const before = queriesOnPrimary();
    const tokens = await Promise.all([router.captureToken(), router.captureToken(), router.captureToken()]);
    expect(new Set(tokens).size).toBe(1);
    expect(queriesOnPrimary() - before).toBe(1);
    // Written after that look-up was sent: the next token must be taken afresh, and covers it.
    await router.write('INSERT INTO notes (owner, body) VALUES ($1, $2)', ['turn', 'later']);
    const later = await router.captureToken();
    expect(queriesOnPrimary() - before).toBe(3);
    const result = await router.read<{ body: string }>('SELECT body FROM notes WHERE owner = $1', ['turn'], {
      token: later,
    });
    expect(result.rows).toEqual([{ body: 'later' }]);
  });

  test('also after a transaction run on router.primary', async () => {
    const client = await router.primary.connect();
    try {
      await client.query('BEGIN');
      await client.query('INSERT INTO notes (owner, body) VALUES ($1, $2)', ['tx', 'committed']);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    const token = await router.captureToken();
    const result = await router
      .reader({ token })
      .query<{ body: string }>('SELECT body FROM notes WHERE owner = $1', ['tx']);
    expect(result.rows).toEqual([{ body: 'committed' }]);
  });

  test('a malformed token sends the read to the primary and reports it; never to a replica that may be stale', async () => {
    const before = router.stats().reads;
    const result = await router.read<{ recovery: boolean }>('SELECT pg_is_in_recovery() AS recovery', [], {
      token: 'v1.not-a-token',
    });
    expect(result.rows[0]?.recovery).toBe(false);
    expect(router.stats().reads.onPrimary).toBe(before.onPrimary + 1);
    expect(events).toContainEqual({ type: 'invalid-token', token: 'v1.not-a-token' });
  });

  test("with invalidToken: 'throw' a malformed token is an InvalidCausalTokenError", async () => {
    const strict = await createDbRouter({ primary: db.primary, replicas: db.replicas, invalidToken: 'throw' });
    try {
      await expect(strict.read('SELECT 1', [], { token: 'forged' })).rejects.toMatchObject({
        code: 'INVALID_CAUSAL_TOKEN',
      });
      expect(() => strict.reader({ token: 'forged' })).toThrow(/not a causal token/);
      // No token at all is fine: '' is what a cleared cookie looks like.
      await expect(strict.read('SELECT 1 AS one', [], { token: '' })).resolves.toMatchObject({ rows: [{ one: 1 }] });
    } finally {
      await strict.close();
    }
  });

  test('statement errors are passed through as pg errors and never retried', async () => {
    const before = router.stats().reads;
    await expect(router.read('SELEC 1')).rejects.toMatchObject({ code: '42601' });
    // A write sent through read() reaches a replica, which refuses it (25006): not retried on the primary.
    await expect(router.read("INSERT INTO notes (owner, body) VALUES ('x', 'y')")).rejects.toMatchObject({
      code: '25006',
    });
    const after = router.stats().reads;
    expect(after.retried).toBe(before.retried);
    expect(after.failed).toBe(before.failed + 2);
    const rows = await router.read('SELECT 1 FROM notes WHERE owner = $1', ['x'], { consistency: 'primary' });
    expect(rows.rowCount).toBe(0);
  });

  test('reads never wait on the health checks: a saturated pool does not mark a node down', async () => {
    const busy = await createDbRouter({
      primary: db.primary,
      replicas: db.replicas,
      pool: { max: 1 },
      healthCheck: { intervalMs: 50, timeoutMs: 200 },
    });
    try {
      await Promise.all(Array.from({ length: 6 }, () => busy.read('SELECT pg_sleep(0.1)')));
      await busy.checkHealth();
      expect(busy.stats().replicas.every((replica) => replica.healthy)).toBe(true);
    } finally {
      await busy.close();
    }
  });

  test('closes the pools it created, and only those', async () => {
    const mine = new pg.Pool({ connectionString: db.replicas[0], max: 2 });
    const other = await createDbRouter({ primary: db.primary, replicas: [mine, db.replicas[1] as string] });
    const ownedPrimary = other.primary;
    await other.read('SELECT 1');
    await other.close();
    expect(ownedPrimary.ended).toBe(true);
    expect(mine.ended).toBe(false);
    expect((await mine.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await mine.end();
    await expect(other.write('SELECT 1')).rejects.toMatchObject({ code: 'ROUTER_CLOSED' });
    await expect(other.captureToken()).rejects.toMatchObject({ code: 'ROUTER_CLOSED' });
  });
});

describe('createCausalSessions (memory store)', () => {
  test('a user reads their own write; the token is also there to send in a header', async () => {
    const sessions = createCausalSessions({ router, store: createMemoryTokenStore() });
    await router.write('INSERT INTO notes (owner, body) VALUES ($1, $2)', ['carol', 'mine']);
    const token = await sessions.afterWrite('carol');
    expect(await sessions.tokenFor('carol')).toBe(token);
    const { rows } = await sessions.readerFor('carol').query('SELECT body FROM notes WHERE owner = $1', ['carol']);
    expect(rows).toEqual([{ body: 'mine' }]);
    expect(await sessions.tokenFor('dave')).toBeUndefined();
  });

  test('a token from a header is remembered only if valid and newer', async () => {
    const sessions = createCausalSessions({ router, store: createMemoryTokenStore() });
    const token = await sessions.afterWrite('erin');
    expect(await sessions.remember('erin', 'v1.1')).toBe(true);
    expect(await sessions.tokenFor('erin')).toBe(token);
    expect(await sessions.remember('erin', 'garbage')).toBe(false);
    expect(await sessions.tokenFor('erin')).toBe(token);
  });

  test("a token from the request counts too (another instance's write, carried in a header)", async () => {
    const sessions = createCausalSessions({ router, store: createMemoryTokenStore() });
    await router.write('INSERT INTO notes (owner, body) VALUES ($1, $2)', ['gina', 'elsewhere']);
    const fromHeader = await router.captureToken();
    const { rows } = await sessions
      .readerFor('gina', { token: fromHeader })
      .query('SELECT body FROM notes WHERE owner = $1', ['gina']);
    expect(rows).toEqual([{ body: 'elsewhere' }]);
    // A malformed header token follows the router's invalidToken policy: the primary.
    const before = router.stats().reads.onPrimary;
    await sessions.readerFor('gina', { token: 'v1.zz' }).query('SELECT 1');
    expect(router.stats().reads.onPrimary).toBe(before + 1);
  });

  test('a failing store never fails the request: reads go to the primary, the failure is reported', async () => {
    const failures: string[] = [];
    const sessions = createCausalSessions({
      router,
      store: {
        get: () => Promise.reject(new Error('store down')),
        advance: () => Promise.reject(new Error('store down')),
      },
      onStoreError: (error, details) => failures.push(`${details.operation}:${(error as Error).message}`),
    });
    expect(isCausalToken(await sessions.afterWrite('frank'))).toBe(true);
    const before = router.stats().reads.onPrimary;
    const { rows } = await sessions
      .readerFor('frank')
      .query<{ recovery: boolean }>('SELECT pg_is_in_recovery() AS recovery');
    expect(rows[0]?.recovery).toBe(false);
    expect(router.stats().reads.onPrimary).toBe(before + 1);
    expect(failures).toEqual(['advance:store down', 'get:store down']);
  });
});
