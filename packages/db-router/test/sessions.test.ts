import { describe, expect, test } from 'vitest';
import { type CausalTokenStore, createCausalSessions, createMemoryTokenStore } from '../src/index.ts';
import { encodeCausalToken } from '../src/token.ts';

/** A memory token store that counts its look-ups, and a router that records each read's options. */
function setup() {
  const memory = createMemoryTokenStore();
  const counts = { get: 0 };
  const store: CausalTokenStore = {
    get: (userId) => {
      counts.get++;
      return memory.get(userId);
    },
    advance: (userId, token) => memory.advance(userId, token),
  };
  let lsn = 100n;
  const reads: unknown[] = [];
  const router = {
    // The next write position, as the primary would report after a commit.
    captureToken: async () => {
      lsn += 10n;
      return encodeCausalToken(lsn);
    },
    read: async (_statement: string, _values?: unknown[], options?: unknown) => {
      reads.push(options);
      return { rows: [], rowCount: 0 } as never;
    },
  };
  return { counts, reads, sessions: createCausalSessions({ router: router as never, store }) };
}

describe('createCausalSessions look-ups', () => {
  test('reads of one user started in the same turn share one token look-up; later turns look again', async () => {
    const { counts, sessions } = setup();
    const reader = sessions.readerFor('alice');
    await Promise.all([
      reader.query('SELECT 1'),
      reader.query('SELECT 2'),
      sessions.readerFor('alice').query('SELECT 3'),
    ]);
    expect(counts.get).toBe(1);
    // The next turn of the event loop (everything above ran in microtasks of one turn).
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.all([sessions.readerFor('bob').query('SELECT 1'), reader.query('SELECT 4')]);
    expect(counts.get).toBe(3);
  });

  test("a read after the same user's write sees that write, even within one turn of microtasks", async () => {
    const { reads, sessions } = setup();
    const reader = sessions.readerFor('alice');
    // A read starts (its look-up is shared for this turn), then the write completes and a read follows at once.
    const early = reader.query('SELECT before');
    const token = await sessions.afterWrite('alice');
    await reader.query('SELECT after');
    await early;
    expect(reads.at(-1)).toEqual({ token });
  });
});
