import { randomUUID } from 'node:crypto';
import { createTestDatabase } from '@switchboard/infra';
import { createClient } from 'graphql-sse';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { codeOf, type GraphQLResponse, gql, registerUser } from './client.ts';
import { type Instances, startInstances } from './instances.ts';

/**
 * Consent (blocking, invitations) and the per-user live feed, against real servers: two instances
 * sharing one PostgreSQL and Redis (writes through the first, feeds read on the second), and one
 * instance without Redis (in-process pub/sub).
 */
let cluster: Instances;
let single: Instances;
let url: string;

beforeAll(async () => {
  const infra = inject('infra');
  if (!infra.redis) throw new Error('the shared topology has no Redis');
  const [clusterDb, singleDb] = await Promise.all([
    createTestDatabase(infra, 'chat_consent'),
    createTestDatabase(infra, 'chat_consent_single'),
  ]);
  cluster = await startInstances({ primary: clusterDb.primary, redis: infra.redis, count: 2 });
  single = await startInstances({ primary: singleDb.primary });
  url = cluster.urls[0] as string;
});

afterAll(async () => {
  await cluster?.close();
  await single?.close();
});

type User = { id: string; token: string };

const CREATE = 'mutation($input: CreateChatInput!) { createChat(input: $input) { id kind } }';
const ADD = `mutation($chatId: ID!, $userId: ID!, $role: ParticipantRole) {
  addParticipant(chatId: $chatId, userId: $userId, role: $role) { role status user { id } } }`;
const REMOVE = 'mutation($chatId: ID!, $userId: ID!) { removeParticipant(chatId: $chatId, userId: $userId) }';
const SEND = 'mutation($input: SendMessageInput!) { sendMessage(input: $input) { seq } }';
const BLOCK = 'mutation($userId: ID!) { blockUser(userId: $userId) }';
const UNBLOCK = 'mutation($userId: ID!) { unblockUser(userId: $userId) }';
const SETTINGS = 'mutation($input: UpdateSettingsInput!) { updateSettings(input: $input) { requireInvitation } }';
const ACCEPT = 'mutation($chatId: ID!) { acceptInvitation(chatId: $chatId) { id title } }';
const DECLINE = 'mutation($chatId: ID!) { declineInvitation(chatId: $chatId) }';
const INVITATIONS = `{ invitations {
  chat { id kind title owner { id } participants { user { id } } unreadCount } invitedBy { id } role createdAt } }`;
const PARTICIPANTS = 'query($id: ID!) { chat(id: $id) { participants { user { id } role status } } }';
const READ = 'query($chatId: ID!) { messages(chatId: $chatId, last: 5) { edges { node { content } } } }';

const createChat = async (
  base: string,
  owner: User,
  others: User[],
  title: string | null = 'Group',
): Promise<string> => {
  const response = await gql<{ createChat: { id: string } }>(
    base,
    CREATE,
    { input: { title, participantIds: others.map((other) => other.id) } },
    owner.token,
  );
  expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
  return response.data?.createChat.id as string;
};

const ok = async <T>(response: Promise<GraphQLResponse<T>>): Promise<T> => {
  const settled = await response;
  expect(settled.errors, JSON.stringify(settled.errors)).toBeUndefined();
  return settled.data as T;
};

/** What a client can tell two answers apart by: status, code, message. */
const answer = (response: GraphQLResponse<unknown>) => ({
  status: response.status,
  code: codeOf(response),
  message: response.errors?.[0]?.message,
  data: response.data ?? null,
});

/** The rbac grants a user holds (the table @switchboard/rbac/postgres owns). */
const grantsOf = async (instances: Instances, user: User) =>
  (
    await instances.pool.query<{ scope: string; role: string }>(
      'SELECT scope, role FROM switchboard_rbac_grants WHERE user_id = $1 ORDER BY scope, role',
      [user.id],
    )
  ).rows;

