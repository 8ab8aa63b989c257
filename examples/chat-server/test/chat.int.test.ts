import { createTestDatabase } from '@switchboard/infra';
import { createClient } from 'graphql-sse';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { codeOf, gql, TEST_PASSWORD } from './client.ts';
import { type Instances, startInstances } from './instances.ts';

const PER_CHAT_LIMIT = 5;
const SUBSCRIPTIONS_PER_USER = 5;
let instances: Instances;
let pool: pg.Pool;
let url: string;

beforeAll(async () => {
  const db = await createTestDatabase(inject('infra'), 'chat_e2e');
  instances = await startInstances({
    primary: db.primary,
    limits: {
      messagesPerHour: 10_000,
      messagesPerChatPerHour: PER_CHAT_LIMIT,
      authPerIpPerMinute: 10_000,
      subscriptionsPerUser: SUBSCRIPTIONS_PER_USER,
    },
  });
  pool = instances.pool;
  url = instances.urls[0] as string;
});

afterAll(async () => {
  await instances?.close();
});

let names = 0;

interface Session {
  id: string;
  accessToken: string;
  refreshToken: string;
}

async function register(): Promise<Session> {
  const username = `user${Date.now().toString(36)}${names++}`;
  const response = await gql<{ register: { accessToken: string; refreshToken: string; user: { id: string } } }>(
    url,
    `mutation($input: RegisterInput!) { register(input: $input) { accessToken refreshToken user { id } } }`,
    { input: { username, email: `${username}@example.com`, password: TEST_PASSWORD } },
  );
  expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
  const { accessToken, refreshToken, user } = response.data?.register ?? ({} as never);
  return { id: user.id, accessToken, refreshToken, username } as Session & { username: string };
}

async function createChat(owner: Session, others: Session[], title = 'Team'): Promise<string> {
  const response = await gql<{ createChat: { id: string } }>(
    url,
    `mutation($input: CreateChatInput!) { createChat(input: $input) { id } }`,
    { input: { title, participantIds: others.map((other) => other.id) } },
    owner.accessToken,
  );
  expect(response.errors).toBeUndefined();
  return response.data?.createChat.id as string;
}

const SEND = `mutation($input: SendMessageInput!) { sendMessage(input: $input) { id seq content sender { id } createdAt } }`;
const send = (session: Session, chatId: string, content: string) =>
  gql<{ sendMessage: { id: string; seq: number; content: string; sender: { id: string } } }>(
    url,
    SEND,
    { input: { chatId, content } },
    session.accessToken,
  );

