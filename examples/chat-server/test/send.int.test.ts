import { createTestDatabase } from '@switchboard/infra';
import { createClient } from 'graphql-sse';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { type MessageRow, toMessage } from '../src/chat/messages.ts';
import { codeOf, gql, registerUser } from './client.ts';
import { type Instances, startInstances } from './instances.ts';

let instances: Instances;
let pool: pg.Pool;
let url: string;

beforeAll(async () => {
  const db = await createTestDatabase(inject('infra'), 'chat_send');
  instances = await startInstances({ primary: db.primary });
  pool = instances.pool;
  url = instances.urls[0] as string;
});

afterAll(async () => {
  await instances?.close();
});

type User = { id: string; token: string };

async function chatOf(owner: User, others: User[]): Promise<string> {
  const response = await gql<{ createChat: { id: string } }>(
    url,
    'mutation($input: CreateChatInput!) { createChat(input: $input) { id } }',
    { input: { title: 'Sends', participantIds: others.map((other) => other.id) } },
    owner.token,
  );
  expect(response.errors).toBeUndefined();
  return response.data?.createChat.id as string;
}

interface Sent {
  id: string;
  seq: number;
  content: string;
  cursor: string;
  createdAt: string;
  editedAt: string | null;
  deleted: boolean;
}
const SEND = `mutation($input: SendMessageInput!) {
  sendMessage(input: $input) { id seq content cursor createdAt editedAt deleted }
}`;
const send = (user: User, chatId: string, content: string, clientId?: string) =>
  gql<{ sendMessage: Sent }>(url, SEND, { input: { chatId, content, ...(clientId ? { clientId } : {}) } }, user.token);

const unreadOf = async (user: User) =>
  (
    await gql<{ unreadCounts: { chatId: string; count: number }[] }>(
      url,
      '{ unreadCounts { chatId count } }',
      {},
      user.token,
    )
  ).data?.unreadCounts;

const countIn = async (chatId: string) =>
  Number((await pool.query('SELECT count(*) FROM messages WHERE chat_id = $1', [chatId])).rows[0].count);

describe('sendMessage with clientId (idempotent sends)', () => {
  test('a retried send returns the first message and sends nothing: no second row, seq, event or unread', async () => {
    const [owner, member] = [await registerUser(url), await registerUser(url)];
    const chatId = await chatOf(owner, [member]);
    const first = await send(owner, chatId, 'hello', 'retry-1');
    expect(first.errors).toBeUndefined();
    const again = await send(owner, chatId, 'hello (typed again)', 'retry-1');
    expect(again.errors).toBeUndefined();
    expect(again.data?.sendMessage).toEqual(first.data?.sendMessage);
    expect(await countIn(chatId)).toBe(1);
    const { rows } = await pool.query('SELECT last_seq FROM chats WHERE id = $1', [chatId]);
    expect(Number(rows[0].last_seq)).toBe(1);
    expect(await unreadOf(member)).toEqual([{ chatId, count: 1 }]);
    const events = await pool.query(
      `SELECT count(*)::int AS n FROM switchboard_outbox WHERE key = $1 AND topic = 'chat.message.added'`,
      [chatId],
    );
    expect(events.rows[0].n).toBe(1);

    // The next send takes the next number: the repeat left no hole in the sequence.
    const next = await send(owner, chatId, 'second', 'retry-2');
    expect(next.data?.sendMessage.seq).toBe(2);
  });

  test('client ids are per sender and per chat', async () => {
    const [owner, member] = [await registerUser(url), await registerUser(url)];
    const [chatA, chatB] = [await chatOf(owner, [member]), await chatOf(owner, [member])];
    const ids = [
      (await send(owner, chatA, 'a', 'same')).data?.sendMessage.id,
      (await send(member, chatA, 'b', 'same')).data?.sendMessage.id,
      (await send(owner, chatB, 'c', 'same')).data?.sendMessage.id,
    ];
    expect(new Set(ids).size).toBe(3);
    expect(ids.every(Boolean)).toBe(true);
  });

  test('the same client id sent concurrently still makes one message, answered to every caller', async () => {
    const owner = await registerUser(url);
    const chatId = await chatOf(owner, []);
    const answers = await Promise.all(Array.from({ length: 8 }, () => send(owner, chatId, 'once', 'burst')));
    for (const answer of answers) expect(answer.errors).toBeUndefined();
    expect(new Set(answers.map((answer) => answer.data?.sendMessage.id)).size).toBe(1);
    expect(await countIn(chatId)).toBe(1);
    expect((await send(owner, chatId, 'after the burst')).data?.sendMessage.seq).toBe(2);
  });

  test('a repeat after the message was deleted answers it as deleted, and sends nothing new', async () => {
    const owner = await registerUser(url);
    const chatId = await chatOf(owner, []);
    const first = (await send(owner, chatId, 'oops', 'del-1')).data?.sendMessage as Sent;
    await gql(url, 'mutation($id: ID!) { deleteMessage(id: $id) }', { id: first.id }, owner.token);
    const again = (await send(owner, chatId, 'oops', 'del-1')).data?.sendMessage;
    expect(again).toMatchObject({ id: first.id, deleted: true, content: '' });
    expect(await countIn(chatId)).toBe(1);
  });

  test('malformed client ids are BAD_USER_INPUT and send nothing', async () => {
    const owner = await registerUser(url);
    const chatId = await chatOf(owner, []);
    for (const clientId of ['', 'has space', 'x'.repeat(65), 'é']) {
      expect(codeOf(await send(owner, chatId, 'nope', clientId || ' '))).toBe('BAD_USER_INPUT');
    }
    expect(await countIn(chatId)).toBe(0);
  });
});

