/**
 * Page fetch time at depth 0, 10k, 500k and 990k of a 1,000,000-row messages list, in one
 * process on one Postgres: @switchboard/pagination's keyset page against the same page by
 * OFFSET (what offset cursors, e.g. graphql-relay's, compile to). Interleaved rounds, medians.
 *
 * Run: npm run bench -w @switchboard/pagination
 */
import os from 'node:os';
import { compare, type Measurement } from '@switchboard/bench';
import { startTopology } from '@switchboard/infra';
// By package name: the built dist/ that users install.
import { createPaginator } from '@switchboard/pagination';
import pg from 'pg';

const ROWS = 1_000_000;
const PAGE = 20;
const DEPTHS = [0, 10_000, 500_000, 990_000];
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 700);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);

const topology = await startTopology({ postgres: { replicas: 0 }, redis: false });
try {
  const pool = new pg.Pool({ connectionString: topology.info.postgres?.primary, max: 2 });
  // Idle connections see the server stop at the end; that is not an error of the bench.
  pool.on('error', () => {});
  let started = performance.now();
  // One statement; timestamps repeat (4 messages per second) so the id tie-breaker matters.
  await pool.query(`
    CREATE TABLE messages (id bigint PRIMARY KEY, chat_id int NOT NULL, created_at timestamptz NOT NULL, body text NOT NULL);
    INSERT INTO messages
      SELECT g, 1, timestamptz '2024-01-01 00:00:00+00' + (g / 4) * interval '1 second', 'message number ' || g || ' with some text in it'
      FROM generate_series(1, ${ROWS}) g;
    CREATE INDEX messages_chat_newest ON messages (chat_id, created_at DESC, id DESC);
  `);
  await pool.query('VACUUM ANALYZE messages');
  console.error(`filled ${ROWS} rows and indexed in ${Math.round(performance.now() - started)} ms`);

  const paginator = createPaginator({
    orderBy: [
      { field: 'createdAt', column: 'created_at', direction: 'desc' },
      { field: 'id', column: 'id', direction: 'desc' },
    ],
    maxPageSize: 100,
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

  const keyset = (depth: number) => () =>
    paginator.fromPostgres(pool, source, { first: PAGE, after: cursors.get(depth) ?? null }, { queryKey });
  const offset = (depth: number) => () =>
    pool.query('SELECT * FROM messages WHERE chat_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3', [
      1,
      PAGE + 1,
      depth,
    ]);

  // Same rows from both, or the comparison means nothing.
  for (const depth of DEPTHS) {
    const ours = (await keyset(depth)()).edges.map((edge) => String((edge.node as { id: unknown }).id));
    const theirs = (await offset(depth)()).rows.slice(0, PAGE).map((row) => String(row.id));
    if (ours.join() !== theirs.join()) throw new Error(`keyset and OFFSET disagree at depth ${depth}`);
  }

  // The plans, for the record (stderr): an index scan that starts at the cursor, at any depth.
  if (process.env.BENCH_EXPLAIN) {
    for (const depth of [0, DEPTHS[DEPTHS.length - 1] as number]) {
      const captured: { text: string; values: unknown[] }[] = [];
      await paginator.fromPostgres(
        {
          query: (text, values) => {
            captured.push({ text, values });
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
    contenders[`offset@${depth}`] = offset(depth);
  }
  const results = await compare(contenders, { concurrency: 1, durationMs: DURATION_MS, rounds: ROUNDS });
  const get = (name: string) => results[name] as Measurement;
  const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

  const lines = [
    `${ROWS.toLocaleString('en-US')} rows, page of ${PAGE}, 1 in flight, ${ROUNDS} interleaved rounds of ${DURATION_MS} ms, medians; ` +
      `${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores (shared), Node ${process.version}, PostgreSQL 15`,
    '',
    '| depth (rows skipped) | keyset p50 ms | keyset p99 ms | OFFSET p50 ms | OFFSET p99 ms | OFFSET / keyset |',
    '| ---: | ---: | ---: | ---: | ---: | ---: |',
    ...DEPTHS.map((depth) => {
      const k = get(`keyset@${depth}`);
      const o = get(`offset@${depth}`);
      return `| ${depth.toLocaleString('en-US')} | ${fmt(k.p50Ms)} | ${fmt(k.p99Ms)} | ${fmt(o.p50Ms)} | ${fmt(o.p99Ms)} | ${fmt(o.p50Ms / k.p50Ms)}× |`;
    }),
  ];
  const deepest = DEPTHS[DEPTHS.length - 1] as number;
  const keysetRatio = get(`keyset@${deepest}`).p50Ms / get('keyset@0').p50Ms;
  const offsetRatio = get(`offset@${deepest}`).p50Ms / get('offset@0').p50Ms;
  lines.push(
    '',
    `Deepest page / first page (p50): keyset ${keysetRatio.toFixed(2)}× (goal ≤ 1.5×: ${keysetRatio <= 1.5 ? 'met' : 'NOT met'}), OFFSET ${offsetRatio.toFixed(0)}×.`,
  );
  console.log(lines.join('\n'));
  await pool.end();
} finally {
  await topology.stop();
}