const until = async (check: () => boolean, timeoutMs = 5_000) => {
  for (const start = Date.now(); !check() && Date.now() - start < timeoutMs; ) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe('blocking', () => {
  test('a blocked user gets the unknown user’s answer when opening a direct chat with the blocker or adding them', async () => {
    const [alice, mallory, eve, bob] = [
      await registerUser(url, 'alice'),
      await registerUser(url, 'mallory'),
      await registerUser(url, 'eve'),
      await registerUser(url, 'bob'),
    ];
    const nobody = randomUUID();
    const shared = await createChat(url, alice, [mallory, bob], 'Before the block');
    expect((await ok(gql(url, BLOCK, { userId: mallory.id }, alice.token))).blockUser).toBe(true);
    expect((await ok(gql(url, BLOCK, { userId: eve.id }, alice.token))).blockUser).toBe(true);
    // Twice is fine (idempotent).
    expect((await ok(gql(url, BLOCK, { userId: eve.id }, alice.token))).blockUser).toBe(true);

    // A direct chat: the blocker and an id that exists nowhere get the very same answer.
    const direct = (id: string) => gql(url, CREATE, { input: { participantIds: [id] } }, mallory.token);
    const directToAlice = await direct(alice.id);
    expect(codeOf(directToAlice)).toBe('BAD_USER_INPUT');
    expect(answer(directToAlice)).toEqual(answer(await direct(nobody)));
    // A group naming her among others: the same again, and no chat was made.
    const group = (id: string) =>
      gql(url, CREATE, { input: { title: 'Trap', participantIds: [bob.id, id] } }, mallory.token);
    expect(answer(await group(alice.id))).toEqual(answer(await group(nobody)));
    const made = await cluster.pool.query('SELECT 1 FROM chats WHERE owner_id = $1', [mallory.id]);
    expect(made.rowCount).toBe(0);

    // Adding her to a group of his own: the unknown user's NOT_FOUND, and she is not in it.
    const trap = await createChat(url, mallory, [bob], 'Trap');
    const addAlice = await gql(url, ADD, { chatId: trap, userId: alice.id }, mallory.token);
    expect(codeOf(addAlice)).toBe('NOT_FOUND');
    expect(answer(addAlice)).toEqual(answer(await gql(url, ADD, { chatId: trap, userId: nobody }, mallory.token)));
    const rows = await cluster.pool.query('SELECT 1 FROM participants WHERE chat_id = $1 AND user_id = $2', [
      trap,
      alice.id,
    ]);
    expect(rows.rowCount).toBe(0);

    // blockedUsers lists exactly whom she blocked, in order; a block is one way.
    const BLOCKED = '{ blockedUsers { id } }';
    expect((await ok(gql(url, BLOCKED, {}, alice.token))).blockedUsers).toEqual([{ id: mallory.id }, { id: eve.id }]);
    expect((await ok(gql(url, BLOCKED, {}, mallory.token))).blockedUsers).toEqual([]);
    const aliceToEve = await gql(url, CREATE, { input: { participantIds: [eve.id] } }, alice.token);
    expect(aliceToEve.errors).toBeUndefined();
    expect(codeOf(await gql(url, BLOCK, { userId: alice.id }, alice.token))).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql(url, BLOCK, { userId: nobody }, alice.token))).toBe('NOT_FOUND');

    // A chat they already shared stays as it was.
    expect((await gql(url, SEND, { input: { chatId: shared, content: 'still here' } }, mallory.token)).errors).toBe(
      undefined,
    );

    // Unblocked: both work.
    expect((await ok(gql(url, UNBLOCK, { userId: mallory.id }, alice.token))).unblockUser).toBe(true);
    expect((await ok(gql(url, BLOCKED, {}, alice.token))).blockedUsers).toEqual([{ id: eve.id }]);
    expect((await direct(alice.id)).errors).toBeUndefined();
    const added = await ok(
      gql<{ addParticipant: { status: string } }>(url, ADD, { chatId: trap, userId: alice.id }, mallory.token),
    );
    expect(added.addParticipant.status).toBe('ACTIVE');
  });
});

