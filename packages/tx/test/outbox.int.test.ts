import { createTestDatabase } from '@switchboard/infra';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, inject, test } from 'vitest';
import {
  createOutbox,
  createOutboxRelay,
  type OutboxEvent,
  type OutboxRelay,
  type OutboxRelayOptions,
  uuidv7,
  withTransaction,
} from '../src/index.ts';
import { createOutboxMigrations, migrations } from '../src/postgres.ts';

let pool: pg.Pool;
let url: string;
const relays: OutboxRelay[] = [];
let tableCounter = 0;

beforeAll(async () => {
  const db = await createTestDatabase(inject('infra'), 'tx_outbox');
  url = db.primary;
  pool = new pg.Pool({ connectionString: url, max: 12 });
  pool.on('error', () => {});
  for (const migration of migrations) await pool.query(migration.sql);
  // Idempotent: a runner that applies them twice does no harm.
  for (const migration of migrations) await pool.query(migration.sql);
});

afterEach(async () => {
  await Promise.all(relays.splice(0).map((relay) => relay.stop()));
});

afterAll(async () => {
  await pool?.end();
});

/** A fresh outbox table (and channel) per test, so tests never see each other's events. */
async function freshOutbox() {
  const table = `outbox_${++tableCounter}`;
  for (const migration of createOutboxMigrations({ table })) await pool.query(migration.sql);
  return createOutbox({ table, channel: `${table}_wake` });
}

function relayFor(
  outbox: { table: string; channel: string },
  publish: OutboxRelayOptions['publish'],
  options: Partial<OutboxRelayOptions> = {},
) {
  const relay = createOutboxRelay({
    pool,
    publish,
    outbox,
    pollIntervalMs: 50,
    backoff: { initialMs: 20 },
    ...options,
  });
  relays.push(relay);
  return relay;
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
};

