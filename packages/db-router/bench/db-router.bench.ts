/**
 * Side by side, in one process: reads through @switchboard/db-router against a bare `pg.Pool`
 * on the same replica (same pool size, same concurrency: the router's overhead), and total read
 * throughput with 2 replicas against the primary alone. Prints a markdown table for the README.
 *
 * Run: npm run bench -w @switchboard/db-router   (starts its own Postgres primary + 2 replicas)
 */
import os from 'node:os';
import { type Measurement, measure } from '@switchboard/bench';
import { benchTelemetry } from '@switchboard/bench/telemetry';
// By package name: the built dist/ that users install.
import { createDbRouter } from '@switchboard/db-router';
import { startTopology } from '@switchboard/infra';
import pg from 'pg';

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const POOL_SIZE = 10;
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 1_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const ROWS = 10_000;
const SQL = 'SELECT id, owner, body FROM items WHERE id = $1';

// BENCH_TELEMETRY=on (npm run bench:ab -- db-router --telemetry): a client span per query.
const telemetry = await benchTelemetry();
const topology = await startTopology({ postgres: { replicas: 2, maxConnections: 200 }, redis: false });
const info = topology.info.postgres;
if (!info) throw new Error('no postgres');
const [replica1, replica2] = info.replicas as [string, string];
const rows: string[] = [];
const closers: (() => Promise<void>)[] = [];

