/**
 * Page fetch time at depth 0, 10k, 500k and 990k of a 1,000,000-row messages list, in one
 * process on one Postgres: @switchboard/pagination's keyset page (default, and with
 * `preparedStatements`) against the same page by OFFSET (what offset cursors, e.g.
 * graphql-relay's, compile to; at depth 0 a plain ORDER BY … LIMIT). Interleaved rounds, medians.
 *
 * Run: npm run bench -w @switchboard/pagination
 */
import os from 'node:os';
import { compare, type Measurement } from '@switchboard/bench';
import { startTopology } from '@switchboard/infra';
// By package name: the built dist/ that users install.
import { createPaginator } from '@switchboard/pagination';
import pg from 'pg';
import { fillMessages, postgresCpuClock } from './fixture.ts';

const ROWS = 1_000_000;
const PAGE = 20;
const DEPTHS = [0, 10_000, 500_000, 990_000];
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 700);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const CPU_ROUNDS = 5;
const CPU_CALLS = 2000;
// USER_HZ: the unit of utime/stime in /proc/<pid>/stat on Linux.

const topology = await startTopology({ postgres: { replicas: 0 }, redis: false });
try {
  const pool = new pg.Pool({ connectionString: topology.info.postgres?.primary, max: 2 });
  // Idle connections see the server stop at the end; that is not an error of the bench.
  pool.on('error', () => {});
  let started = performance.now();
  await fillMessages(pool, ROWS);
  console.error(`filled ${ROWS} rows and indexed in ${Math.round(performance.now() - started)} ms`);

  const paginator = createPaginator({
    orderBy: [
      { field: 'createdAt', column: 'created_at', direction: 'desc' },
      { field: 'id', column: 'id', direction: 'desc' },
    ],
    maxPageSize: 100,
  });
  // The same order with named prepared statements (parsed and planned once per connection).
  const prepared = createPaginator({
    orderBy: paginator.orderBy,
    maxPageSize: 100,
    preparedStatements: true,
  });
  const source = { table: 'messages', where: 'chat_id = $1', params: [1] };
  // Both lookups share a queryKey, so the cursor of the row just above each depth (found once
  // with OFFSET) is valid for the real page query.
  const queryKey = 'bench:chat:1';
  const cursors = new Map<number, string | null>();
  started = performance.now();
  for (const depth of DEPTHS) {
    if (depth === 0) {
      cursors.set(0, null);
      continue;
    }
    const above = await paginator.fromPostgres(
      pool,
      {
        table: 'messages',
        where: `chat_id = $1 AND (created_at, id) <= (SELECT created_at, id FROM messages WHERE chat_id = $1 ORDER BY created_at DESC, id DESC OFFSET $2 LIMIT 1)`,
        params: [1, depth - 1],
      },
      { first: 1 },
      { queryKey },
    );
    cursors.set(depth, above.pageInfo.endCursor);
  }
  console.error(`cursors found in ${Math.round(performance.now() - started)} ms`);

  // Each call reads `endCursor`, as a client that pages on does: cursors are made when read, so a
  // page nobody asks a cursor of would leave out the MAC a real client pays for.
  const firstPageOf = (through: typeof paginator) => (depth: number) => async () => {
    const page = await through.fromPostgres(
      pool,
      source,
      { first: PAGE, after: cursors.get(depth) ?? null },
      { queryKey },
    );
    if (page.pageInfo.endCursor === null) throw new Error('no endCursor');
    return page;
  };
  const keyset = firstPageOf(paginator);
  const keysetPrepared = firstPageOf(prepared);
  const offset = (depth: number) => () =>
    pool.query('SELECT * FROM messages WHERE chat_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3', [
      1,
      PAGE + 1,
      depth,
    ]);

  // Same rows from both, or the comparison means nothing.
  for (const depth of DEPTHS) {
    const ours = await keyset(depth)();
    const ids = ours.edges.map((edge) => String((edge.node as { id: unknown }).id));
    const theirs = (await offset(depth)()).rows.slice(0, PAGE).map((row) => String(row.id));
    if (ids.join() !== theirs.join()) throw new Error(`keyset and OFFSET disagree at depth ${depth}`);
    if (JSON.stringify(await keysetPrepared(depth)()) !== JSON.stringify(ours)) {
      throw new Error(`prepared and unprepared pages differ at depth ${depth}`);
    }
  }

  // The plans, for the record (stderr): an index scan that starts at the cursor, at any depth.
  if (process.env.BENCH_EXPLAIN) {
    for (const depth of [0, DEPTHS[DEPTHS.length - 1] as number]) {
      const captured: { text: string; values: unknown[] }[] = [];
      await paginator.fromPostgres(
        {
          query: (text, values) => {
            captured.push({ text, values: values ?? [] });
            return pool.query(text, values);
          },
        },
        source,
        { first: PAGE, after: cursors.get(depth) ?? null },
        { queryKey },
      );
      const { text, values } = captured[0] as { text: string; values: unknown[] };
      const plan = await pool.query(`EXPLAIN (ANALYZE, BUFFERS) ${text}`, values);
      console.error(`depth ${depth}:\n${text}\n${plan.rows.map((row) => row['QUERY PLAN']).join('\n')}`);
    }
  }

  const contenders: Record<string, () => Promise<unknown>> = {};
  for (const depth of DEPTHS) {
    contenders[`keyset@${depth}`] = keyset(depth);
    contenders[`prepared@${depth}`] = keysetPrepared(depth);
    contenders[`offset@${depth}`] = offset(depth);
  }
  const results = await compare(contenders, { concurrency: 1, durationMs: DURATION_MS, rounds: ROUNDS });
  const get = (name: string) => results[name] as Measurement;
  const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

  const lines = [
    `${ROWS.toLocaleString('en-US')} rows, page of ${PAGE}, 1 in flight, ${ROUNDS} interleaved rounds of ${DURATION_MS} ms, medians; ` +
      `${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores (shared), Node ${process.version}, PostgreSQL 15`,
    '',
    '| depth (rows skipped) | keyset p50 ms | keyset p99 ms | prepared p50 ms | prepared p99 ms | OFFSET p50 ms | OFFSET p99 ms | OFFSET / keyset |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...DEPTHS.map((depth) => {
      const k = get(`keyset@${depth}`);
      const p = get(`prepared@${depth}`);
      const o = get(`offset@${depth}`);
      return `| ${depth.toLocaleString('en-US')} | ${fmt(k.p50Ms)} | ${fmt(k.p99Ms)} | ${fmt(p.p50Ms)} | ${fmt(p.p99Ms)} | ${fmt(o.p50Ms)} | ${fmt(o.p99Ms)} | ${fmt(o.p50Ms / k.p50Ms)}× |`;
    }),
  ];
  const deepest = DEPTHS[DEPTHS.length - 1] as number;
  const keysetRatio = get(`keyset@${deepest}`).p50Ms / get('keyset@0').p50Ms;
  const offsetRatio = get(`offset@${deepest}`).p50Ms / get('offset@0').p50Ms;
  const firstRatio = (name: string) => {
    const ratio = get(`${name}@0`).p50Ms / get('offset@0').p50Ms;
    return `${ratio.toFixed(2)}× (${ratio <= 1.2 ? 'met' : 'NOT met'})`;
  };
  lines.push(
    '',
    `Deepest page / first page (p50): keyset ${keysetRatio.toFixed(2)}× (goal ≤ 1.5×: ${keysetRatio <= 1.5 ? 'met' : 'NOT met'}), OFFSET ${offsetRatio.toFixed(0)}×.`,
    `First page / the same rows by a plain ORDER BY … LIMIT (OFFSET 0), p50: keyset ${firstRatio('keyset')}, prepared ${firstRatio('prepared')} (goal ≤ 1.2×).`,
  );

  // Latency on a shared machine mostly measures the neighbours. CPU time per call (this process
  // plus the Postgres backends, from /proc) is what a first page costs, and holds still.
  const postgresCpuUs = await postgresCpuClock(pool);
  if (process.platform === 'linux') {
    const firstPages = { offset: offset(0), keyset: keyset(0), prepared: keysetPrepared(0) };
    const cpu: Record<string, number[]> = { offset: [], keyset: [], prepared: [] };
    for (let round = 0; round < CPU_ROUNDS; round++) {
      for (const [name, run] of Object.entries(firstPages)) {
        const postgresBefore = postgresCpuUs();
        const usage = process.cpuUsage();
        for (let i = 0; i < CPU_CALLS; i++) await run();
        const node = process.cpuUsage(usage);
        const postgresUs = postgresCpuUs() - postgresBefore;
        cpu[name]?.push((node.user + node.system + postgresUs) / CPU_CALLS);
      }
    }
    const median = (list: readonly number[]) => [...list].sort((a, b) => a - b)[list.length >> 1] as number;
    const [plain, ours, oursPrepared] = ['offset', 'keyset', 'prepared'].map((name) => median(cpu[name] ?? []));
    lines.push(
      `CPU per first page (Node + Postgres, median of ${CPU_ROUNDS} interleaved rounds of ${CPU_CALLS} calls): ` +
        `plain ORDER BY … LIMIT ${fmt((plain as number) / 1000)} ms, keyset ${fmt((ours as number) / 1000)} ms ` +
        `(${((ours as number) / (plain as number)).toFixed(2)}×), prepared ${fmt((oursPrepared as number) / 1000)} ms ` +
        `(${((oursPrepared as number) / (plain as number)).toFixed(2)}×).`,
    );
  }
  console.log(lines.join('\n'));
  await pool.end();
} finally {
  await topology.stop();
}
