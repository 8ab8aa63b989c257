import pg from 'pg';
import { measure } from '../measure.ts';
import { UsageError } from '../options.ts';
import { type GrowthPoint, type LoadResult, round } from '../results.ts';
import type { SystemUnderTest } from '../system.ts';
import { read } from './read.ts';
import { send } from './send.ts';
import type { PreparedScenario, Scenario } from './types.ts';

/** Sizes of the messages table at which send and page latency are measured. */
export const GROWTH_POINTS = [10_000, 100_000, 1_000_000];
/** Rows per INSERT statement while growing. */
const CHUNK_ROWS = 100_000;
const REPLICA_WAIT_MS = 120_000;

/**
 * Grows the messages table to `target` rows straight in PostgreSQL: history appended to every
 * given chat, sequence numbers continuing from `chats.last_seq`, which moves with them in the
 * same statement (senders take turns among the members, as seeding does). Then ANALYZE, as
 * autovacuum would after such growth. Returns the rows now in the table.
 */
export async function growMessages(databaseUrl: string, chatIds: readonly string[], target: number): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const count = async () =>
      Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM messages')).rows[0]?.n);
    const missing = target - (await count());
    if (missing <= 0) return await count();
    const perChat = Math.ceil(missing / chatIds.length);
    const chatsPerChunk = Math.max(1, Math.floor(CHUNK_ROWS / perChat));
    for (let from = 0; from < chatIds.length; from += chatsPerChunk) {
      await client.query(
        `WITH bumped AS (
           UPDATE chats SET last_seq = last_seq + $2 WHERE id = ANY($1::uuid[]) RETURNING id, last_seq - $2 AS base
         ), members AS (
           SELECT chat_id, array_agg(user_id ORDER BY user_id) AS ids
             FROM participants WHERE chat_id = ANY($1::uuid[]) GROUP BY chat_id
         )
         INSERT INTO messages (id, chat_id, seq, sender_id, content, created_at)
         SELECT gen_random_uuid(), b.id, b.base + s, m.ids[1 + (b.base + s) % array_length(m.ids, 1)],
                'history message ' || (b.base + s), now() - make_interval(secs => $2 - s)
           FROM bumped b JOIN members m ON m.chat_id = b.id, generate_series(1, $2::int) AS s`,
        [chatIds.slice(from, from + chatsPerChunk), perChat],
      );
    }
    await client.query('ANALYZE messages');
    return await count();
  } finally {
    await client.end();
  }
}

/** Cluster mode: waits until every replica has replayed what the primary wrote (reads go there). */
async function replicasCaughtUp(system: SystemUnderTest): Promise<void> {
  const replicas = system.topology?.info.postgres?.replicas ?? [];
  if (!system.databaseUrl || replicas.length === 0) return;
  const query = async (url: string, sql: string, values: unknown[] = []) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query(sql, values)).rows[0] as Record<string, unknown>;
    } finally {
      await client.end();
    }
  };
  const { lsn } = await query(system.databaseUrl, 'SELECT pg_current_wal_lsn()::text AS lsn');
  const deadline = Date.now() + REPLICA_WAIT_MS;
  for (const replica of replicas) {
    while (!(await query(replica, 'SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done', [lsn])).done) {
      if (Date.now() > deadline) throw new Error(`a replica did not replay the growth within ${REPLICA_WAIT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

const pointOf = (result: LoadResult) => ({
  count: result.requests,
  errors: result.errors,
  p50: result.latencyMs.p50,
  p95: result.latencyMs.p95,
  p99: result.latencyMs.p99,
  max: result.latencyMs.max,
  cpuMsPerOp: result.cpuMsPerOp,
});

/**
 * The messages table grows past 1M rows during the run: at each of `GROWTH_POINTS` it is first
 * filled up to that size (bulk INSERTs between the measurements), then history pages
 * (`messages` first, first/after, last, last/before, as in `read`) and `sendMessage` are each
 * measured at `--rate`. The top level is the send measurement at the last point.
 */
export const growth: Scenario = {
  name: 'growth',
  summary: 'the messages table grows to 10k, 100k, 1M rows: send and page latency at each size',
  async prepare(context): Promise<PreparedScenario> {
    const { system, world } = context;
    const log = context.log ?? (() => {});
    const databaseUrl = system.databaseUrl;
    if (!databaseUrl) throw new UsageError('growth writes history straight into PostgreSQL: not with --target');
    if (context.options?.findMax) throw new UsageError('growth measures at fixed table sizes: no --find-max');
    const sends = await send.prepare(context);
    const chatIds = world.chats.map((chat) => chat.id);
    return {
      async measure(rate, options) {
        // Priming warms the server up with sends, at the seeded size.
        if (options.prime) return measure(sends, world, rate, options);
        const points: GrowthPoint[] = [];
        let last: LoadResult | undefined;
        for (const target of GROWTH_POINTS) {
          const started = Date.now();
          log(`growth: filling the messages table up to ${target} rows...`);
          const rows = await growMessages(databaseUrl, chatIds, target);
          await replicasCaughtUp(system);
          log(`growth: ${rows} rows after ${round((Date.now() - started) / 1000, 1)} s; measuring pages, then sends`);
          // Cursors read again at this size: `last/before` now starts in the middle of the history.
          const reads = await read.prepare(context);
          const pages: PreparedScenario = {
            workload: () => {
              const workload = reads.workload?.();
              if (!workload) throw new Error('read has no workload');
              return { ...workload, templates: workload.templates.filter((t) => !t.body.includes('query Chats')) };
            },
          };
          const page = await measure(pages, world, rate, { ...options, scenario: 'growth page' });
          last = await measure(sends, world, rate, options);
          points.push({ rows, send: pointOf(last), page: pointOf(page) });
        }
        return { ...(last as LoadResult), points };
      },
    };
  },
};
