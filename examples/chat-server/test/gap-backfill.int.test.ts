import { randomBytes, randomUUID } from 'node:crypto';
import type { Principal } from '@switchboard/auth';
import { createTestDatabase } from '@switchboard/infra';
import { createPaginator } from '@switchboard/pagination';
import type { Rbac } from '@switchboard/rbac';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import type { ChatDb, Reader } from '../src/chat/db.ts';
import { type ChatEventTarget, createChatEvents } from '../src/chat/events.ts';
import { MESSAGE_ADDED, type Message, type MessageRow, toMessage } from '../src/chat/messages.ts';
import { createSubscriptions } from '../src/chat/subscriptions.ts';
import { migrationSources } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';

/**
 * `messageAdded` over a live feed that loses, reorders and repeats messages (what Redis pub/sub
 * does in a failover), on real PostgreSQL: the transport between the relay's publish and the
 * subscriptions is a plain EventTarget that the test makes lossy, everything else is the
 * production code.
 */
let pool: pg.Pool;
let userId: string;

beforeAll(async () => {
  const db = await createTestDatabase(inject('infra'), 'chat_gaps');
  pool = new pg.Pool({ connectionString: db.primary, max: 10 });
  await migrate(pool, await migrationSources());
  userId = randomUUID();
  await pool.query(`INSERT INTO users (id, username, email, password_hash) VALUES ($1, $2, $3, 'x')`, [
    userId,
    `gaps-${userId}`,
    `${userId}@example.com`,
  ]);
});

afterAll(async () => {
  await pool?.end();
});

const viewer = { userId: '', sessionId: 's', claims: {} } as Principal;
const everyoneMayRead = { can: async () => true, assert: async () => {} } as unknown as Rbac;
const paginator = createPaginator({
  orderBy: [{ field: 'seq', column: 'seq', direction: 'asc' }],
  maxPageSize: 100,
  defaultPageSize: 50,
  secret: randomBytes(32),
});

/** A transport that loses the messages `lose` picks and holds back those `hold` picks until released. */
function lossyTransport() {
  const target = new EventTarget();
  const held: Event[] = [];
  const transport = {
    lose: (_message: Message) => false,
    hold: (_message: Message) => false,
    eventTarget: {
      addEventListener: target.addEventListener.bind(target),
      removeEventListener: target.removeEventListener.bind(target),
      dispatchEvent(event: Event) {
        const message = (event as CustomEvent<Message>).detail;
        if (transport.lose(message)) return true;
        if (transport.hold(message)) held.push(event);
        else target.dispatchEvent(event);
        return true;
      },
    } as ChatEventTarget,
    release() {
      for (const event of held.splice(0)) target.dispatchEvent(event);
    },
  };
  return transport;
}

/**
 * The chat domain's database as the subscriptions see it, counting reads of messages; its
 * "replica" (`readerFor`) can be made to lag: it has no message past `replicaHas`.
 */
function countedDb() {
  const counts = { replicaMessageReads: 0, primaryMessageReads: 0 };
  let replicaHas = Number.POSITIVE_INFINITY;
  const replica: Reader = {
    async query(text: string, params?: unknown[]) {
      if (/\bmessages\b/.test(text)) counts.replicaMessageReads++;
      const result = await pool.query(text, params);
      const rows = result.rows
        .filter((row) => !/\bmessages\b/.test(text) || Number(row.seq) <= replicaHas)
        .map((row) => ('last_seq' in row ? { ...row, last_seq: Math.min(Number(row.last_seq), replicaHas) } : row));
      return { ...result, rows, rowCount: rows.length };
    },
  };
  const primary = new Proxy(pool, {
    get(target, property, receiver) {
      if (property !== 'query') return Reflect.get(target, property, receiver);
      return (text: string, params?: unknown[]) => {
        if (/\bmessages\b/.test(text)) counts.primaryMessageReads++;
        return target.query(text, params);
      };
    },
  });
  const db: ChatDb = { primary, readerFor: () => replica, afterWrite: async () => {} };
  return {
    db,
    counts,
    lagAt(seq: number) {
      replicaHas = seq;
    },
  };
}

async function createChat(): Promise<string> {
  const chatId = randomUUID();
  await pool.query(`INSERT INTO chats (id, kind, owner_id) VALUES ($1, 'group', $2)`, [chatId, userId]);
  return chatId;
}

