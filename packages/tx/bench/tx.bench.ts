/**
 * Side by side, in one process, on a Postgres of its own (primary only, 127.0.0.1):
 *
 * 1. `withTransaction` overhead: a one-statement transaction through `withTransaction` against the
 *    same transaction written by hand on a pooled client (BEGIN / UPDATE / COMMIT, ROLLBACK on
 *    error, release). Interleaved rounds, median round each.
 * 2. Outbox throughput: writers enqueue one event per transaction (many keys) while one relay
 *    (LISTEN/NOTIFY on) publishes them to a no-op; events/s enqueued and delivered end to end.
 * 3. Added latency commit → publish with LISTEN/NOTIFY (and with polling only, for contrast):
 *    one writer paced every 5 ms; time from COMMIT returning to `publish` being called.
 * 4. Draining a backlog with one relay, hot keys and distinct keys.
 *
 * Run: npm run bench -w @switchboard/tx
 */
import os from 'node:os';
import { compare, type Measurement } from '@switchboard/bench';
import { benchTelemetry } from '@switchboard/bench/telemetry';
import { startTopology } from '@switchboard/infra';
// By package name: the built dist/ that users install.
import { createOutbox, createOutboxRelay, setDefaultTelemetry, withTransaction } from '@switchboard/tx';
import { migrations } from '@switchboard/tx/postgres';
import pg from 'pg';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 1_500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONCURRENCY = 8;

// BENCH_TELEMETRY=on (npm run bench:ab -- tx --telemetry): transactions, outbox enqueues and the
// relay's claims and publishes traced, through the package's one default (what the factories fall
// back to).
const telemetry = await benchTelemetry();
if (telemetry.option) setDefaultTelemetry(telemetry.option);
const topology = await startTopology({ postgres: { replicas: 0 }, redis: false });
const url = topology.info.postgres?.primary as string;
const pool = new pg.Pool({ connectionString: url, max: 20 });
// Idle clients see the server's shutdown at the very end; nothing to report then.
pool.on('error', () => {});
const lines: string[] = [];
const say = (line: string) => {
  lines.push(line);
  process.stderr.write(`${line}\n`);
};