describe('accounts', () => {
  test('register, login, me; refresh rotates; replaying a spent refresh token ends the session', async () => {
    const alice = (await register()) as Session & { username: string };
    const login = await gql<{ login: { accessToken: string; refreshToken: string; user: { id: string } } }>(
      url,
      `mutation($input: LoginInput!) { login(input: $input) { accessToken refreshToken user { id } } }`,
      { input: { username: alice.username.toUpperCase(), password: TEST_PASSWORD } },
    );
    expect(login.data?.login.user.id).toBe(alice.id);
    const me = await gql<{ me: { id: string; username: string } }>(
      url,
      '{ me { id username } }',
      {},
      alice.accessToken,
    );
    expect(me.data?.me).toEqual({ id: alice.id, username: alice.username });

    const REFRESH = `mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken user { id } } }`;
    const first = await gql<{ refreshToken: { refreshToken: string; user: { id: string } } }>(url, REFRESH, {
      t: alice.refreshToken,
    });
    expect(first.data?.refreshToken.user.id).toBe(alice.id);
    // Once the successor has been used, presenting the spent token again is reuse (within the
    // 10 s window, an unused successor would be handed out again: a second tab's refresh).
    const successor = first.data?.refreshToken.refreshToken;
    const second = await gql<{ refreshToken: { refreshToken: string } }>(url, REFRESH, { t: successor });
    expect(second.errors).toBeUndefined();
    const replay = await gql(url, REFRESH, { t: alice.refreshToken });
    expect(codeOf(replay)).toBe('UNAUTHENTICATED');
    expect(replay.errors?.[0]?.extensions?.reason).toBe('REFRESH_TOKEN_REUSED');
    // Reuse revoked the whole family: the thief's and the victim's newer token alike.
    const after = await gql(url, REFRESH, { t: second.data?.refreshToken.refreshToken });
    expect(codeOf(after)).toBe('UNAUTHENTICATED');
  });

  test('wrong password and unknown user get the same answer; weak passwords are refused with the field', async () => {
    const bob = (await register()) as Session & { username: string };
    const LOGIN = `mutation($input: LoginInput!) { login(input: $input) { accessToken } }`;
    const wrong = await gql(url, LOGIN, { input: { username: bob.username, password: 'not the password at all' } });
    const unknown = await gql(url, LOGIN, { input: { username: 'nobody-here', password: TEST_PASSWORD } });
    expect(codeOf(wrong)).toBe('UNAUTHENTICATED');
    expect(wrong.errors?.[0]?.message).toBe(unknown.errors?.[0]?.message);

    const weak = await gql(url, `mutation($input: RegisterInput!) { register(input: $input) { accessToken } }`, {
      input: { username: 'weakling', email: 'weak@example.com', password: 'password123' },
    });
    expect(codeOf(weak)).toBe('BAD_USER_INPUT');
    expect(JSON.stringify(weak.errors?.[0]?.extensions?.issues)).toContain('password');
  });

  test('no token: UNAUTHENTICATED; a forged token: refused before any resolver', async () => {
    expect(codeOf(await gql(url, '{ me { id } }'))).toBe('UNAUTHENTICATED');
    const forged = await gql(url, '{ me { id } }', {}, 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.');
    expect(forged.status).toBe(401);
    expect(codeOf(forged)).toBe('UNAUTHENTICATED');
    expect(forged.errors?.[0]?.extensions?.reason).toBe('INVALID_TOKEN');
  });
});

describe('chats and messages', () => {
  test('participants send and read back; rich text comes back sanitized', async () => {
    const [owner, member] = [await register(), await register()];
    const chatId = await createChat(owner, [member]);
    const sent = await send(
      member,
      chatId,
      'hello <b>team</b><img src=x onerror=alert(1)><a href="javascript:alert(1)">x</a>',
    );
    expect(sent.errors).toBeUndefined();
    expect(sent.data?.sendMessage.content).toBe('hello <b>team</b>x');
    expect(sent.data?.sendMessage.seq).toBe(1);

    const list = await gql<{ messages: { edges: { node: { content: string; sender: { id: string } } }[] } }>(
      url,
      `query($chatId: ID!) { messages(chatId: $chatId, first: 10) { edges { node { content sender { id } } } } }`,
      { chatId },
      owner.accessToken,
    );
    expect(list.data?.messages.edges.map((edge) => edge.node)).toEqual([
      { content: 'hello <b>team</b>x', sender: { id: member.id } },
    ]);
    const unread = await gql<{ unreadCounts: { chatId: string; count: number }[] }>(
      url,
      '{ unreadCounts { chatId count } }',
      {},
      owner.accessToken,
    );
    expect(unread.data?.unreadCounts).toEqual([{ chatId, count: 1 }]);
  });

  test('a non-participant can neither read nor send', async () => {
    const [owner, outsider] = [await register(), await register()];
    const chatId = await createChat(owner, [], 'Private');
    expect(
      codeOf(await gql(url, `query($id: ID!) { chat(id: $id) { id } }`, { id: chatId }, outsider.accessToken)),
    ).toBe('NOT_FOUND');
    expect(
      codeOf(
        await gql(
          url,
          `query($chatId: ID!) { messages(chatId: $chatId) { edges { cursor } } }`,
          { chatId },
          outsider.accessToken,
        ),
      ),
    ).toBe('NOT_FOUND');
    expect(codeOf(await send(outsider, chatId, 'let me in'))).toBe('FORBIDDEN');
  });

  test('the first message past the per-chat limit is refused with RATE_LIMITED and a retry time', async () => {
    const owner = await register();
    const chatId = await createChat(owner, [], 'Busy');
    const first = await send(owner, chatId, 'm0');
    expect(first.headers.get('ratelimit')).toMatch(new RegExp(`^"msg-chat";r=${PER_CHAT_LIMIT - 1};t=\\d+$`));
    // Spelling the id differently (upper case, spaces) is still the same chat, and the same budget.
    const spellings = [chatId.toUpperCase(), ` ${chatId} `, chatId];
    for (let i = 1; i < PER_CHAT_LIMIT; i++) {
      expect((await send(owner, spellings[i % spellings.length] as string, `m${i}`)).errors).toBeUndefined();
    }
    const refused = await send(owner, chatId.toUpperCase(), 'one too many');
    expect(codeOf(refused)).toBe('RATE_LIMITED');
    expect(refused.errors?.[0]?.extensions?.retryAfterMs).toBeGreaterThan(0);
    // A different chat has its own budget.
    const other = await createChat(owner, [], 'Quiet');
    expect((await send(owner, other, 'fine')).errors).toBeUndefined();
  });

  test('bad ids and bad cursors are BAD_USER_INPUT, never a 500', async () => {
    const owner = await register();
    const chatId = await createChat(owner, [], 'Cursors');
    const badId = await gql(url, `query { chat(id: "not-a-uuid") { id } }`, {}, owner.accessToken);
    expect(codeOf(badId)).toBe('BAD_USER_INPUT');
    const badCursor = await gql(
      url,
      `query($chatId: ID!) { messages(chatId: $chatId, after: "bm90IGEgY3Vyc29y") { edges { cursor } } }`,
      { chatId },
      owner.accessToken,
    );
    expect(badCursor.status).toBeLessThan(500);
    expect(codeOf(badCursor)).toBe('BAD_USER_INPUT');
  });

  test('characters PostgreSQL cannot store (NUL, lone surrogates) are BAD_USER_INPUT with the field, anywhere', async () => {
    const owner = await register();
    const chatId = await createChat(owner, [], 'Bytes');
    const pathOf = (response: Awaited<ReturnType<typeof gql>>) =>
      (response.errors?.[0]?.extensions?.issues as { path: unknown[] }[] | undefined)?.[0]?.path;
    for (const content of ['nul \u0000 inside', 'lone \ud800 surrogate']) {
      const refused = await send(owner, chatId, content);
      expect(codeOf(refused), content).toBe('BAD_USER_INPUT');
      expect(refused.status).toBe(400);
      expect(pathOf(refused)).toEqual(['input', 'content']);
    }
    // Also inline in the document, and in a field other than the message.
    const inline = await gql(
      url,
      'mutation { createChat(input: { title: "bad \\u0000 title", participantIds: [] }) { id } }',
      {},
      owner.accessToken,
    );
    expect(codeOf(inline)).toBe('BAD_USER_INPUT');
    expect(JSON.stringify(inline.errors?.[0]?.extensions?.issues)).toContain('title');
    expect((await send(owner, chatId, 'emoji 🎉 and <3 are fine')).errors).toBeUndefined();
  });
});

describe('pagination', () => {
  test('500 messages, forward then backward, with no duplicate and no skip', async () => {
    const owner = await register();
    const chatId = await createChat(owner, [], 'Long');
    // Seeded directly: the per-chat rate limit is not what this test is about.
    await pool.query(
      `INSERT INTO messages (id, chat_id, seq, sender_id, content)
       SELECT gen_random_uuid(), $1, n, $2, 'message ' || n FROM generate_series(1, 500) AS n`,
      [chatId, owner.id],
    );
    await pool.query('UPDATE chats SET last_seq = 500 WHERE id = $1', [chatId]);
    const PAGE = `query($chatId: ID!, $first: Int, $after: String, $last: Int, $before: String) {
      messages(chatId: $chatId, first: $first, after: $after, last: $last, before: $before) {
        edges { cursor node { seq } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`;
    type Page = {
      messages: {
        edges: { cursor: string; node: { seq: number } }[];
        pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string; endCursor: string };
      };
    };
    const forward: number[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await gql<Page>(url, PAGE, { chatId, first: 37, after }, owner.accessToken);
      expect(page.errors).toBeUndefined();
      forward.push(...(page.data?.messages.edges.map((edge) => edge.node.seq) ?? []));
      if (!page.data?.messages.pageInfo.hasNextPage) break;
      after = page.data.messages.pageInfo.endCursor;
    }
    expect(forward).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));

    const backward: number[] = [];
    let before: string | undefined;
    for (;;) {
      const page = await gql<Page>(url, PAGE, { chatId, last: 41, before }, owner.accessToken);
      backward.unshift(...(page.data?.messages.edges.map((edge) => edge.node.seq) ?? []));
      if (!page.data?.messages.pageInfo.hasPreviousPage) break;
      before = page.data.messages.pageInfo.startCursor;
    }
    expect(backward).toEqual(forward);
  });
});