describe('invitations', () => {
  test('requireInvitation: added to a group you are INVITED, see nothing of it and hold no role until you accept', async () => {
    const [owner, bob] = [await registerUser(url, 'owner'), await registerUser(url, 'bob')];
    expect((await ok(gql(url, '{ settings { requireInvitation } }', {}, bob.token))).settings).toEqual({
      requireInvitation: false,
    });
    expect((await ok(gql(url, SETTINGS, { input: { requireInvitation: true } }, bob.token))).updateSettings).toEqual({
      requireInvitation: true,
    });
    // A field left out changes nothing.
    expect((await ok(gql(url, SETTINGS, { input: {} }, bob.token))).updateSettings).toEqual({
      requireInvitation: true,
    });

    // Invited twice: at creation, and by addParticipant.
    const secret = await createChat(url, owner, [bob], 'Secret plans');
    await ok(gql(url, SEND, { input: { chatId: secret, content: 'the plan' } }, owner.token));
    const later = await createChat(url, owner, [], 'Later');
    const added = await ok(
      gql<{ addParticipant: unknown }>(url, ADD, { chatId: later, userId: bob.id, role: 'MODERATOR' }, owner.token),
    );
    expect(added.addParticipant).toEqual({ role: 'MODERATOR', status: 'INVITED', user: { id: bob.id } });
    const seen = await ok(gql<{ chat: { participants: unknown[] } }>(url, PARTICIPANTS, { id: secret }, owner.token));
    // Joined in one transaction: same time, so in no particular order.
    expect(seen.chat.participants).toHaveLength(2);
    expect(seen.chat.participants).toEqual(
      expect.arrayContaining([
        { user: { id: owner.id }, role: 'OWNER', status: 'ACTIVE' },
        { user: { id: bob.id }, role: 'MEMBER', status: 'INVITED' },
      ]),
    );

    // Invited, bob is a stranger to the chat in every way.
    expect(codeOf(await gql(url, 'query($id: ID!) { chat(id: $id) { id } }', { id: secret }, bob.token))).toBe(
      'NOT_FOUND',
    );
    expect(codeOf(await gql(url, READ, { chatId: secret }, bob.token))).toBe('NOT_FOUND');
    expect(codeOf(await gql(url, SEND, { input: { chatId: secret, content: 'hi' } }, bob.token))).toBe('FORBIDDEN');
    expect(
      codeOf(await gql(url, 'mutation($chatId: ID!) { typing(chatId: $chatId) }', { chatId: secret }, bob.token)),
    ).toBe('FORBIDDEN');
    expect(
      codeOf(await gql(url, 'mutation($c: ID!) { markRead(chatId: $c) { count } }', { c: secret }, bob.token)),
    ).toBe('NOT_FOUND');
    const client = createClient({ url, headers: { authorization: `Bearer ${bob.token}` }, retryAttempts: 0 });
    const stream = client.iterate({
      query: 'subscription($chatId: ID!) { messageAdded(chatId: $chatId) { seq } }',
      variables: { chatId: secret },
    });
    expect(JSON.stringify(await stream.next().catch((error: unknown) => ({ error })))).toContain('NOT_FOUND');
    client.dispose();
    const listed = await ok(gql<{ chats: { edges: unknown[] } }>(url, '{ chats { edges { cursor } } }', {}, bob.token));
    expect(listed.chats.edges).toEqual([]);
    // The owner's message would be unread for a member.
    expect((await ok(gql(url, '{ unreadCounts { chatId count } }', {}, bob.token))).unreadCounts).toEqual([]);
    expect(await grantsOf(cluster, bob)).toEqual([]);

    // The invitations, newest first: the chat's basic fields, never who is in it nor what is unread.
    const invitations = await ok(gql<{ invitations: Record<string, unknown>[] }>(url, INVITATIONS, {}, bob.token));
    expect(invitations.invitations).toEqual([
      {
        chat: { id: later, kind: 'GROUP', title: 'Later', owner: { id: owner.id }, participants: [], unreadCount: 0 },
        invitedBy: { id: owner.id },
        role: 'MODERATOR',
        createdAt: expect.any(String),
      },
      {
        chat: {
          id: secret,
          kind: 'GROUP',
          title: 'Secret plans',
          owner: { id: owner.id },
          participants: [],
          unreadCount: 0,
        },
        invitedBy: { id: owner.id },
        role: 'MEMBER',
        createdAt: expect.any(String),
      },
    ]);

    // Accepting: a member with the invitation's role, the grant written, the history readable.
    expect((await ok(gql(url, ACCEPT, { chatId: secret }, bob.token))).acceptInvitation).toEqual({
      id: secret,
      title: 'Secret plans',
    });
    expect(await grantsOf(cluster, bob)).toEqual([{ scope: `chat:${secret}`, role: 'member' }]);
    // The history is readable, but not news: nothing unread.
    expect((await ok(gql(url, '{ unreadCounts { chatId count } }', {}, bob.token))).unreadCounts).toEqual([]);
    const read = await ok(gql<{ messages: { edges: unknown[] } }>(url, READ, { chatId: secret }, bob.token));
    expect(read.messages.edges).toEqual([{ node: { content: 'the plan' } }]);
    const now = await ok(gql<{ chat: { participants: unknown[] } }>(url, PARTICIPANTS, { id: secret }, bob.token));
    expect(now.chat.participants).toContainEqual({ user: { id: bob.id }, role: 'MEMBER', status: 'ACTIVE' });
    expect(codeOf(await gql(url, ACCEPT, { chatId: secret }, bob.token))).toBe('NOT_FOUND');

    // Declining: the invitation and the participant row go, no grant appears.
    expect((await ok(gql(url, DECLINE, { chatId: later }, bob.token))).declineInvitation).toBe(true);
    expect((await ok(gql<{ invitations: unknown[] }>(url, INVITATIONS, {}, bob.token))).invitations).toEqual([]);
    const gone = await cluster.pool.query('SELECT 1 FROM participants WHERE chat_id = $1 AND user_id = $2', [
      later,
      bob.id,
    ]);
    expect(gone.rowCount).toBe(0);
    expect(await grantsOf(cluster, bob)).toEqual([{ scope: `chat:${secret}`, role: 'member' }]);
    expect(codeOf(await gql(url, ACCEPT, { chatId: later }, bob.token))).toBe('NOT_FOUND');
  });

  test('without the setting you are a member at once; a direct chat never waits for an invitation', async () => {
    const [owner, carol, dave] = [
      await registerUser(url, 'owner'),
      await registerUser(url, 'carol'),
      await registerUser(url, 'dave'),
    ];
    await ok(gql(url, SETTINGS, { input: { requireInvitation: true } }, dave.token));
    const chatId = await createChat(url, owner, [carol], 'Open');
    expect(await grantsOf(cluster, carol)).toEqual([{ scope: `chat:${chatId}`, role: 'member' }]);
    const direct = await createChat(url, owner, [dave], null);
    expect(await grantsOf(cluster, dave)).toEqual([{ scope: `chat:${direct}`, role: 'member' }]);
  });

  test('someone who left or was removed comes back only through an invitation, even with requireInvitation off', async () => {
    const [owner, carol, dave] = [
      await registerUser(url, 'owner'),
      await registerUser(url, 'carol'),
      await registerUser(url, 'dave'),
    ];
    const chatId = await createChat(url, owner, [carol, dave], 'Revolving door');
    await ok(gql(url, REMOVE, { chatId, userId: carol.id }, carol.token)); // carol leaves
    await ok(gql(url, REMOVE, { chatId, userId: dave.id }, owner.token)); // dave is removed
    for (const user of [carol, dave]) {
      const again = await ok(
        gql<{ addParticipant: { status: string } }>(url, ADD, { chatId, userId: user.id }, owner.token),
      );
      expect(again.addParticipant.status).toBe('INVITED');
      expect(codeOf(await gql(url, READ, { chatId }, user.token))).toBe('NOT_FOUND');
      expect(await grantsOf(cluster, user)).toEqual([]);
    }
    // Accepting brings carol back; declining keeps dave out, and adding him again only invites him.
    await ok(gql(url, ACCEPT, { chatId }, carol.token));
    expect((await gql(url, READ, { chatId }, carol.token)).errors).toBeUndefined();
    await ok(gql(url, DECLINE, { chatId }, dave.token));
    const third = await ok(
      gql<{ addParticipant: { status: string } }>(url, ADD, { chatId, userId: dave.id }, owner.token),
    );
    expect(third.addParticipant.status).toBe('INVITED');

    // Re-adding someone invited changes the invitation's role; withdrawing it is not a
    // departure: without the setting, the next add makes erin a member at once.
    const erin = await registerUser(url, 'erin');
    await ok(gql(url, SETTINGS, { input: { requireInvitation: true } }, erin.token));
    await ok(gql(url, ADD, { chatId, userId: erin.id }, owner.token));
    const rerole = await ok(
      gql<{ addParticipant: unknown }>(url, ADD, { chatId, userId: erin.id, role: 'MODERATOR' }, owner.token),
    );
    expect(rerole.addParticipant).toEqual({ role: 'MODERATOR', status: 'INVITED', user: { id: erin.id } });
    expect(await grantsOf(cluster, erin)).toEqual([]);
    await ok(gql(url, REMOVE, { chatId, userId: erin.id }, owner.token));
    expect((await ok(gql<{ invitations: unknown[] }>(url, INVITATIONS, {}, erin.token))).invitations).toEqual([]);
    await ok(gql(url, SETTINGS, { input: { requireInvitation: false } }, erin.token));
    const member = await ok(
      gql<{ addParticipant: { status: string } }>(url, ADD, { chatId, userId: erin.id }, owner.token),
    );
    expect(member.addParticipant.status).toBe('ACTIVE');
  });

  test('a role change of an active participant stays a role change, whatever their setting', async () => {
    const [owner, bob] = [await registerUser(url, 'owner'), await registerUser(url, 'bob')];
    await ok(gql(url, SETTINGS, { input: { requireInvitation: true } }, bob.token));
    const chatId = await createChat(url, owner, [bob], 'Promotions');
    await ok(gql(url, ACCEPT, { chatId }, bob.token));
    const promoted = await ok(
      gql<{ addParticipant: unknown }>(url, ADD, { chatId, userId: bob.id, role: 'MODERATOR' }, owner.token),
    );
    expect(promoted.addParticipant).toEqual({ role: 'MODERATOR', status: 'ACTIVE', user: { id: bob.id } });
    expect(await grantsOf(cluster, bob)).toEqual([{ scope: `chat:${chatId}`, role: 'moderator' }]);
    expect((await gql(url, READ, { chatId }, bob.token)).errors).toBeUndefined();
    expect((await ok(gql<{ invitations: unknown[] }>(url, INVITATIONS, {}, bob.token))).invitations).toEqual([]);
  });
});

