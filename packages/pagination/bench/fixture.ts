import { readFileSync } from 'node:fs';
import type pg from 'pg';

// Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks.
const CLOCK_TICKS_PER_S = 100;

/**
 * A clock of the CPU time the database's client backends have used, in microseconds (Linux only:
 * read from /proc). Latency on a shared machine mostly measures the neighbours; CPU time per
 * call, this process plus the Postgres backends serving it, holds still.
 */
export async function postgresCpuClock(pool: pg.Pool): Promise<() => number> {
  const backends = (
    await pool.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'",
    )
  ).rows.map((row) => row.pid);
  return () =>
    (backends.reduce((sum, pid) => {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      return sum + Number(fields[11]) + Number(fields[12]);
    }, 0) *
      1_000_000) /
    CLOCK_TICKS_PER_S;
}

/**
 * The benches' `messages` table: `rows` messages of one chat, four per second so the id
 * tie-breaker matters, and the index a newest-first keyset page uses; analyzed.
 */
export async function fillMessages(pool: pg.Pool, rows: number): Promise<void> {
  await pool.query(`
    CREATE TABLE messages (id bigint PRIMARY KEY, chat_id int NOT NULL, created_at timestamptz NOT NULL, body text NOT NULL);
    INSERT INTO messages
      SELECT g, 1, timestamptz '2024-01-01 00:00:00+00' + (g / 4) * interval '1 second', 'message number ' || g || ' with some text in it'
      FROM generate_series(1, ${rows}) g;
    CREATE INDEX messages_chat_newest ON messages (chat_id, created_at DESC, id DESC);
  `);
  await pool.query('VACUUM ANALYZE messages');
}