try {
  const setup = new pg.Pool({ connectionString: info.primary, max: 1 });
  await setup.query('CREATE TABLE items (id int PRIMARY KEY, owner text NOT NULL, body text NOT NULL)');
  await setup.query(
    `INSERT INTO items SELECT i, 'user-' || (i % 100), repeat('x', 100) FROM generate_series(1, ${ROWS}) AS i`,
  );
  await setup.end();

  const id = (i: number) => [(i % ROWS) + 1];

  {
    // Overhead: the same replica behind the router and behind a bare pool.
    const bare = new pg.Pool({ connectionString: replica1, max: POOL_SIZE });
    // An A/A control: a second bare pool shows how far two identical contenders drift apart on
    // this shared machine (the router's rows mean something only beyond that).
    const control = new pg.Pool({ connectionString: replica1, max: POOL_SIZE });
    const router = await createDbRouter({
      primary: info.primary,
      replicas: [replica1],
      pool: { max: POOL_SIZE },
      telemetry: telemetry.option,
    });
    closers.push(
      () => bare.end(),
      () => router.close(),
    );
    // A token every replica has long replayed: the router's "known reached" path.
    const token = await router.captureToken();
    await waitUntilReplayed(router, token);
    const reader = router.reader({ token });
    const results = await interleaved(
      {
        'bare pg.Pool on the replica': (i) => bare.query(SQL, id(i)),
        'router.read (1 replica)': (i) => router.read(SQL, id(i)),
        'router.reader({ token }) (token replayed)': (i) => reader.query(SQL, id(i)),
        'bare pg.Pool again (A/A control)': (i) => control.query(SQL, id(i)),
      },
      { concurrency: CONCURRENCY, durationMs: DURATION_MS, rounds: ROUNDS },
    );
    addRows('point read, same replica, same pool size', results, 'bare pg.Pool on the replica');
  }

  {
    // Scale-out: total read throughput of two replicas against the primary alone.
    const primaryOnly = new pg.Pool({ connectionString: info.primary, max: POOL_SIZE });
    const router = await createDbRouter({
      primary: info.primary,
      replicas: [replica1, replica2],
      pool: { max: POOL_SIZE },
      telemetry: telemetry.option,
    });
    const routerNoReplicas = await createDbRouter({
      primary: info.primary,
      pool: { max: POOL_SIZE },
      telemetry: telemetry.option,
    });
    closers.push(
      () => primaryOnly.end(),
      () => router.close(),
      () => routerNoReplicas.close(),
    );
    const results = await interleaved(
      {
        'primary only (bare pg.Pool)': (i) => primaryOnly.query(SQL, id(i)),
        'router, no replicas (all reads on the primary)': (i) => routerNoReplicas.read(SQL, id(i)),
        'router, 2 replicas': (i) => router.read(SQL, id(i)),
      },
      { concurrency: CONCURRENCY * 2, durationMs: DURATION_MS, rounds: ROUNDS },
    );
    addRows('point read, total throughput', results, 'primary only (bare pg.Pool)');
  }

  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  console.log(
    `\n${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${os.cpus().length} cores, shared (${cpu}), ` +
      `pools of ${POOL_SIZE}, ${CONCURRENCY} reads in flight (${CONCURRENCY * 2} for throughput), ` +
      `median of ${ROUNDS} rounds of ${DURATION_MS / 1000} s, order rotated each round${telemetry.note}\n`,
  );
  console.log('| scenario | contender | reads/s | p50 ms | p99 ms | client CPU µs/read | reads/s ÷ baseline |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
  for (const row of rows) console.log(row);
} finally {
  for (const close of closers) await close().catch(() => undefined);
  await topology.stop();
}

interface Result extends Measurement {
  /** This process's CPU time (user + system) per read: the router's own cost, least disturbed by neighbours. */
  cpuMicrosPerOp: number;
}

/**
 * Every contender once per round, the order rotated each round (no contender always runs first
 * or last), each reported by its median round.
 */
async function interleaved(
  contenders: Record<string, (i: number) => Promise<unknown>>,
  options: { concurrency: number; durationMs: number; rounds: number },
): Promise<Record<string, Result>> {
  const names = Object.keys(contenders);
  const runs = new Map<string, Result[]>(names.map((name) => [name, []]));
  for (let round = 0; round < options.rounds; round++) {
    for (let slot = 0; slot < names.length; slot++) {
      const name = names[(round + slot) % names.length] as string;
      const run = contenders[name] as (i: number) => Promise<unknown>;
      const cpuBefore = process.cpuUsage();
      const measured = await measure(run, options);
      const cpu = process.cpuUsage(cpuBefore);
      const ops = (measured.opsPerSec * options.durationMs) / 1000;
      runs.get(name)?.push({ ...measured, cpuMicrosPerOp: (cpu.user + cpu.system) / ops });
    }
  }
  const medians: Record<string, Result> = {};
  for (const [name, list] of runs) {
    const median = <K extends keyof Result>(key: K) =>
      [...list].sort((a, b) => a[key] - b[key])[Math.floor(list.length / 2)]?.[key] ?? 0;
    medians[name] = {
      opsPerSec: median('opsPerSec'),
      p50Ms: median('p50Ms'),
      p99Ms: median('p99Ms'),
      cpuMicrosPerOp: median('cpuMicrosPerOp'),
    };
  }
  return medians;
}

function addRows(scenario: string, results: Record<string, Result>, baseline: string): void {
  const base = results[baseline];
  for (const [name, result] of Object.entries(results)) {
    const ratio = base && name !== baseline ? `${(result.opsPerSec / base.opsPerSec).toFixed(3)}×` : '';
    rows.push(
      `| ${scenario} | ${name} | ${Math.round(result.opsPerSec).toLocaleString('en-US')} | ${result.p50Ms.toFixed(2)} | ${result.p99Ms.toFixed(2)} | ${result.cpuMicrosPerOp.toFixed(1)} | ${ratio} |`,
    );
  }
}

async function waitUntilReplayed(router: Awaited<ReturnType<typeof createDbRouter>>, token: string): Promise<void> {
  const lsn = BigInt(`0x${token.slice(3)}`);
  for (let attempt = 0; attempt < 100; attempt++) {
    await router.checkHealth();
    const done = router.stats().replicas.every((replica) => {
      if (!replica.lsn) return false;
      const [high, low] = replica.lsn.split('/');
      return ((BigInt(`0x${high}`) << 32n) | BigInt(`0x${low}`)) >= lsn;
    });
    if (done) return;
  }
  throw new Error('replicas never replayed the setup');
}
