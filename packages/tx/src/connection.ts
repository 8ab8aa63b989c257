import type { PoolClient } from 'pg';

/**
 * A checked-out `pg` client emits 'error' when its connection dies, and an unhandled 'error' event
 * would crash the process; the failing query rejects anyway, so the event itself is ignored.
 */
export function guardConnection(client: PoolClient): () => void {
  const ignore = () => {};
  client.on('error', ignore);
  return () => client.removeListener('error', ignore);
}
