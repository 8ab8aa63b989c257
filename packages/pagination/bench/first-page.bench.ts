/**
 * The first page only (what most page loads are): `fromPostgres` against the same rows by a
 * plain `ORDER BY … LIMIT`, in one process on one Postgres, interleaved rounds, medians and
 * spread. With BASELINE=<path to another build's dist/index.js>, that build runs alongside, so a
 * change is measured back to back with the code before it.
 *
 * Three views: latency (closed loop, 1 in flight); CPU per call (Node + the Postgres backends,
 * from /proc, Linux only); and the JS alone (the same rows replayed from memory, no I/O).
 *
 * Run: npm run build -w @switchboard/pagination && npx tsx packages/pagination/bench/first-page.bench.ts
 */
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { compare } from '@switchboard/bench';
import { startTopology } from '@switchboard/infra';
import * as current from '@switchboard/pagination';
import pg from 'pg';
import { fillMessages, postgresCpuClock } from './fixture.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 200_000);
const PAGE = 20;
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const CPU_ROUNDS = Number(process.env.BENCH_CPU_ROUNDS ?? 9);
const CPU_CALLS = Number(process.env.BENCH_CPU_CALLS ?? 1000);
const JS_ROUNDS = Number(process.env.BENCH_JS_ROUNDS ?? 15);
const JS_CALLS = 5000;
const SECRET = 'a bench secret of at least 32 bytes';

type Module = typeof current;
const builds: Record<string, Module> = { new: current };
if (process.env.BASELINE) builds.old = (await import(pathToFileURL(process.env.BASELINE).href)) as Module;