const USER_EVENTS = `subscription($ready: Boolean) { userEvents(ready: $ready) {
  type
  chat { id title participants { user { id } status } unreadCount }
  invitation { chat { id title participants { user { id } } } invitedBy { id } role }
  unreadCount { chatId count }
} }`;

interface FeedEvent {
  type: string;
  chat: { id: string; title: string; participants: { user: { id: string }; status: string }[] } | null;
  invitation: { chat: { id: string; title: string }; invitedBy: { id: string }; role: string } | null;
  unreadCount: { chatId: string; count: number } | null;
}

/** A user's userEvents over SSE, collected as they arrive. */
function listen(base: string, user: User, ready = false) {
  const client = createClient({ url: base, headers: { authorization: `Bearer ${user.token}` }, retryAttempts: 0 });
  const events: FeedEvent[] = [];
  const errors: unknown[] = [];
  const stop = client.subscribe<{ userEvents: FeedEvent }>(
    { query: USER_EVENTS, variables: { ready } },
    {
      next: (result) => {
        if (result.data) events.push(result.data.userEvents);
        if (result.errors) errors.push(result.errors);
      },
      error: (error) => errors.push(error),
      complete: () => {},
    },
  );
  return {
    events,
    errors,
    close() {
      stop();
      client.dispose();
    },
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 400));

