import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, sentinelClientOptions } from '@switchboard/infra';
import { createRbac, type Rbac } from '@switchboard/rbac';
import { createPostgresGrantStore, createPostgresPolicyStore } from '@switchboard/rbac/postgres';
import { createRedisRbacBus } from '@switchboard/rbac/redis';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { codeRoles, conditions } from '../src/chat/roles.ts';
import { codeOf, gql, TEST_PASSWORD } from './client.ts';
import { type Instances, startInstances } from './instances.ts';

const serverDir = fileURLToPath(new URL('..', import.meta.url));
let instances: Instances;
let pool: pg.Pool;
let databaseUrl: string;
let urls: string[];

beforeAll(async () => {
  const db = await createTestDatabase(inject('infra'), 'chat_platform_admin');
  databaseUrl = db.primary;
  // Two instances with Redis: what one learns (a grant, a policy change) the other must too.
  const redis = inject('infra').redis;
  if (!redis) throw new Error('these tests need the Redis of tools/infra');
  instances = await startInstances({ primary: db.primary, redis, count: 2 });
  pool = instances.pool;
  urls = instances.urls;
});

afterAll(async () => {
  await instances?.close();
});

interface User {
  id: string;
  username: string;
  token: string;
}

let names = 0;
async function register(label: string): Promise<User> {
  const username = `${label}${Date.now().toString(36)}${names++}`;
  const response = await gql<{ register: { accessToken: string; user: { id: string } } }>(
    urls[0] as string,
    `mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }`,
    { input: { username, email: `${username}@example.com`, password: TEST_PASSWORD } },
  );
  expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
  const payload = response.data?.register as { accessToken: string; user: { id: string } };
  return { id: payload.user.id, username, token: payload.accessToken };
}