const topology = await startTopology({ postgres: { replicas: 0 }, redis: false });
try {
  const pool = new pg.Pool({ connectionString: topology.info.postgres?.primary, max: 2 });
  pool.on('error', () => {});
  await fillMessages(pool, ROWS);

  const orderBy = [
    { field: 'createdAt', column: 'created_at', direction: 'desc' },
    { field: 'id', column: 'id', direction: 'desc' },
  ] as const;
  const source = { table: 'messages', where: 'chat_id = $1', params: [1] };
  const plain = () =>
    pool.query('SELECT * FROM messages WHERE chat_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2', [1, PAGE + 1]);
  const readCursors = (page: { edges: { cursor: string }[] }) => {
    let length = 0;
    for (const edge of page.edges) length += edge.cursor.length;
    return length;
  };

  type Run = (db: current.Queryable) => Promise<unknown>;
  const variants: Record<string, Run> = {};
  for (const [build, module] of Object.entries(builds)) {
    const make = (options: Partial<current.PaginatorOptions>) =>
      module.createPaginator({ orderBy: [...orderBy], maxPageSize: 100, ...options });
    const unsigned = make({ preparedStatements: false });
    const prepared = make({ preparedStatements: true });
    const signed = make({ secret: SECRET, preparedStatements: false });
    variants[`${build}`] = (db) => unsigned.fromPostgres(db, source, { first: PAGE });
    variants[`${build} +cursors`] = async (db) => readCursors(await unsigned.fromPostgres(db, source, { first: PAGE }));
    variants[`${build} prepared`] = (db) => prepared.fromPostgres(db, source, { first: PAGE });
    variants[`${build} signed +cursors`] = async (db) =>
      readCursors(await signed.fromPostgres(db, source, { first: PAGE }));
  }

  // Same page from every build, or the comparison means nothing.
  const reference = JSON.stringify((await plain()).rows.slice(0, PAGE));
  for (const [name, run] of Object.entries(variants)) {
    const page = (await builds[name.split(' ')[0] as string]
      ?.createPaginator({ orderBy: [...orderBy] })
      .fromPostgres(pool, source, { first: PAGE })) as current.Connection<unknown>;
    if (JSON.stringify(page.edges.map((edge) => edge.node)) !== reference) throw new Error(`${name}: other rows`);
    await run(pool);
  }

  const record = (lists: Record<string, number[]>, name: string, value: number) => {
    const list = lists[name] ?? [];
    list.push(value);
    lists[name] = list;
  };
  const median = (list: readonly number[]) => [...list].sort((a, b) => a - b)[list.length >> 1] as number;
  const spread = (list: readonly number[]) => {
    const sorted = [...list].sort((a, b) => a - b);
    return `${fmt(sorted[Math.floor(sorted.length / 4)] as number)}–${fmt(sorted[Math.floor((sorted.length * 3) / 4)] as number)}`;
  };
  const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(3));
  const out: string[] = [
    `first page of ${PAGE} from ${ROWS.toLocaleString('en-US')} rows; ${os.cpus().length} cores, load ${os
      .loadavg()
      .map((n) => n.toFixed(2))
      .join(' ')}, Node ${process.version}`,
  ];

  // Latency.
  const contenders: Record<string, () => Promise<unknown>> = { plain };
  for (const [name, run] of Object.entries(variants)) contenders[name] = () => run(pool);
  const latency = await compare(contenders, { concurrency: 1, durationMs: DURATION_MS, rounds: ROUNDS, warmupMs: 300 });
  const plainP50 = latency.plain?.p50Ms as number;
  out.push('', '| contender | p50 ms | p99 ms | p50 / plain |', '| --- | ---: | ---: | ---: |');
  for (const [name, m] of Object.entries(latency)) {
    out.push(`| ${name} | ${fmt(m.p50Ms)} | ${fmt(m.p99Ms)} | ${(m.p50Ms / plainP50).toFixed(2)}× |`);
  }

  // CPU per call, Node + Postgres backends.
  if (process.platform === 'linux') {
    const postgresCpuUs = await postgresCpuClock(pool);
    const cpu: Record<string, number[]> = {};
    for (let round = 0; round < CPU_ROUNDS; round++) {
      for (const [name, run] of Object.entries(contenders)) {
        const postgresBefore = postgresCpuUs();
        const usage = process.cpuUsage();
        for (let i = 0; i < CPU_CALLS; i++) await run();
        const node = process.cpuUsage(usage);
        const postgresUs = postgresCpuUs() - postgresBefore;
        record(cpu, name, (node.user + node.system + postgresUs) / CPU_CALLS);
      }
    }
    const base = median(cpu.plain ?? []);
    out.push(
      '',
      `CPU µs per call, Node + Postgres, ${CPU_ROUNDS} interleaved rounds of ${CPU_CALLS}: median (interquartile) and / plain`,
      '| contender | CPU µs | IQR | / plain |',
      '| --- | ---: | ---: | ---: |',
    );
    for (const [name, list] of Object.entries(cpu)) {
      out.push(`| ${name} | ${fmt(median(list))} | ${spread(list)} | ${(median(list) / base).toFixed(2)}× |`);
    }
  }

  // The JS alone: each variant's own statements answered from memory with what Postgres returned.
  const recorded = new Map<string, { rows: unknown[]; rowCount: number | null; fields?: unknown }>();
  const recorder: current.Queryable = {
    async query(text: unknown, values?: unknown[]) {
      const config = typeof text === 'string' ? { text, values } : (text as { text: string; values: unknown[] });
      const result = await pool.query(config.text, config.values);
      recorded.set(config.text, result);
      return result;
    },
  } as current.Queryable;
  for (const run of Object.values(variants)) await run(recorder);
  const replay = {
    query(text: unknown) {
      const key = typeof text === 'string' ? text : (text as { text: string }).text;
      return Promise.resolve(recorded.get(key));
    },
  } as unknown as current.Queryable;
  const js: Record<string, number[]> = {};
  for (let round = 0; round < JS_ROUNDS; round++) {
    for (const [name, run] of Object.entries(variants)) {
      const started = performance.now();
      for (let i = 0; i < JS_CALLS; i++) await run(replay);
      record(js, name, ((performance.now() - started) * 1000) / JS_CALLS);
    }
  }
  out.push(
    '',
    `JS µs per call (rows replayed from memory), ${JS_ROUNDS} interleaved rounds of ${JS_CALLS}: median (IQR)`,
    '| contender | µs | IQR |',
    '| --- | ---: | ---: |',
  );
  for (const [name, list] of Object.entries(js)) out.push(`| ${name} | ${fmt(median(list))} | ${spread(list)} |`);
  console.log(out.join('\n'));
  await pool.end();
} finally {
  await topology.stop();
}