describe.each([
  ['two instances over Redis (written on one, heard on the other)', () => cluster],
  ['one instance, in-process pub/sub', () => single],
])('userEvents: %s', (_, topology) => {
  test('with ready: true the first event is READY, sent once the feed is live: a chat created the moment it arrives is heard', async () => {
    const instances = topology();
    const [write, read] = [instances.urls[0] as string, instances.urls.at(-1) as string];
    const [owner, member] = [await registerUser(write, 'owner'), await registerUser(write, 'member')];
    // No settling: each round acts the moment READY arrives, on the other instance.
    for (let round = 0; round < 5; round++) {
      const feed = listen(read, member, true);
      try {
        await until(() => feed.events.length >= 1 || feed.errors.length > 0);
        expect(feed.errors).toEqual([]);
        expect(feed.events[0]).toEqual({ type: 'READY', chat: null, invitation: null, unreadCount: null });
        const chatId = await createChat(write, owner, [member], `Ready ${round}`);
        await until(() => feed.events.length >= 2);
        expect(feed.events.slice(1)).toEqual([
          expect.objectContaining({ type: 'ADDED_TO_CHAT', chat: expect.objectContaining({ id: chatId }) }),
        ]);
      } finally {
        feed.close();
      }
    }
  });

  test('each user hears only their own invitations, additions and removals', async () => {
    const instances = topology();
    const [write, read] = [instances.urls[0] as string, instances.urls.at(-1) as string];
    const [owner, member, invitee, bystander] = [
      await registerUser(write, 'owner'),
      await registerUser(write, 'member'),
      await registerUser(write, 'invitee'),
      await registerUser(write, 'bystander'),
    ];
    await ok(gql(write, SETTINGS, { input: { requireInvitation: true } }, invitee.token));
    const feeds = {
      owner: listen(read, owner),
      member: listen(read, member),
      invitee: listen(read, invitee),
      bystander: listen(read, bystander),
    };
    await settle();

    // The bystander is a member of the same chat, and hears only what concerns them.
    const chatId = await createChat(write, owner, [bystander], 'Feed');
    await ok(gql(write, ADD, { chatId, userId: member.id }, owner.token));
    await ok(gql(write, ADD, { chatId, userId: invitee.id }, owner.token));
    await until(() => feeds.member.events.length >= 1 && feeds.invitee.events.length >= 1);
    expect(feeds.member.events).toEqual([
      {
        type: 'ADDED_TO_CHAT',
        chat: {
          id: chatId,
          title: 'Feed',
          participants: expect.arrayContaining([{ user: { id: member.id }, status: 'ACTIVE' }]),
          unreadCount: 0,
        },
        invitation: null,
        unreadCount: null,
      },
    ]);
    // The invitation shows the chat, never who is in it.
    expect(feeds.invitee.events).toEqual([
      {
        type: 'INVITED',
        chat: { id: chatId, title: 'Feed', participants: [], unreadCount: 0 },
        invitation: {
          chat: { id: chatId, title: 'Feed', participants: [] },
          invitedBy: { id: owner.id },
          role: 'MEMBER',
        },
        unreadCount: null,
      },
    ]);

    // Accepting: the invitee is added, the inviter hears that the chat changed.
    await ok(gql(write, ACCEPT, { chatId }, invitee.token));
    await until(() => feeds.invitee.events.length >= 2 && feeds.owner.events.length >= 2);
    expect(feeds.invitee.events[1]).toMatchObject({ type: 'ADDED_TO_CHAT', chat: { id: chatId } });
    expect(feeds.owner.events.map((event) => [event.type, event.chat?.id])).toEqual([
      ['ADDED_TO_CHAT', chatId],
      ['CHAT_UPDATED', chatId],
    ]);

    // Removed: told so, and shown nothing of who is still in the chat.
    await ok(gql(write, REMOVE, { chatId, userId: member.id }, owner.token));
    await until(() => feeds.member.events.length >= 2);
    expect(feeds.member.events[1]).toEqual({
      type: 'REMOVED_FROM_CHAT',
      chat: { id: chatId, title: 'Feed', participants: [], unreadCount: 0 },
      invitation: null,
      unreadCount: null,
    });

    // A role change: the promoted member hears that the chat changed for them.
    await ok(gql(write, ADD, { chatId, userId: invitee.id, role: 'MODERATOR' }, owner.token));
    await until(() => feeds.invitee.events.length >= 3);
    expect(feeds.invitee.events[2]).toMatchObject({ type: 'CHAT_UPDATED', chat: { id: chatId } });

    await settle();
    expect(feeds.bystander.events.map((event) => [event.type, event.chat?.id])).toEqual([['ADDED_TO_CHAT', chatId]]);
    expect(feeds.member.events).toHaveLength(2);
    expect(feeds.invitee.events).toHaveLength(3);
    expect(feeds.owner.events).toHaveLength(2);
    for (const feed of Object.values(feeds)) {
      expect(feed.errors).toEqual([]);
      feed.close();
    }
  });

  test('UNREAD_CHANGED: as messages arrive and when you mark the chat read; never for an invitation', async () => {
    const instances = topology();
    const [write, read] = [instances.urls[0] as string, instances.urls.at(-1) as string];
    const [owner, member, invitee, outsider] = [
      await registerUser(write, 'owner'),
      await registerUser(write, 'member'),
      await registerUser(write, 'invitee'),
      await registerUser(write, 'outsider'),
    ];
    await ok(gql(write, SETTINGS, { input: { requireInvitation: true } }, invitee.token));
    const chatId = await createChat(write, owner, [member, invitee], 'Busy');
    await settle();
    const feeds = { member: listen(read, member), invitee: listen(read, invitee), outsider: listen(read, outsider) };
    await settle();

    // Only the counts: the chat's own creation events may still be on their way.
    const counts = (feed: ReturnType<typeof listen>) => feed.events.filter((event) => event.type === 'UNREAD_CHANGED');
    const send = (user: User, content: string) => ok(gql(write, SEND, { input: { chatId, content } }, user.token));
    await send(owner, 'one');
    await send(owner, 'two');
    await until(() => counts(feeds.member).length >= 2);
    await ok(gql(write, 'mutation($c: ID!) { markRead(chatId: $c) { count } }', { c: chatId }, member.token));
    await until(() => counts(feeds.member).length >= 3);
    // Your own message leaves nothing unread: no change, no event; the next one from someone else counts 1.
    await send(member, 'three');
    await send(owner, 'four');
    await until(() => counts(feeds.member).length >= 4);
    expect(counts(feeds.member).map((event) => [event.type, event.unreadCount])).toEqual([
      ['UNREAD_CHANGED', { chatId, count: 1 }],
      ['UNREAD_CHANGED', { chatId, count: 2 }],
      ['UNREAD_CHANGED', { chatId, count: 0 }],
      ['UNREAD_CHANGED', { chatId, count: 1 }],
    ]);
    expect(counts(feeds.member).every((event) => event.chat === null)).toBe(true);

    await settle();
    // The invitation counts nothing; a stranger hears nothing.
    expect(counts(feeds.invitee)).toEqual([]);
    expect(feeds.outsider.events).toEqual([]);
    for (const feed of Object.values(feeds)) {
      expect(feed.errors).toEqual([]);
      feed.close();
    }
  });
});