describe('unread counts', () => {
  test("others' messages count; your own do not, and sending marks the chat read up to yours; newcomers start at 0", async () => {
    const [owner, member, late] = [await registerUser(url), await registerUser(url), await registerUser(url)];
    const chatId = await chatOf(owner, [member]);
    await send(owner, chatId, 'one');
    await send(owner, chatId, 'two');
    expect(await unreadOf(member)).toEqual([{ chatId, count: 2 }]);
    expect(await unreadOf(owner)).toEqual([]);
    await send(member, chatId, 'three');
    expect(await unreadOf(member)).toEqual([]);
    expect(await unreadOf(owner)).toEqual([{ chatId, count: 1 }]);

    const added = await gql(
      url,
      'mutation($chatId: ID!, $userId: ID!) { addParticipant(chatId: $chatId, userId: $userId) { lastReadSeq } }',
      { chatId, userId: late.id },
      owner.token,
    );
    expect(added.data).toEqual({ addParticipant: { lastReadSeq: 3 } });
    expect(await unreadOf(late)).toEqual([]);
    await send(owner, chatId, 'four');
    expect(await unreadOf(late)).toEqual([{ chatId, count: 1 }]);
    const chat = await gql<{ chat: { unreadCount: number } }>(
      url,
      'query($id: ID!) { chat(id: $id) { unreadCount } }',
      { id: chatId },
      late.token,
    );
    expect(chat.data?.chat.unreadCount).toBe(1);
  });
});

describe('sendMessage answers', () => {
  test('carry the cursor: a sender resumes messageAdded and messages after its own message', async () => {
    const [owner, member] = [await registerUser(url), await registerUser(url)];
    const chatId = await chatOf(owner, [member]);
    const mine = (await send(owner, chatId, 'mine')).data?.sendMessage as Sent;
    expect(typeof mine.cursor).toBe('string');
    await send(member, chatId, 'theirs 1');
    await send(member, chatId, 'theirs 2');

    const page = await gql<{ messages: { edges: { node: { content: string } }[] } }>(
      url,
      'query($chatId: ID!, $after: String) { messages(chatId: $chatId, first: 10, after: $after) { edges { node { content } } } }',
      { chatId, after: mine.cursor },
      owner.token,
    );
    expect(page.data?.messages.edges.map((edge) => edge.node.content)).toEqual(['theirs 1', 'theirs 2']);

    const client = createClient({ url, headers: { authorization: `Bearer ${owner.token}` }, retryAttempts: 0 });
    const feed = client.iterate<{ messageAdded: { content: string } }>({
      query: 'subscription($chatId: ID!, $after: String) { messageAdded(chatId: $chatId, after: $after) { content } }',
      variables: { chatId, after: mine.cursor },
    });
    expect((await feed.next()).value?.data?.messageAdded.content).toBe('theirs 1');
    expect((await feed.next()).value?.data?.messageAdded.content).toBe('theirs 2');
    await feed.return?.();
    client.dispose();
  });

  test('the message built by PostgreSQL (answers, events) equals toMessage of its row, edited and deleted too', async () => {
    const owner = await registerUser(url);
    const chatId = await chatOf(owner, []);
    const sent = (await send(owner, chatId, 'plain <b>bold</b>')).data?.sendMessage as Sent;
    const edited = await gql<{ editMessage: Sent }>(
      url,
      'mutation($id: ID!, $content: String!) { editMessage(id: $id, content: $content) { id seq content cursor createdAt editedAt deleted } }',
      { id: sent.id, content: 'changed' },
      owner.token,
    );
    expect(edited.errors).toBeUndefined();
    const other = (await send(owner, chatId, 'to delete')).data?.sendMessage as Sent;
    await gql(url, 'mutation($id: ID!) { deleteMessage(id: $id) }', { id: other.id }, owner.token);

    const { rows } = await pool.query<MessageRow & { position: string }>('SELECT * FROM messages WHERE chat_id = $1', [
      chatId,
    ]);
    const events = await pool.query<{ payload: unknown }>(
      'SELECT payload FROM switchboard_outbox WHERE key = $1 ORDER BY position',
      [chatId],
    );
    const byId = new Map(rows.map((row) => [row.id, toMessage(row)]));
    // Each event's payload is what toMessage makes of the row at that moment: compare the last
    // event of each message (its current state) with its row now.
    const latest = new Map<string, unknown>();
    for (const { payload } of events.rows) latest.set((payload as { id: string }).id, payload);
    expect(latest.size).toBe(2);
    for (const [id, payload] of latest) expect(payload).toEqual(byId.get(id));
    expect(byId.get(sent.id)).toMatchObject({ content: 'changed', editedById: owner.id });
    expect(byId.get(other.id)).toMatchObject({ content: '', deleted: true });
    expect(edited.data?.editMessage).toMatchObject({
      id: sent.id,
      content: 'changed',
      editedAt: byId.get(sent.id)?.editedAt,
    });
  });
});