/** Sends `count` messages as `sendMessage` does (the next number under the chat row's lock). */
async function insertMessages(chatId: string, count: number): Promise<Message[]> {
  const sent: Message[] = [];
  for (let i = 0; i < count; i++) {
    const { rows } = await pool.query<MessageRow>(
      `WITH chat AS (UPDATE chats SET last_seq = last_seq + 1 WHERE id = $2 RETURNING last_seq)
       INSERT INTO messages (id, chat_id, seq, sender_id, content)
       SELECT $1, $2, chat.last_seq, $3, 'message ' || chat.last_seq FROM chat RETURNING *`,
      [randomUUID(), chatId, userId],
    );
    sent.push(toMessage(rows[0] as MessageRow));
  }
  return sent;
}

function setup() {
  const transport = lossyTransport();
  const events = createChatEvents({ eventTarget: transport.eventTarget });
  const database = countedDb();
  const subscriptions = createSubscriptions({
    db: database.db,
    rbac: everyoneMayRead,
    // Nobody here is a platform admin: nothing to audit.
    auditAdminAccess: async () => {},
    paginator,
    events,
    maxPerUser: 100,
  });
  // As the outbox relay publishes (at least once, after the commit).
  const publish = (messages: Message[]) => {
    for (const message of messages) {
      events.publishOutboxEvent({
        id: randomUUID(),
        topic: MESSAGE_ADDED,
        key: message.chatId,
        payload: message,
        headers: {},
        createdAt: new Date(),
        attempts: 0,
        position: '0',
      });
    }
  };
  return { transport, subscriptions, publish, ...database };
}