describe('subscriptions over SSE (graphql-sse client)', () => {
  test('live messages arrive; reconnecting with after replays exactly the missed ones, then goes live', async () => {
    const [owner, member] = [await register(), await register()];
    const chatId = await createChat(owner, [member], 'Live');
    const client = createClient({ url, headers: { authorization: `Bearer ${member.accessToken}` }, retryAttempts: 0 });
    const ADDED = `subscription($chatId: ID!, $after: String) { messageAdded(chatId: $chatId, after: $after) { seq content cursor } }`;
    type Added = { messageAdded: { seq: number; content: string; cursor: string } };

    const live = client.iterate<Added>({ query: ADDED, variables: { chatId } });
    const firstEvent = live.next();
    // Give the subscription a moment to be registered before sending.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await send(owner, chatId, 'one')).errors).toBeUndefined();
    const one = (await firstEvent).value?.data?.messageAdded;
    expect(one?.content).toBe('one');
    await live.return?.();

    // Away: two messages are sent while nobody listens.
    await send(owner, chatId, 'two');
    await send(owner, chatId, 'three');

    const resumed = client.iterate<Added>({ query: ADDED, variables: { chatId, after: one?.cursor } });
    const replayed = [
      (await resumed.next()).value?.data?.messageAdded,
      (await resumed.next()).value?.data?.messageAdded,
    ];
    expect(replayed.map((message) => message?.content)).toEqual(['two', 'three']);
    const next = resumed.next();
    await send(owner, chatId, 'four');
    expect((await next).value?.data?.messageAdded.content).toBe('four');
    await resumed.return?.();
    client.dispose();
  });

  test('one user holds at most SUBSCRIPTIONS_PER_USER subscriptions; ending one frees its slot', async () => {
    const owner = await register();
    const chatId = await createChat(owner, [], 'Many feeds');
    const client = createClient({ url, headers: { authorization: `Bearer ${owner.accessToken}` }, retryAttempts: 0 });
    const TYPING = `subscription($chatId: ID!) { typing(chatId: $chatId) { chatId } }`;
    const open = () => client.iterate({ query: TYPING, variables: { chatId } });
    // A stream's first result is its first event or its error: race it against a short wait.
    const firstOf = (stream: ReturnType<typeof open>) =>
      Promise.race([
        stream.next().then(
          (result) => JSON.stringify(result),
          (error: unknown) => JSON.stringify(error),
        ),
        new Promise<string>((resolve) => setTimeout(() => resolve('open'), 500)),
      ]);
    const streams = Array.from({ length: SUBSCRIPTIONS_PER_USER }, open);
    for (const stream of streams) expect(await firstOf(stream)).toBe('open');
    const refused = open();
    expect(await firstOf(refused)).toContain('TOO_MANY_SUBSCRIPTIONS');
    await streams[0]?.return?.();
    // The server sees the client go away shortly after.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const again = open();
    expect(await firstOf(again)).toBe('open');
    await Promise.all([...streams.slice(1), again].map((stream) => stream.return?.()));
    client.dispose();
  });

  test('a non-participant cannot subscribe', async () => {
    const [owner, outsider] = [await register(), await register()];
    const chatId = await createChat(owner, [], 'Closed');
    const client = createClient({
      url,
      headers: { authorization: `Bearer ${outsider.accessToken}` },
      retryAttempts: 0,
    });
    const stream = client.iterate({
      query: `subscription($chatId: ID!) { messageAdded(chatId: $chatId) { seq } }`,
      variables: { chatId },
    });
    const result = await stream.next().catch((error: unknown) => ({ error }));
    expect(JSON.stringify(result)).toContain('NOT_FOUND');
    client.dispose();
  });
});

