import { guardConnection } from './connection.ts';
import type { RelayPool } from './relay.ts';
import { CLEANUP_CHUNK } from './relay-sql.ts';

/**
 * Deletes delivered events older than `retentionMs`, one chunk per statement (each on a connection
 * of its own, in autocommit) until a chunk comes back short; returns how many were deleted.
 */
export async function deleteDeliveredEvents(pool: RelayPool, cleanupSql: string, retentionMs: number): Promise<number> {
  let total = 0;
  for (;;) {
    const client = await pool.connect();
    const unguard = guardConnection(client);
    let count: number;
    try {
      count = (await client.query(cleanupSql, [retentionMs])).rowCount ?? 0;
    } catch (error) {
      unguard();
      client.release(error instanceof Error ? error : true);
      throw error;
    }
    unguard();
    client.release();
    total += count;
    if (count < CLEANUP_CHUNK) return total;
  }
}