/** Reads a subscription in the background, so a test can wait for some messages and for silence. */
function reader(stream: AsyncGenerator<Message>) {
  const received: Message[] = [];
  const done = (async () => {
    for await (const message of stream) received.push(message);
  })();
  return {
    received,
    seqs: () => received.map((message) => message.seq),
    async waitFor(count: number, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count && Date.now() < deadline) await sleep(10);
      return received.map((message) => message.seq);
    },
    async stop() {
      await stream.return(undefined);
      await done;
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('messageAdded over a lossy live feed', () => {
  test('a gap and a lost tail are filled from the database: every message once, in order, one read per gap for all subscribers', async () => {
    const { transport, subscriptions, publish, counts } = setup();
    const chatId = await createChat();
    const a = reader(await subscriptions.messageAdded(viewer, chatId, null));
    const b = reader(await subscriptions.messageAdded(viewer, chatId, null));

    transport.lose = (message) => [3, 4, 9, 10].includes(message.seq);
    publish(await insertMessages(chatId, 10));

    // 9 and 10 have nothing after them: the periodic check of last_seq finds them.
    expect(await a.waitFor(10)).toEqual(range(1, 10));
    expect(await b.waitFor(10)).toEqual(range(1, 10));
    for (const message of a.received) expect(message.cursor).toEqual(expect.any(String));
    // One back-fill per gap at most (two gaps), shared by both subscribers.
    expect(counts.replicaMessageReads).toBeGreaterThanOrEqual(1);
    expect(counts.replicaMessageReads).toBeLessThanOrEqual(2);

    // The relay delivering again what was filled is not handed out twice; what follows is live.
    transport.lose = () => false;
    publish(a.received.slice(2, 4));
    publish(await insertMessages(chatId, 1));
    expect(await a.waitFor(11)).toEqual(range(1, 11));
    await sleep(1_500);
    expect(a.seqs()).toEqual(range(1, 11));
    expect(b.seqs()).toEqual(range(1, 11));

    // A back-filled message's cursor resumes like any other.
    const resumed = reader(await subscriptions.messageAdded(viewer, chatId, a.received[3]?.cursor));
    expect(await resumed.waitFor(7)).toEqual(range(5, 11));
    await Promise.all([a.stop(), b.stop(), resumed.stop()]);
  });

  test('a message arriving late, within the wait, is handed out in order without a database read', async () => {
    const { transport, subscriptions, publish, counts } = setup();
    const chatId = await createChat();
    const subscriber = reader(await subscriptions.messageAdded(viewer, chatId, null));

    transport.hold = (message) => message.seq === 2;
    publish(await insertMessages(chatId, 3));
    await sleep(50);
    expect(subscriber.seqs()).toEqual([1]);
    transport.release();

    expect(await subscriber.waitFor(3)).toEqual([1, 2, 3]);
    await sleep(1_500);
    expect(subscriber.seqs()).toEqual([1, 2, 3]);
    expect(counts.replicaMessageReads + counts.primaryMessageReads).toBe(0);
    await subscriber.stop();
  });

  test('a message arriving after its gap was filled is not handed out again', async () => {
    const { transport, subscriptions, publish } = setup();
    const chatId = await createChat();
    const subscriber = reader(await subscriptions.messageAdded(viewer, chatId, null));

    transport.hold = (message) => message.seq === 2;
    publish(await insertMessages(chatId, 3));
    expect(await subscriber.waitFor(3)).toEqual([1, 2, 3]);
    transport.release();
    transport.hold = () => false;
    publish(await insertMessages(chatId, 1));

    expect(await subscriber.waitFor(4)).toEqual([1, 2, 3, 4]);
    await sleep(300);
    expect(subscriber.seqs()).toEqual([1, 2, 3, 4]);
    await subscriber.stop();
  });

  test('without after, live only: no history, then every message from the subscription on', async () => {
    const { transport, subscriptions, publish } = setup();
    const chatId = await createChat();
    publish(await insertMessages(chatId, 3));
    const subscriber = reader(await subscriptions.messageAdded(viewer, chatId, undefined));

    // The first message after the subscription is lost, and nothing else comes for a while.
    transport.lose = (message) => message.seq === 4;
    publish(await insertMessages(chatId, 1));
    expect(await subscriber.waitFor(1)).toEqual([4]);
    transport.lose = () => false;
    publish(await insertMessages(chatId, 1));
    expect(await subscriber.waitFor(2)).toEqual([4, 5]);
    await subscriber.stop();
  });

  test('a replica behind the feed: the back-fill and the seam after a replay read the rest from the primary', async () => {
    const { transport, subscriptions, publish, counts, lagAt } = setup();
    const chatId = await createChat();
    const live = reader(await subscriptions.messageAdded(viewer, chatId, null));

    // The feed misses 1..3 and the replica has only 1: the primary has them.
    lagAt(1);
    transport.lose = (message) => message.seq <= 3;
    const sent = await insertMessages(chatId, 5);
    publish(sent);
    expect(await live.waitFor(5)).toEqual(range(1, 5));
    expect(counts.primaryMessageReads).toBeGreaterThan(0);
    transport.lose = () => false;

    // Replay after 2 through the replica (which has up to 3), then 4..5 from the primary: the
    // feed had handed them out before this subscriber joined.
    lagAt(3);
    const cursorOf = (seq: number) => live.received[seq - 1]?.cursor;
    const seam = reader(await subscriptions.messageAdded(viewer, chatId, cursorOf(2)));
    expect(await seam.waitFor(3)).toEqual([3, 4, 5]);

    // Caught up to 5 but the replica has nothing after 3: the replay is empty, the primary says
    // where the cursor is, so nothing repeats and nothing is missed.
    const caughtUp = reader(await subscriptions.messageAdded(viewer, chatId, cursorOf(5)));
    // A client ahead of this instance's feed (it saw 6 elsewhere; the relay here has not
    // published it yet): 6 is not handed out again when it arrives.
    transport.hold = (message) => message.seq === 6;
    const [sixth] = await insertMessages(chatId, 1);
    const ahead = reader(
      await subscriptions.messageAdded(viewer, chatId, paginatorCursor(chatId, (sixth as Message).seq)),
    );
    transport.hold = () => false;
    transport.release();
    publish(await insertMessages(chatId, 1));

    expect(await live.waitFor(7)).toEqual(range(1, 7));
    expect(await seam.waitFor(5)).toEqual(range(3, 7));
    expect(await caughtUp.waitFor(2)).toEqual([6, 7]);
    expect(await ahead.waitFor(1)).toEqual([7]);
    await sleep(300);
    expect(ahead.seqs()).toEqual([7]);
    await Promise.all([live.stop(), seam.stop(), caughtUp.stop(), ahead.stop()]);
  });
});

/** The cursor a message has in its chat's connection (as `sendMessage` answers it). */
function paginatorCursor(chatId: string, seq: number): string {
  return paginator.postgresCursor(
    [String(seq)],
    { table: 'messages', where: 'chat_id = $1', params: [chatId] },
    { queryKey: `messages:${chatId}` },
  );
}