try {
  await pool.query('CREATE TABLE counters (id int PRIMARY KEY, n bigint NOT NULL)');
  await pool.query('INSERT INTO counters SELECT g, 0 FROM generate_series(0, 999) g');
  for (const migration of migrations) await pool.query(migration.sql);

  // 1. Overhead.
  const update = 'UPDATE counters SET n = n + 1 WHERE id = $1';
  const results = await compare(
    {
      withTransaction: (i) => withTransaction(pool, (tx) => tx.query(update, [i % 1000])),
      'hand-written BEGIN/COMMIT': async (i) => {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          const result = await client.query(update, [i % 1000]);
          await client.query('COMMIT');
          return result;
        } catch (error) {
          await client.query('ROLLBACK');
          throw error;
        } finally {
          client.release();
        }
      },
    },
    { concurrency: CONCURRENCY, durationMs: DURATION_MS, rounds: ROUNDS },
  );
  const ours = results.withTransaction as Measurement;
  const theirs = results['hand-written BEGIN/COMMIT'] as Measurement;
  const overhead = (theirs.opsPerSec / ours.opsPerSec - 1) * 100;
  const row = (name: string, m: Measurement, ratio: string) =>
    `| ${name} | ${Math.round(m.opsPerSec).toLocaleString('en-US')} | ${m.p50Ms.toFixed(3)} | ${m.p99Ms.toFixed(3)} | ${ratio} |`;
  say(
    `${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${os.cpus().length} cores (shared), PostgreSQL 15 on 127.0.0.1, ${CONCURRENCY} in flight, median of ${ROUNDS} interleaved ${DURATION_MS / 1000} s rounds${telemetry.note}`,
  );
  say('');
  say('| one-UPDATE transaction | tx/s | p50 ms | p99 ms | overhead |');
  say('| --- | ---: | ---: | ---: | ---: |');
  say(row('**withTransaction**', ours, `${overhead.toFixed(1)} %`));
  say(row('hand-written BEGIN/COMMIT on a pooled client', theirs, ''));
  say('');

  // 2. Throughput: enqueue and deliver, 8 writers, 64 keys, one relay.
  const outbox = createOutbox();
  const committedAt = new Map<string, number>();
  const publishedAt = new Map<string, number>();
  let delivered = 0;
  const relay = createOutboxRelay({
    pool,
    outbox,
    batchSize: 200,
    publish: (event) => {
      delivered++;
      publishedAt.set(event.id, performance.now());
    },
  });
  relay.start();
  while (!relay.listening) await new Promise((resolve) => setTimeout(resolve, 10));
  const throughputMs = DURATION_MS * 2;
  let enqueued = 0;
  const startedAt = performance.now();
  const deadline = startedAt + throughputMs;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, writer) => {
      for (let i = 0; performance.now() < deadline; i++) {
        await withTransaction(pool, (tx) =>
          outbox.enqueue(tx, { topic: 'bench', key: `chat:${(writer * 8 + i) % 64}`, payload: { writer, i } }),
        );
        enqueued++;
      }
    }),
  );
  const enqueuedMs = performance.now() - startedAt;
  while (delivered < enqueued) await new Promise((resolve) => setTimeout(resolve, 5));
  const allDeliveredMs = performance.now() - startedAt;
  say('| outbox, 8 writers × 1 event per transaction, 64 keys, 1 relay | events | events/s |');
  say('| --- | ---: | ---: |');
  say(`| enqueued (committed) | ${enqueued} | ${Math.round((enqueued / enqueuedMs) * 1000).toLocaleString('en-US')} |`);
  say(
    `| enqueued + delivered (until the last was published) | ${delivered} | ${Math.round((delivered / allDeliveredMs) * 1000).toLocaleString('en-US')} |`,
  );
  say('');

  // 3. Latency commit → publish, one writer paced every 5 ms.
  const latencyRow = async (label: string) => {
    const ids: string[] = [];
    for (let i = 0; i < 300; i++) {
      const id = await withTransaction(pool, async (tx) => {
        const eventId = await outbox.enqueue(tx, { topic: 'bench', key: `paced:${i % 16}`, payload: { i } });
        tx.afterCommit(() => {
          committedAt.set(eventId, performance.now());
        });
        return eventId;
      });
      ids.push(id);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    while (!ids.every((id) => publishedAt.has(id))) await new Promise((resolve) => setTimeout(resolve, 5));
    const sorted = ids
      .map((id) => (publishedAt.get(id) as number) - (committedAt.get(id) as number))
      .sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
    say(`| ${label} | ${at(0.5).toFixed(2)} | ${at(0.99).toFixed(2)} |`);
  };
  say('| added latency, COMMIT returned → publish called (300 events, 1 writer every 5 ms) | p50 ms | p99 ms |');
  say('| --- | ---: | ---: |');
  await latencyRow('LISTEN/NOTIFY (pollIntervalMs 1000 as fallback)');
  await relay.stop();
  const pollingRelay = createOutboxRelay({
    pool,
    outbox,
    listen: false,
    pollIntervalMs: 100,
    publish: (event) => {
      publishedAt.set(event.id, performance.now());
    },
  });
  pollingRelay.start();
  await latencyRow('polling only, pollIntervalMs 100 (for contrast)');
  await pollingRelay.stop();

  // 4. Draining a backlog (relay restarted after an outage): 10,000 events, one relay, batches of 200.
  say('');
  say('| draining a backlog of 10,000 events, 1 relay, batchSize 200 | events/s |');
  say('| --- | ---: |');
  for (const [label, keyOf] of [
    ['64 keys (hot chats)', (i: number) => `chat:${i % 64}`],
    ['every event its own key (the default)', () => undefined],
  ] as const) {
    for (let chunk = 0; chunk < 10; chunk++) {
      await outbox.enqueueMany(
        pool,
        Array.from({ length: 1000 }, (_, i) => {
          const key = keyOf(chunk * 1000 + i);
          return key === undefined ? { topic: 'bench', payload: { i } } : { topic: 'bench', key, payload: { i } };
        }),
      );
    }
    await pool.query(`ANALYZE ${outbox.table}`);
    const drainer = createOutboxRelay({ pool, outbox, batchSize: 200, publish: () => {} });
    const begin = performance.now();
    let drained = 0;
    for (;;) {
      const { delivered: count } = await drainer.runOnce();
      if (count === 0) break;
      drained += count;
    }
    say(`| ${label} | ${Math.round((drained / (performance.now() - begin)) * 1000).toLocaleString('en-US')} |`);
  }
} finally {
  await pool.end();
  await topology.stop();
}
process.stdout.write(`${lines.join('\n')}\n`);