describe('outbox', () => {
  test('an event exists exactly when its transaction commits; the relay publishes it with its stable id', async () => {
    const outbox = await freshOutbox();
    const published: OutboxEvent[] = [];
    const relay = relayFor(outbox, (event) => {
      published.push(event);
    });
    const id = await withTransaction(pool, (tx) =>
      outbox.enqueue(tx, {
        topic: 'message.created',
        key: 'chat:1',
        payload: { text: 'hi' },
        headers: { trace: 't1' },
      }),
    );
    await withTransaction(pool, async (tx) => {
      await outbox.enqueue(tx, { topic: 'message.created', key: 'chat:1', payload: { text: 'never' } });
      throw new Error('rolled back');
    }).catch(() => undefined);
    expect(await relay.runOnce()).toEqual({ claimed: 1, delivered: 1, failed: 0 });
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      id,
      topic: 'message.created',
      key: 'chat:1',
      payload: { text: 'hi' },
      headers: { trace: 't1' },
      attempts: 0,
    });
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(await relay.runOnce()).toEqual({ claimed: 0, delivered: 0, failed: 0 });
    const { rows } = await pool.query(`SELECT delivered_at, attempts FROM ${outbox.table} WHERE id = $1`, [id]);
    expect(rows[0].delivered_at).toBeInstanceOf(Date);
    expect(rows[0].attempts).toBe(1);
  });

  test('enqueueMany inserts in order and keys default to the event id', async () => {
    const outbox = await freshOutbox();
    const ids = await outbox.enqueueMany(pool, [
      { topic: 'a', payload: 1 },
      { topic: 'b', payload: 2 },
      { topic: 'c', payload: 3 },
    ]);
    const { rows } = await pool.query(`SELECT id::text, key, payload FROM ${outbox.table} ORDER BY position`);
    expect(rows.map((row) => row.id)).toEqual(ids);
    expect(rows.map((row) => row.key)).toEqual(ids);
    expect(rows.map((row) => row.payload)).toEqual([1, 2, 3]);
    expect(await outbox.stats(pool)).toMatchObject({ pending: 3, dead: 0 });
  });

  test('rejects malformed messages and unsafe names with TypeError', async () => {
    const outbox = await freshOutbox();
    await expect(outbox.enqueue(pool, { topic: '', payload: 1 })).rejects.toBeInstanceOf(TypeError);
    await expect(outbox.enqueue(pool, { topic: 't', payload: undefined })).rejects.toBeInstanceOf(TypeError);
    await expect(outbox.enqueue(pool, { topic: 't', payload: 1, headers: { n: 1 as never } })).rejects.toBeInstanceOf(
      TypeError,
    );
    expect(() => createOutbox({ table: 'x; DROP TABLE y' })).toThrow(TypeError);
    expect(() => createOutbox({ channel: 'Bad-Channel' })).toThrow(TypeError);
    expect(() => createOutboxRelay({ pool, publish: () => {}, batchSize: 0 })).toThrow(TypeError);
  });

  test('LISTEN/NOTIFY wakes the relay at once, long before the next poll', async () => {
    const outbox = await freshOutbox();
    const published: string[] = [];
    const relay = relayFor(outbox, (event) => void published.push(event.id), { pollIntervalMs: 60_000 });
    const up = new Promise<boolean>((resolve) => relay.on('listening', resolve));
    relay.start();
    expect(await up).toBe(true);
    await until(() => relay.listening);
    // The relay has done its first (empty) batch and now sleeps for a minute unless notified.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const id = await withTransaction(pool, (tx) => outbox.enqueue(tx, { topic: 't', key: 'k', payload: {} }));
    await until(() => published.includes(id), 5000);
  });

  test('enqueueSql writes a change and its event in one statement, wakes the relay, and is all or nothing', async () => {
    const outbox = await freshOutbox();
    const notes = `notes_${tableCounter}`;
    await pool.query(`CREATE TABLE ${notes} (id int PRIMARY KEY, body text NOT NULL)`);
    const insert = `WITH n AS (INSERT INTO ${notes} (id, body) VALUES ($1, $2) RETURNING *),
      e AS (${outbox.enqueueSql({ from: 'n', id: '$3::uuid', topic: "'note.added'", key: "'notes'", payload: 'to_jsonb(n)' })})
    SELECT * FROM n`;
    const published: OutboxEvent[] = [];
    const relay = relayFor(outbox, (event) => void published.push(event), { pollIntervalMs: 60_000 });
    const up = new Promise<boolean>((resolve) => relay.on('listening', resolve));
    relay.start();
    expect(await up).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 100));

    const id = uuidv7();
    const { rows } = await pool.query(insert, [1, 'first', id]);
    expect(rows).toEqual([{ id: 1, body: 'first' }]);
    // Only the NOTIFY can wake a relay that polls once a minute.
    await until(() => published.length === 1, 5000);
    expect(published[0]).toMatchObject({ id, topic: 'note.added', key: 'notes', payload: { id: 1, body: 'first' } });

    // The same primary key again: the statement fails as a whole, so no event is left behind.
    await expect(pool.query(insert, [1, 'again', uuidv7()])).rejects.toMatchObject({ code: '23505' });
    expect(await outbox.stats(pool)).toMatchObject({ pending: 0 });
    expect((await pool.query(`SELECT count(*)::int AS n FROM ${outbox.table}`)).rows[0].n).toBe(1);
    expect(() => outbox.enqueueSql({ from: 'n', id: '', topic: "'t'", key: "'k'", payload: '1' })).toThrow(TypeError);
  });

  test('wake() starts a sleeping relay at once, for an outbox that does not notify', async () => {
    const quiet = createOutbox({ ...(await freshOutbox()), notify: false });
    const published: string[] = [];
    const relay = relayFor(quiet, (event) => void published.push(event.id), { pollIntervalMs: 60_000 });
    relay.start();
    await until(() => relay.listening);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const unseen = await quiet.enqueue(pool, { topic: 't', payload: 1 });
    // No NOTIFY: nothing wakes the relay for a minute...
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(published).toEqual([]);
    // ...until its producer says so.
    relay.wake();
    await until(() => published.includes(unseen), 2000);
  });

  test('lingerMs: events arriving one by one under load travel in a few batches, in order', async () => {
    const batchesFor = async (lingerMs: number) => {
      const outbox = await freshOutbox();
      let batches = 0;
      const counting = {
        connect: () => {
          batches++;
          return pool.connect();
        },
      };
      const published: number[] = [];
      const relay = createOutboxRelay({
        pool: counting,
        outbox,
        listen: false,
        pollIntervalMs: 1,
        lingerMs,
        publish: (event) => void published.push((event.payload as { n: number }).n),
      });
      relays.push(relay);
      relay.start();
      // Two at a time: the batches hold several events, as under load.
      for (let n = 0; n < 40; n += 2) {
        await outbox.enqueueMany(pool, [
          { topic: 't', key: 'k', payload: { n } },
          { topic: 't', key: 'k', payload: { n: n + 1 } },
        ]);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await until(() => published.length === 40);
      await relay.stop();
      expect(published).toEqual([...Array(40).keys()]);
      return batches;
    };
    const eager = await batchesFor(0);
    const lingering = await batchesFor(60);
    // 40 events over ~100 ms: one batch per ~60 ms, against one (or more) per pair.
    expect(lingering).toBeLessThan(10);
    expect(eager).toBeGreaterThan(lingering * 2);
  });

  test('lingerMs does not delay a quiet outbox: single events go out at once', async () => {
    const outbox = await freshOutbox();
    const published = new Map<number, number>();
    const relay = relayFor(outbox, (event) => void published.set((event.payload as { n: number }).n, Date.now()), {
      lingerMs: 500,
    });
    relay.start();
    await until(() => relay.listening);
    const lateness: number[] = [];
    for (let n = 0; n < 5; n++) {
      const at = Date.now();
      await outbox.enqueue(pool, { topic: 't', key: 'k', payload: { n } });
      await until(() => published.has(n), 2000);
      lateness.push((published.get(n) as number) - at);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // Far below the 500 ms a lingering relay would wait.
    expect(Math.max(...lateness)).toBeLessThan(250);
  });

  test('a failing publish is retried with backoff, holds back its key, and is recorded', async () => {
    const outbox = await freshOutbox();
    const order: number[] = [];
    let failuresLeft = 2;
    const failures: { attempts: number; nextAttemptAt: Date | undefined }[] = [];
    const relay = relayFor(outbox, (event) => {
      const n = (event.payload as { n: number }).n;
      if (n === 1 && failuresLeft-- > 0) throw new Error('broker down');
      order.push(n);
    });
    relay.on('failed', ({ attempts, nextAttemptAt }) => failures.push({ attempts, nextAttemptAt }));
    await outbox.enqueueMany(
      pool,
      [1, 2, 3].map((n) => ({ topic: 't', key: 'same', payload: { n } })),
    );
    await outbox.enqueue(pool, { topic: 't', key: 'other', payload: { n: 9 } });
    expect(await relay.runOnce()).toEqual({ claimed: 4, delivered: 1, failed: 1 });
    expect(order).toEqual([9]);
    const { rows } = await pool.query(
      `SELECT attempts, last_error, next_attempt_at > now() AS later FROM ${outbox.table} WHERE payload->>'n' = '1'`,
    );
    expect(rows[0]).toMatchObject({ attempts: 1, last_error: 'Error: broker down', later: true });
    // Not due yet: nothing of key "same" may go out, not even the events behind it.
    expect(await relay.runOnce()).toEqual({ claimed: 0, delivered: 0, failed: 0 });
    relay.start();
    await until(() => order.length === 4);
    expect(order).toEqual([9, 1, 2, 3]);
    expect(failures.map((failure) => failure.attempts)).toEqual([1, 2]);
    expect(failures.every((failure) => failure.nextAttemptAt instanceof Date)).toBe(true);
  });

  test('after maxAttempts an event is dead: kept for inspection, its key moves on', async () => {
    const outbox = await freshOutbox();
    const published: number[] = [];
    const dead: string[] = [];
    const relay = relayFor(
      outbox,
      (event) => {
        const n = (event.payload as { n: number }).n;
        if (n === 1) throw new Error('poison');
        published.push(n);
      },
      { maxAttempts: 2, backoff: { initialMs: 0, maxMs: 0 } },
    );
    relay.on('failed', (failure) => failure.dead && dead.push(failure.event.id));
    const [poison] = await outbox.enqueueMany(
      pool,
      [1, 2].map((n) => ({ topic: 't', key: 'k', payload: { n } })),
    );
    await relay.runOnce();
    await relay.runOnce();
    await relay.runOnce();
    expect(dead).toEqual([poison]);
    expect(published).toEqual([2]);
    expect(await outbox.stats(pool)).toMatchObject({ pending: 0, dead: 1 });
  });

  test('a publish that hangs times out and is retried', async () => {
    const outbox = await freshOutbox();
    let calls = 0;
    const errors: unknown[] = [];
    const relay = relayFor(
      outbox,
      () => {
        calls++;
        return calls === 1 ? new Promise(() => {}) : undefined;
      },
      { publishTimeoutMs: 50, backoff: { initialMs: 0, maxMs: 0 } },
    );
    relay.on('failed', ({ error }) => errors.push(error));
    await outbox.enqueue(pool, { topic: 't', payload: 1 });
    expect(await relay.runOnce()).toMatchObject({ failed: 1 });
    expect(await relay.runOnce()).toMatchObject({ delivered: 1 });
    expect(errors[0]).toMatchObject({ code: 'PUBLISH_TIMEOUT' });
  });

  test.each([
    { scenario: 'many keys (walk)', keys: 12, perKey: 15, batchSize: 10 },
    { scenario: 'few hot keys (loose index scan)', keys: 4, perKey: 60, batchSize: 40 },
  ])(
    'two relays at once, $scenario: no event published twice, never two relays on one key, per-key order kept',
    async ({ keys, perKey, batchSize }) => {
      // One relay can hold every hot key for a whole batch, and on a loaded machine it may win
      // every race: run again (fresh outbox) until both relays delivered something, so the
      // checks below did face concurrency. Every run must be clean.
      for (let run = 1; ; run++) {
        const byRelay = await twoRelaysRun(keys, perKey, batchSize);
        if ((byRelay.a > 0 && byRelay.b > 0) || run === 5) {
          expect(byRelay.a).toBeGreaterThan(0);
          expect(byRelay.b).toBeGreaterThan(0);
          break;
        }
      }
    },
  );

  async function twoRelaysRun(keys: number, perKey: number, batchSize: number): Promise<{ a: number; b: number }> {
    const outbox = await freshOutbox();
    const messages = [];
    for (let i = 0; i < perKey; i++) {
      for (let k = 0; k < keys; k++) messages.push({ topic: 't', key: `chat:${k}`, payload: { k, i } });
    }
    await outbox.enqueueMany(pool, messages);
    const seen = new Map<string, string>();
    const lastIndex = new Map<number, number>();
    const busyKeys = new Set<string>();
    const violations: string[] = [];
    const byRelay = { a: 0, b: 0 };
    const publisher = (name: 'a' | 'b') => async (event: OutboxEvent) => {
      if (busyKeys.has(event.key)) violations.push(`${event.key} published by two relays at once`);
      busyKeys.add(event.key);
      const previous = seen.get(event.id);
      if (previous) violations.push(`${event.id} published by ${previous} and ${name}`);
      seen.set(event.id, name);
      const { k, i } = event.payload as { k: number; i: number };
      if ((lastIndex.get(k) ?? -1) !== i - 1) violations.push(`key ${k}: ${i} after ${lastIndex.get(k)}`);
      lastIndex.set(k, i);
      byRelay[name]++;
      // A slow publisher keeps batches overlapping.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 4));
      busyKeys.delete(event.key);
    };
    const a = relayFor(outbox, publisher('a'), { batchSize, listen: false, pollIntervalMs: 5 });
    const b = relayFor(outbox, publisher('b'), { batchSize, listen: false, pollIntervalMs: 5 });
    a.start();
    b.start();
    await until(() => seen.size === keys * perKey, 20_000);
    await Promise.all([a.stop(), b.stop()]);
    expect(violations).toEqual([]);
    expect(seen.size).toBe(keys * perKey);
    expect(await outbox.stats(pool)).toMatchObject({ pending: 0 });
    return byRelay;
  }

  test('stop() waits for the publish in flight and its delivered mark', async () => {
    const outbox = await freshOutbox();
    const started = deferred();
    const finish = deferred();
    const relay = relayFor(outbox, async () => {
      started.resolve();
      await finish.promise;
    });
    await outbox.enqueue(pool, { topic: 't', payload: 1 });
    relay.start();
    await started.promise;
    let stopped = false;
    const stopping = relay.stop().then(() => {
      stopped = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stopped).toBe(false);
    finish.resolve();
    await stopping;
    expect(relay.running).toBe(false);
    expect(await outbox.stats(pool)).toMatchObject({ pending: 0 });
    expect(pool.totalCount - pool.idleCount).toBe(0);
  });

  test('a relay that loses its LISTEN connection keeps polling and reconnects', async () => {
    const outbox = await freshOutbox();
    const published: string[] = [];
    const relay = relayFor(outbox, (event) => void published.push(event.id), { pollIntervalMs: 200 });
    const states: boolean[] = [];
    relay.on('listening', (up) => states.push(up));
    relay.on('error', () => {});
    relay.start();
    await until(() => relay.listening);
    const { rowCount } = await pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1 AND datname = current_database()`,
      [`LISTEN ${outbox.channel}`],
    );
    expect(rowCount).toBe(1);
    await until(() => states.includes(false));
    const id = await outbox.enqueue(pool, { topic: 't', payload: 'while reconnecting' });
    await until(() => published.includes(id));
    await until(() => relay.listening && states.length >= 3);
    expect(states.slice(0, 3)).toEqual([true, false, true]);
    const later = await outbox.enqueue(pool, { topic: 't', payload: 'after' });
    await until(() => published.includes(later));
  });

  test('cleanup deletes delivered events older than the retention, never pending ones', async () => {
    const outbox = await freshOutbox();
    const relay = relayFor(outbox, () => {}, { retentionMs: 0 });
    await outbox.enqueueMany(pool, [
      { topic: 't', payload: 1 },
      { topic: 't', payload: 2 },
    ]);
    await relay.runOnce();
    await outbox.enqueue(pool, { topic: 't', payload: 3 });
    expect(await relay.cleanup()).toBe(2);
    const { rows } = await pool.query(`SELECT payload FROM ${outbox.table}`);
    expect(rows).toEqual([{ payload: 3 }]);
  });
});