/** `npm run admin -- …` as an operator runs it, against the test database and Redis. */
function admin(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const redis = inject('infra').redis;
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '-s', 'admin', '--', ...args], {
      cwd: serverDir,
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        ...(redis
          ? {
              REDIS_SENTINELS: redis.sentinels.map((node) => `${node.host}:${node.port}`).join(','),
              REDIS_MASTER_NAME: redis.masterName,
            }
          : {}),
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const CHAT = `query($id: ID!) { chat(id: $id) { id title } }`;
const MESSAGES = `query($id: ID!) { messages(chatId: $id, first: 10) { edges { node { id content } } } }`;
const AUDIT = `query($id: ID!, $first: Int, $after: String) {
  chatAuditLog(chatId: $id, first: $first, after: $after) {
    edges { cursor node { id at actor action role userId messageId requestId } }
    pageInfo { hasNextPage endCursor }
  }
}`;

interface AuditNode {
  messageId: string | null;
  actor: string | null;
  action: string;
  role: string;
  userId: string | null;
  requestId: string | null;
}

async function auditOf(viewer: User, chatId: string, url = urls[0] as string): Promise<AuditNode[]> {
  const response = await gql<{ chatAuditLog: { edges: { node: AuditNode }[] } }>(
    url,
    AUDIT,
    { id: chatId, first: 100 },
    viewer.token,
  );
  expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
  return response.data?.chatAuditLog.edges.map((edge) => edge.node) ?? [];
}

async function createChat(owner: User, others: User[]): Promise<string> {
  const response = await gql<{ createChat: { id: string } }>(
    urls[0] as string,
    `mutation($input: CreateChatInput!) { createChat(input: $input) { id } }`,
    { input: { title: 'Ops', participantIds: others.map((other) => other.id) } },
    owner.token,
  );
  expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
  return response.data?.createChat.id as string;
}

async function send(sender: User, chatId: string, content: string, url = urls[0] as string) {
  return gql<{ sendMessage: { id: string } }>(
    url,
    `mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }`,
    { input: { chatId, content } },
    sender.token,
  );
}

/** Milliseconds until `check` holds (fails after 3 s). */
async function within(check: () => Promise<boolean>): Promise<number> {
  const startedAt = Date.now();
  while (!(await check())) {
    if (Date.now() - startedAt > 3_000) throw new Error('not within 3 s');
    await sleep(10);
  }
  return Date.now() - startedAt;
}

describe('the audit trail of a chat', () => {
  test('every grant and revoke the server makes is recorded with its actor; only the owner reads it', async () => {
    const [owner, bob, carol, stranger] = [
      await register('owner'),
      await register('bob'),
      await register('carol'),
      await register('stranger'),
    ];
    const chatId = await createChat(owner, [bob]);
    const added = await gql(
      urls[0] as string,
      `mutation($chat: ID!, $user: ID!) { addParticipant(chatId: $chat, userId: $user, role: MODERATOR) { role } }`,
      { chat: chatId, user: carol.id },
      owner.token,
    );
    expect(added.errors).toBeUndefined();
    const removed = await gql(
      urls[0] as string,
      `mutation($chat: ID!, $user: ID!) { removeParticipant(chatId: $chat, userId: $user) }`,
      { chat: chatId, user: bob.id },
      owner.token,
    );
    expect(removed.errors).toBeUndefined();

    const entries = await auditOf(owner, chatId);
    const summary = entries.map(({ action, role, userId, actor }) => ({ action, role, userId, actor }));
    // Newest first: the removal, the addition, then the creation's two grants (in either order).
    expect(summary.slice(0, 2)).toEqual([
      { action: 'revoke', role: 'member', userId: bob.id, actor: owner.id },
      { action: 'grant', role: 'moderator', userId: carol.id, actor: owner.id },
    ]);
    expect(summary.slice(2)).toEqual(
      expect.arrayContaining([
        { action: 'grant', role: 'owner', userId: owner.id, actor: owner.id },
        { action: 'grant', role: 'member', userId: bob.id, actor: owner.id },
      ]),
    );
    expect(summary).toHaveLength(4);
    // Each carries the id of the request that made it.
    for (const entry of entries) expect(entry.requestId).toMatch(/\S/);

    // Pages with cursors.
    const first = await gql<{
      chatAuditLog: { edges: unknown[]; pageInfo: { hasNextPage: boolean; endCursor: string } };
    }>(urls[0] as string, AUDIT, { id: chatId, first: 3 }, owner.token);
    expect(first.data?.chatAuditLog.edges).toHaveLength(3);
    expect(first.data?.chatAuditLog.pageInfo.hasNextPage).toBe(true);
    const rest = await gql<{ chatAuditLog: { edges: unknown[]; pageInfo: { hasNextPage: boolean } } }>(
      urls[0] as string,
      AUDIT,
      { id: chatId, first: 3, after: first.data?.chatAuditLog.pageInfo.endCursor },
      owner.token,
    );
    expect(rest.data?.chatAuditLog.edges).toHaveLength(1);
    expect(rest.data?.chatAuditLog.pageInfo.hasNextPage).toBe(false);

    // A moderator may not read it; someone outside the chat does not even learn it exists.
    expect(codeOf(await gql(urls[0] as string, AUDIT, { id: chatId }, carol.token))).toBe('FORBIDDEN');
    expect(codeOf(await gql(urls[0] as string, AUDIT, { id: chatId }, stranger.token))).toBe('NOT_FOUND');
    for (const bad of [{ after: 'forged' }, { first: 0 }, { first: 101 }]) {
      expect(codeOf(await gql(urls[0] as string, AUDIT, { id: chatId, ...bad }, owner.token))).toBe('BAD_USER_INPUT');
    }

    // A role change replaces the grant (both recorded), and deleting the chat revokes every grant
    // in it: all by the owner's hand, in the trail that outlives the chat.
    const rerole = await gql(
      urls[0] as string,
      `mutation($chat: ID!, $user: ID!) { addParticipant(chatId: $chat, userId: $user, role: ADMIN) { role } }`,
      { chat: chatId, user: carol.id },
      owner.token,
    );
    expect(rerole.errors).toBeUndefined();
    const deleted = await gql(
      urls[0] as string,
      `mutation($id: ID!) { deleteChat(id: $id) }`,
      { id: chatId },
      owner.token,
    );
    expect(deleted.errors).toBeUndefined();
    const { rows } = await pool.query(
      `SELECT action, role, user_id AS "userId", actor FROM switchboard_rbac_audit
        WHERE scope = $1 AND action IN ('grant', 'revoke') ORDER BY id`,
      [`chat:${chatId}`],
    );
    expect(rows.slice(4, 6)).toEqual([
      { action: 'revoke', role: 'moderator', userId: carol.id, actor: owner.id },
      { action: 'grant', role: 'admin', userId: carol.id, actor: owner.id },
    ]);
    // The deletion's revokes, in the order the participants were read.
    expect(rows.slice(6)).toEqual(
      expect.arrayContaining([
        { action: 'revoke', role: 'owner', userId: owner.id, actor: owner.id },
        { action: 'revoke', role: 'admin', userId: carol.id, actor: owner.id },
      ]),
    );
    expect(rows).toHaveLength(8);
    // Nothing granted in the chat is left, and nothing was changed without an actor.
    expect(
      (await pool.query('SELECT 1 FROM switchboard_rbac_grants WHERE scope = $1', [`chat:${chatId}`])).rows,
    ).toEqual([]);
    expect(rows.every((row) => row.actor === owner.id)).toBe(true);
  });
});

describe('the platform admin', () => {
  test('npm run admin -- grant: reads, moderates and deletes in any chat, each action audited; lists only their chats', async () => {
    const [owner, bob, operator] = [await register('owner'), await register('bob'), await register('operator')];
    const chatId = await createChat(owner, [bob]);
    const sent = await send(bob, chatId, 'hello');
    const messageId = sent.data?.sendMessage.id as string;
    // Not an admin yet: the chat is not even found (and that answer is now cached on each instance).
    for (const url of urls) expect(codeOf(await gql(url, CHAT, { id: chatId }, operator.token))).toBe('NOT_FOUND');

    const granted = await admin('grant', operator.username.toUpperCase());
    expect(granted.stderr).toBe('');
    expect(granted.code).toBe(0);
    expect(granted.stdout).toContain(`${operator.username} (${operator.id}) is a platform admin`);
    expect((await admin('list')).stdout).toContain(operator.username);
    // Every instance drops its cached grants through the bus: no waiting for the cache TTL.
    for (const url of urls) {
      expect(
        await within(async () => (await gql(url, CHAT, { id: chatId }, operator.token)).errors === undefined),
      ).toBeLessThan(1_000);
    }

    const read = await gql<{ messages: { edges: { node: { content: string } }[] } }>(
      urls[1] as string,
      MESSAGES,
      { id: chatId },
      operator.token,
    );
    expect(read.data?.messages.edges.map((edge) => edge.node.content)).toEqual(['hello']);
    // Moderates, but does not take part: may not send there.
    expect(codeOf(await send(operator, chatId, 'hi', urls[1]))).toBe('FORBIDDEN');
    const deleted = await gql(
      urls[0] as string,
      `mutation($id: ID!) { deleteMessage(id: $id) }`,
      { id: messageId },
      operator.token,
    );
    expect(deleted.errors).toBeUndefined();
    // Their chat list shows only chats they take part in.
    const listed = await gql<{ chats: { edges: { node: { id: string } }[] } }>(
      urls[0] as string,
      `{ chats(first: 50) { edges { node { id } } } }`,
      {},
      operator.token,
    );
    expect(listed.data?.chats.edges).toEqual([]);

    // Every action of theirs in the chat is in its audit trail, reads included; the owner sees them.
    const theirs = (await auditOf(owner, chatId)).filter((entry) => entry.actor === operator.id);
    expect(theirs.map((entry) => entry.action).reverse()).toEqual([
      'chat.read',
      'chat.read',
      'messages.read',
      'message.delete',
    ]);
    for (const entry of theirs) {
      expect(entry.role).toBe('platform-admin');
      expect(entry.requestId).toMatch(/\S/);
    }
    // Reading the trail themselves is audited too; the owner's own reads are not.
    await auditOf(operator, chatId);
    const after = await auditOf(owner, chatId);
    expect(after[0]).toMatchObject({ action: 'chat.audit.read', actor: operator.id });
    expect(after.filter((entry) => entry.actor === owner.id && entry.action.includes('.'))).toEqual([]);

    // The deletion names the message.
    expect(theirs.find((entry) => entry.action === 'message.delete')?.messageId).toBe(messageId);

    // In a chat they take part in, their reads are a member's; their moderation is still audited
    // (a member may not delete someone else's message: that is the admin role at work).
    const shared = await createChat(owner, [bob, operator]);
    const bobs = (await send(bob, shared, 'in the shared chat')).data?.sendMessage.id as string;
    expect((await gql(urls[0] as string, MESSAGES, { id: shared }, operator.token)).errors).toBeUndefined();
    expect(
      (await gql(urls[0] as string, `mutation($id: ID!) { deleteMessage(id: $id) }`, { id: bobs }, operator.token))
        .errors,
    ).toBeUndefined();
    expect(
      (
        await gql(
          urls[0] as string,
          `mutation($chat: ID!, $user: ID!) { removeParticipant(chatId: $chat, userId: $user) }`,
          { chat: shared, user: bob.id },
          operator.token,
        )
      ).errors,
    ).toBeUndefined();
    const inShared = (await auditOf(owner, shared)).filter(
      (entry) => entry.actor === operator.id && entry.role === 'platform-admin',
    );
    expect(inShared.map(({ action, messageId, userId }) => ({ action, messageId, userId }))).toEqual([
      { action: 'participant.remove', messageId: null, userId: bob.id },
      { action: 'message.delete', messageId: bobs, userId: null },
    ]);

    // Then the chat goes, by their hand (audited before it went: the trail outlives the chat).
    expect(
      (await gql(urls[0] as string, `mutation($id: ID!) { deleteChat(id: $id) }`, { id: chatId }, operator.token))
        .errors,
    ).toBeUndefined();
    const { rows } = await pool.query(
      "SELECT action, actor FROM switchboard_rbac_audit WHERE scope = $1 AND action = 'chat.delete'",
      [`chat:${chatId}`],
    );
    expect(rows).toEqual([{ action: 'chat.delete', actor: operator.id }]);

    // Revoked: gone on every instance at once.
    expect((await admin('revoke', operator.username)).code).toBe(0);
    const other = await createChat(owner, [bob]);
    for (const url of urls) expect(codeOf(await gql(url, CHAT, { id: other }, operator.token))).toBe('NOT_FOUND');
    const { rows: revokes } = await pool.query(
      "SELECT actor FROM switchboard_rbac_audit WHERE user_id = $1 AND role = 'platform-admin' ORDER BY id",
      [operator.id],
    );
    expect(revokes.map((row) => row.actor)).toEqual([expect.stringMatching(/^cli:/), expect.stringMatching(/^cli:/)]);
  });

  test('the admin command refuses an unknown user and bad usage, without touching anything', async () => {
    const unknown = await admin('grant', 'nobody-by-this-name');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no user named "nobody-by-this-name"');
    const usage = await admin('promote', 'x');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('usage: npm run admin -- grant <username>');
  });
});

describe('chat roles as data', () => {
  let operator: Rbac;
  let clients: Redis[];
  beforeAll(async () => {
    const redis = inject('infra').redis;
    if (!redis) throw new Error('no redis');
    clients = [new Redis(sentinelClientOptions(redis)), new Redis(sentinelClientOptions(redis))];
    // What an operator's script does: the server's own code roles and conditions, the same stores and bus.
    operator = await createRbac({
      roles: codeRoles,
      conditions,
      policyStore: createPostgresPolicyStore({ pool }),
      store: createPostgresGrantStore({ pool }),
      cache: { bus: createRedisRbacBus({ publisher: clients[0] as Redis, subscriber: clients[1] as Redis }) },
    });
  });
  afterAll(() => {
    operator?.close();
    for (const client of clients ?? []) client.disconnect();
  });

  test('the migration put the four chat roles in the policy store; the platform admin stays code', async () => {
    const roles = await operator.listRoles();
    expect(
      roles
        .map(({ name, source, version }) => ({ name, source, version }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    ).toEqual([
      { name: 'admin', source: 'store', version: 1 },
      { name: 'member', source: 'store', version: 1 },
      { name: 'moderator', source: 'store', version: 1 },
      { name: 'owner', source: 'store', version: 1 },
      { name: 'platform-admin', source: 'code', version: null },
    ]);
    await expect(operator.updateRole('platform-admin', { permissions: ['*'] })).rejects.toMatchObject({
      code: 'INVALID_POLICY',
    });
  });

  test('a member’s permission removed at runtime is refused on every instance within a second, and given back', async () => {
    const [owner, bob] = [await register('owner'), await register('bob')];
    const chatId = await createChat(owner, [bob]);
    expect((await send(bob, chatId, 'before')).errors).toBeUndefined();
    const member = (await operator.listRoles()).find((role) => role.name === 'member');
    const permissions = member?.definition.permissions as string[];
    try {
      await operator.updateRole(
        'member',
        { deny: ['message:send'] },
        { actor: 'ops', expectedVersion: member?.version as number },
      );
      for (const url of urls)
        expect(await within(async () => codeOf(await send(bob, chatId, 'during', url)) === 'FORBIDDEN')).toBeLessThan(
          1_000,
        );
      // Everything else keeps working: reading, and the owner (who inherits member) is refused too.
      expect((await gql(urls[1] as string, MESSAGES, { id: chatId }, bob.token)).errors).toBeUndefined();
      expect(codeOf(await send(owner, chatId, 'owner too'))).toBe('FORBIDDEN');
    } finally {
      await operator.updateRole('member', { deny: [], permissions }, { actor: 'ops' });
    }
    for (const url of urls)
      expect(await within(async () => (await send(bob, chatId, 'after', url)).errors === undefined)).toBeLessThan(
        1_000,
      );
  });
});
