import type { CausalSessions, DbRouter } from '@switchboard/db-router';
import type pg from 'pg';

/** What reads need: `query` as `pg` has it (a pool, or @switchboard/db-router's reader). */
export interface Reader {
  // biome-ignore lint/suspicious/noExplicitAny: pg's own default row type.
  query<R extends pg.QueryResultRow = any>(text: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
}

/**
 * Where the chat domain reads and writes. One PostgreSQL: everything on its pool. With
 * replicas (cluster mode): writes and transactions on the primary, reads on replicas that
 * already have the reading user's latest write (read-your-writes, across instances).
 */
export interface ChatDb {
  /** The primary: writes and transactions. */
  primary: pg.Pool;
  /** Reads on behalf of `userId` (or anyone, when undefined). */
  readerFor(userId: string | undefined): Reader;
  /** Call after a user's write committed: their next reads, on any instance, include it. */
  afterWrite(userId: string): Promise<void>;
}

export function singleNodeDb(pool: pg.Pool): ChatDb {
  return { primary: pool, readerFor: () => pool, afterWrite: async () => {} };
}

/** Cluster mode: the primary through the router, reads through the user's causal session. */
export function replicatedDb(router: DbRouter, sessions: CausalSessions): ChatDb {
  return {
    primary: router.primary,
    readerFor: (userId) => (userId === undefined ? router.reader() : sessions.readerFor(userId)),
    afterWrite: async (userId) => {
      await sessions.afterWrite(userId);
    },
  };
}