describe('graphql-ws and the rest of the API', () => {
  test('graphql-ws: authorized by connectionParams; a removed participant stops receiving', async () => {
    const { createClient: createWsClient } = await import('graphql-ws');
    const WebSocket = (await import('ws')).default;
    const [owner, member] = [await register(), await register()];
    const chatId = await createChat(owner, [member], 'Sockets');
    const client = createWsClient({
      url: url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${member.accessToken}` },
      retryAttempts: 0,
    });
    const received: string[] = [];
    let ended = false;
    const unsubscribe = client.subscribe<{ messageAdded: { content: string } }>(
      { query: `subscription($chatId: ID!) { messageAdded(chatId: $chatId) { content } }`, variables: { chatId } },
      {
        next: (result) => {
          if (result.data) received.push(result.data.messageAdded.content);
        },
        error: () => {
          ended = true;
        },
        complete: () => {
          ended = true;
        },
      },
    );
    const until = async (check: () => boolean) => {
      for (let i = 0; i < 100 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    };
    await new Promise((resolve) => setTimeout(resolve, 200));
    await send(owner, chatId, 'before');
    await until(() => received.length === 1);
    expect(received).toEqual(['before']);

    const removed = await gql(
      url,
      `mutation($chatId: ID!, $userId: ID!) { removeParticipant(chatId: $chatId, userId: $userId) }`,
      { chatId, userId: member.id },
      owner.accessToken,
    );
    expect(removed.errors).toBeUndefined();
    await send(owner, chatId, 'after removal');
    await until(() => ended);
    expect(ended).toBe(true);
    expect(received).toEqual(['before']);
    unsubscribe();
    await client.dispose();
  });

  test('messageUpdated and typing: participants receive them; a removed participant stops receiving both', async () => {
    const { createClient: createWsClient } = await import('graphql-ws');
    const WebSocket = (await import('ws')).default;
    const [owner, member] = [await register(), await register()];
    const chatId = await createChat(owner, [member], 'Edits');
    const messageId = (await send(owner, chatId, 'draft')).data?.sendMessage.id;
    const client = createWsClient({
      url: url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${member.accessToken}` },
      retryAttempts: 0,
    });
    const edits: string[] = [];
    const typists: string[] = [];
    const ended = { edits: false, typing: false };
    const stops = [
      client.subscribe<{ messageUpdated: { content: string } }>(
        { query: 'subscription($chatId: ID!) { messageUpdated(chatId: $chatId) { content } }', variables: { chatId } },
        {
          next: (result) => result.data && edits.push(result.data.messageUpdated.content),
          error: () => (ended.edits = true),
          complete: () => (ended.edits = true),
        },
      ),
      client.subscribe<{ typing: { user: { id: string } } }>(
        { query: 'subscription($chatId: ID!) { typing(chatId: $chatId) { user { id } } }', variables: { chatId } },
        {
          next: (result) => result.data && typists.push(result.data.typing.user.id),
          error: () => (ended.typing = true),
          complete: () => (ended.typing = true),
        },
      ),
    ];
    const until = async (check: () => boolean) => {
      for (let i = 0; i < 100 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    };
    const EDIT = 'mutation($id: ID!, $content: String!) { editMessage(id: $id, content: $content) { content } }';
    const TYPE = 'mutation($chatId: ID!) { typing(chatId: $chatId) }';
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await gql(url, EDIT, { id: messageId, content: 'first edit' }, owner.accessToken)).errors).toBeUndefined();
    expect((await gql(url, TYPE, { chatId }, owner.accessToken)).errors).toBeUndefined();
    await until(() => edits.length === 1 && typists.length === 1);
    expect({ edits, typists }).toEqual({ edits: ['first edit'], typists: [owner.id] });

    const REMOVE = 'mutation($chatId: ID!, $userId: ID!) { removeParticipant(chatId: $chatId, userId: $userId) }';
    expect((await gql(url, REMOVE, { chatId, userId: member.id }, owner.accessToken)).errors).toBeUndefined();
    // Each feed re-checks membership per event: the next edit and the next typing event end
    // the removed participant's subscriptions instead of reaching them.
    expect((await gql(url, EDIT, { id: messageId, content: 'after removal' }, owner.accessToken)).errors).toBe(
      undefined,
    );
    expect((await gql(url, TYPE, { chatId }, owner.accessToken)).errors).toBeUndefined();
    await until(() => ended.edits && ended.typing);
    expect(ended).toEqual({ edits: true, typing: true });
    expect({ edits, typists }).toEqual({ edits: ['first edit'], typists: [owner.id] });
    for (const stop of stops) stop();
    await client.dispose();
  });

  test('edit and delete: own messages only, moderators any; typing reaches the others', async () => {
    const [owner, member, moderator] = [await register(), await register(), await register()];
    const chatId = await createChat(owner, [member], 'Roles');
    const promoted = await gql(
      url,
      `mutation($chatId: ID!, $userId: ID!) { addParticipant(chatId: $chatId, userId: $userId, role: MODERATOR) { role user { id } } }`,
      { chatId, userId: moderator.id },
      owner.accessToken,
    );
    expect(promoted.data).toEqual({ addParticipant: { role: 'MODERATOR', user: { id: moderator.id } } });
    const mine = (await send(member, chatId, 'typo')).data?.sendMessage.id;
    const theirs = (await send(owner, chatId, 'owner says')).data?.sendMessage.id;
    const EDIT = `mutation($id: ID!, $content: String!) { editMessage(id: $id, content: $content) { content editedAt } }`;
    const fixed = await gql<{ editMessage: { content: string; editedAt: string } }>(
      url,
      EDIT,
      { id: mine, content: 'fixed' },
      member.accessToken,
    );
    expect(fixed.data?.editMessage.content).toBe('fixed');
    expect(codeOf(await gql(url, EDIT, { id: theirs, content: 'hacked' }, member.accessToken))).toBe('FORBIDDEN');
    const DELETE = `mutation($id: ID!) { deleteMessage(id: $id) }`;
    expect(codeOf(await gql(url, DELETE, { id: theirs }, member.accessToken))).toBe('FORBIDDEN');
    expect((await gql(url, DELETE, { id: theirs }, moderator.accessToken)).data).toEqual({ deleteMessage: true });
    // A member cannot promote; an admin-only action.
    const promote = await gql(
      url,
      `mutation($chatId: ID!, $userId: ID!) { addParticipant(chatId: $chatId, userId: $userId) { role } }`,
      { chatId, userId: owner.id },
      member.accessToken,
    );
    expect(codeOf(promote)).toBe('FORBIDDEN');

    const client = createClient({ url, headers: { authorization: `Bearer ${owner.accessToken}` }, retryAttempts: 0 });
    const typing = client.iterate<{ typing: { chatId: string; user: { id: string } } }>({
      query: `subscription($chatId: ID!) { typing(chatId: $chatId) { chatId user { id } } }`,
      variables: { chatId },
    });
    const first = typing.next();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(
      (await gql(url, `mutation($chatId: ID!) { typing(chatId: $chatId) }`, { chatId }, member.accessToken)).data,
    ).toEqual({
      typing: true,
    });
    expect((await first).value?.data?.typing).toEqual({ chatId, user: { id: member.id } });
    await typing.return?.();
    client.dispose();
  });

  test('markRead clears unread counts; deleteChat is the owner’s; the chats list shows only your chats', async () => {
    const [owner, member, stranger] = [await register(), await register(), await register()];
    const chatId = await createChat(owner, [member], 'Reading');
    await send(owner, chatId, 'one');
    await send(owner, chatId, 'two');
    const counts = await gql<{ unreadCounts: { count: number }[] }>(
      url,
      '{ unreadCounts { count } }',
      {},
      member.accessToken,
    );
    expect(counts.data?.unreadCounts).toEqual([{ count: 2 }]);
    await gql(url, `mutation($chatId: ID!) { markRead(chatId: $chatId) { count } }`, { chatId }, member.accessToken);
    expect((await gql(url, '{ unreadCounts { count } }', {}, member.accessToken)).data).toEqual({ unreadCounts: [] });

    const CHATS = '{ chats(first: 10) { edges { node { id title unreadCount participants { role user { id } } } } } }';
    const mine = await gql<{ chats: { edges: { node: { id: string } }[] } }>(url, CHATS, {}, member.accessToken);
    expect(mine.data?.chats.edges.map((edge) => edge.node.id)).toEqual([chatId]);
    expect(
      (await gql<{ chats: { edges: unknown[] } }>(url, CHATS, {}, stranger.accessToken)).data?.chats.edges,
    ).toEqual([]);

    const DELETE = `mutation($id: ID!) { deleteChat(id: $id) }`;
    expect(codeOf(await gql(url, DELETE, { id: chatId }, member.accessToken))).toBe('FORBIDDEN');
    expect((await gql(url, DELETE, { id: chatId }, owner.accessToken)).data).toEqual({ deleteChat: true });
    expect(codeOf(await gql(url, `query($id: ID!) { chat(id: $id) { id } }`, { id: chatId }, owner.accessToken))).toBe(
      'NOT_FOUND',
    );
  });

  test('markRead(upToSeq) marks up to the message seen, never back, never past the last; UNREAD_CHANGED carries what is left', async () => {
    const [owner, member] = [await register(), await register()];
    const chatId = await createChat(owner, [member], 'Receipts');
    const seqs: number[] = [];
    for (const content of ['one', 'two', 'three', 'four'])
      seqs.push((await send(owner, chatId, content)).data?.sendMessage.seq as number);
    const MARK = 'mutation($c: ID!, $s: Int) { markRead(chatId: $c, upToSeq: $s) { count } }';
    const client = createClient({ url, headers: { authorization: `Bearer ${member.accessToken}` }, retryAttempts: 0 });
    const events = client.iterate<{
      userEvents: { type: string; unreadCount: { chatId: string; count: number } | null };
    }>({
      query: 'subscription { userEvents { type unreadCount { chatId count } } }',
    });
    const first = events.next();
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Seen up to the second message: two remain.
    expect((await gql(url, MARK, { c: chatId, s: seqs[1] }, member.accessToken)).data).toEqual({
      markRead: { count: 2 },
    });
    expect((await first).value?.data?.userEvents).toEqual({
      type: 'UNREAD_CHANGED',
      unreadCount: { chatId, count: 2 },
    });
    await events.return?.();
    client.dispose();
    // An older mark (a slow tab) does not move it back.
    expect((await gql(url, MARK, { c: chatId, s: seqs[0] }, member.accessToken)).data).toEqual({
      markRead: { count: 2 },
    });
    const counts = await gql<{ unreadCounts: { count: number }[] }>(
      url,
      '{ unreadCounts { count } }',
      {},
      member.accessToken,
    );
    expect(counts.data?.unreadCounts).toEqual([{ count: 2 }]);
    // Beyond the last message: stops at the last; without upToSeq: the whole chat.
    expect((await gql(url, MARK, { c: chatId, s: (seqs[3] as number) + 100 }, member.accessToken)).data).toEqual({
      markRead: { count: 0 },
    });
    expect(codeOf(await gql(url, MARK, { c: chatId, s: 0 }, member.accessToken))).toBe('BAD_USER_INPUT');
  });

  test('userByUsername finds a user by username as typed (case, width), null for no one; only for a signed-in user', async () => {
    const [asker, target] = [
      (await register()) as Session & { username: string },
      (await register()) as Session & { username: string },
    ];
    const LOOKUP = 'query($u: String!) { userByUsername(username: $u) { id username } }';
    const typed = ` ${target.username.toUpperCase()} `;
    expect((await gql(url, LOOKUP, { u: typed }, asker.accessToken)).data).toEqual({
      userByUsername: { id: target.id, username: target.username },
    });
    expect((await gql(url, LOOKUP, { u: 'nobody-by-that-name' }, asker.accessToken)).data).toEqual({
      userByUsername: null,
    });
    expect(codeOf(await gql(url, LOOKUP, { u: target.username }))).toBe('UNAUTHENTICATED');
  });

  test('hardening: a cross-site form post is refused (CSRF), so is an alias flood, and errors carry no stack', async () => {
    const form = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'query=%7B%20health%20%7D',
    });
    expect(form.status).toBe(403);
    // 20 aliases: over the hardening limit (15), refused before anything runs.
    const aliased = await gql(url, `{ ${'x: health '.repeat(20)}}`);
    expect(aliased.status).toBe(400);
    expect(JSON.stringify(aliased.errors)).toMatch(/[Aa]lias/);
    const huge = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ health }', variables: { padding: 'x'.repeat(200_000) } }),
    });
    expect(huge.status).toBe(413);
    const health = await fetch(url.replace(/\/graphql$/, '/health'));
    expect(health.status).toBe(200);
    expect(JSON.stringify(aliased)).not.toContain('    at ');
  });
});

