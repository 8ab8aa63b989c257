import { createClient } from 'graphql-sse';
import type pg from 'pg';
import { expect } from 'vitest';

const ADDED =
  'subscription($chatId: ID!, $after: String) { messageAdded(chatId: $chatId, after: $after) { seq cursor } }';

/**
 * A reader of one chat for the failover drills: `follow(after?)` opens a `messageAdded` stream
 * (over SSE, no retry: a stream the failover breaks just ends) and records in `received` when
 * each seq first arrived and its cursor.
 */
export function chatFollower(url: string, token: string, chatId: string) {
  const received = new Map<number, { at: number; cursor: string }>();
  const follow = (after?: string) => {
    const client = createClient({ url, headers: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
    const stream = client.iterate<{ messageAdded: { seq: number; cursor: string } }>({
      query: ADDED,
      variables: { chatId, ...(after ? { after } : {}) },
    });
    const done = (async () => {
      try {
        for await (const event of stream) {
          const message = event.data?.messageAdded;
          if (message && !received.has(message.seq))
            received.set(message.seq, { at: Date.now(), cursor: message.cursor });
        }
      } catch {
        // The stream may break during the failover: the catch-up of expectNothingLost covers it.
      }
    })();
    return {
      stop: async () => {
        await stream.return?.();
        client.dispose();
        await done;
      },
    };
  };
  return { received, follow };
}

/**
 * Nothing acknowledged is lost: every acknowledged seq is in PostgreSQL, and reaches the reader
 * once it catches up from the first message it had (`after` its cursor).
 */
export async function expectNothingLost(
  pool: pg.Pool,
  chatId: string,
  acknowledged: readonly number[],
  follower: ReturnType<typeof chatFollower>,
): Promise<void> {
  const { rows } = await pool.query('SELECT seq FROM messages WHERE chat_id = $1', [chatId]);
  const stored = new Set(rows.map((row) => Number(row.seq)));
  expect(acknowledged.filter((seq) => !stored.has(seq))).toEqual([]);
  const { received } = follower;
  const first = received.get(1);
  expect(first).toBeDefined();
  const catchUp = follower.follow(first?.cursor);
  for (let i = 0; i < 100 && acknowledged.some((seq) => !received.has(seq)); i++)
    await new Promise((resolve) => setTimeout(resolve, 50));
  await catchUp.stop();
  expect(acknowledged.filter((seq) => !received.has(seq))).toEqual([]);
}