describe('what a security review asked for', () => {
  const ADD = `mutation($chatId: ID!, $userId: ID!, $role: ParticipantRole) {
    addParticipant(chatId: $chatId, userId: $userId, role: $role) { role } }`;
  const REMOVE = 'mutation($chatId: ID!, $userId: ID!) { removeParticipant(chatId: $chatId, userId: $userId) }';
  const READ = 'query($chatId: ID!) { messages(chatId: $chatId, last: 1) { edges { node { content } } } }';

  test('concurrent role changes leave one grant: after removal the user has no access at all', async () => {
    const [owner, target] = [await register(), await register()];
    const chatId = await createChat(owner, [], 'Races');
    await send(owner, chatId, 'secret plan');
    const [a, b] = await Promise.all([
      gql(url, ADD, { chatId, userId: target.id, role: 'MEMBER' }, owner.accessToken),
      gql(url, ADD, { chatId, userId: target.id, role: 'MODERATOR' }, owner.accessToken),
    ]);
    expect([a.errors, b.errors]).toEqual([undefined, undefined]);
    expect((await gql(url, REMOVE, { chatId, userId: target.id }, owner.accessToken)).errors).toBeUndefined();
    expect(codeOf(await gql(url, READ, { chatId }, target.accessToken))).toBe('NOT_FOUND');
    expect(codeOf(await send(target, chatId, 'still here?'))).toBe('FORBIDDEN');
  });

  test('only the owner makes, changes or removes an admin: an admin cannot demote or remove a co-admin', async () => {
    const [owner, first, second, member] = [await register(), await register(), await register(), await register()];
    const chatId = await createChat(owner, [member], 'Admins');
    for (const admin of [first, second]) {
      expect(
        (await gql(url, ADD, { chatId, userId: admin.id, role: 'ADMIN' }, owner.accessToken)).errors,
      ).toBeUndefined();
    }
    const roles = async () => {
      const response = await gql<{ chat: { participants: { user: { id: string }; role: string }[] } }>(
        url,
        'query($id: ID!) { chat(id: $id) { participants { user { id } role } } }',
        { id: chatId },
        owner.accessToken,
      );
      return Object.fromEntries((response.data?.chat.participants ?? []).map((p) => [p.user.id, p.role]));
    };

    // The attacks of one admin on the other: demote (re-add with a lower role), remove, and make
    // a new admin of their own.
    for (const role of ['MEMBER', 'MODERATOR']) {
      expect(codeOf(await gql(url, ADD, { chatId, userId: second.id, role }, first.accessToken))).toBe('FORBIDDEN');
    }
    expect(codeOf(await gql(url, REMOVE, { chatId, userId: second.id }, first.accessToken))).toBe('FORBIDDEN');
    expect(codeOf(await gql(url, ADD, { chatId, userId: member.id, role: 'ADMIN' }, first.accessToken))).toBe(
      'FORBIDDEN',
    );
    expect(await roles()).toMatchObject({ [second.id]: 'ADMIN', [member.id]: 'MEMBER' });

    // What an admin still does: members and moderators in, out and between those roles.
    expect((await gql(url, ADD, { chatId, userId: member.id, role: 'MODERATOR' }, first.accessToken)).errors).toBe(
      undefined,
    );
    expect((await gql(url, REMOVE, { chatId, userId: member.id }, first.accessToken)).errors).toBeUndefined();
    // An admin may leave; the owner demotes and removes admins.
    expect((await gql(url, REMOVE, { chatId, userId: second.id }, second.accessToken)).errors).toBeUndefined();
    expect((await gql(url, ADD, { chatId, userId: first.id, role: 'MEMBER' }, owner.accessToken)).errors).toBe(
      undefined,
    );
    expect(await roles()).toMatchObject({ [first.id]: 'MEMBER' });
    expect((await gql(url, ADD, { chatId, userId: first.id, role: 'ADMIN' }, owner.accessToken)).errors).toBe(
      undefined,
    );
    expect((await gql(url, REMOVE, { chatId, userId: first.id }, owner.accessToken)).errors).toBeUndefined();
    expect(Object.keys(await roles()).sort()).toEqual([owner.id]);
  });

  test('a direct chat stays between two people; an edit by a moderator shows who made it', async () => {
    const [alice, bob, carol] = [await register(), await register(), await register()];
    const direct = await gql<{ createChat: { id: string; kind: string } }>(
      url,
      'mutation($input: CreateChatInput!) { createChat(input: $input) { id kind } }',
      { input: { participantIds: [bob.id] } },
      alice.accessToken,
    );
    expect(direct.data?.createChat.kind).toBe('DIRECT');
    const added = await gql(url, ADD, { chatId: direct.data?.createChat.id, userId: carol.id }, alice.accessToken);
    expect(codeOf(added)).toBe('BAD_USER_INPUT');

    const group = await createChat(alice, [bob], 'Moderated');
    await gql(url, ADD, { chatId: group, userId: carol.id, role: 'MODERATOR' }, alice.accessToken);
    const id = (await send(bob, group, 'my words')).data?.sendMessage.id;
    const edit = await gql<{ editMessage: { content: string; sender: { id: string }; editedBy: { id: string } } }>(
      url,
      'mutation($id: ID!, $content: String!) { editMessage(id: $id, content: $content) { content sender { id } editedBy { id } } }',
      { id, content: '[removed by a moderator]' },
      carol.accessToken,
    );
    expect(edit.data?.editMessage).toEqual({
      content: '[removed by a moderator]',
      sender: { id: bob.id },
      editedBy: { id: carol.id },
    });
  });

  test('a subscription whose client went away is closed at once, not at the next event', async () => {
    const owner = await register();
    const chatId = await createChat(owner, [], 'Quiet');
    const metricsUrl = url.replace(/\/graphql$/, '/metrics');
    const active = async () =>
      Number(/^chat_subscriptions_active (\d+)/m.exec(await (await fetch(metricsUrl)).text())?.[1]);
    const client = createClient({ url, headers: { authorization: `Bearer ${owner.accessToken}` }, retryAttempts: 0 });
    const streams = Array.from({ length: 5 }, () =>
      client.iterate({
        query: 'subscription($chatId: ID!) { messageAdded(chatId: $chatId) { seq } }',
        variables: { chatId },
      }),
    );
    const pending = streams.map((stream) => stream.next());
    for (let i = 0; i < 50 && (await active()) < 5; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await active()).toBe(5);
    await Promise.all(streams.map((stream) => stream.return?.()));
    client.dispose();
    await Promise.allSettled(pending);
    let open = await active();
    for (let i = 0; i < 50 && open > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      open = await active();
    }
    // Nothing was sent in the chat: only the client going away can have closed them.
    expect(open).toBe(0);
  });
});
