import type { INestApplication } from '@nestjs/common';
import { createTestDatabase, sentinelClientOptions } from '@switchboard/infra';
import { createLogger } from '@switchboard/logging';
import { createRedisStore } from '@switchboard/ratelimit/redis';
import { createClient } from 'graphql-ws';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import WebSocket from 'ws';
import { createNestChat } from '../src/create-app.ts';
import { migrate } from '../src/database.ts';
import { createSwitchboard, type Switchboard } from '../src/switchboard.ts';

let pool: pg.Pool;
let app: Switchboard;
const redisClients: Redis[] = [];

beforeAll(async () => {
  const database = await createTestDatabase(inject('infra'), 'nest_chat');
  pool = new pg.Pool({ connectionString: database.primary, max: 8 });
  await migrate(pool);
  app = await createSwitchboard({ pool, log: createLogger({ serviceName: 'nestjs-chat-test', level: 'silent' }) });
});

afterAll(async () => {
  await app?.close();
  await pool?.end();
  for (const client of redisClients) client.disconnect();
});

const variants = [
  ['express', 'memory'],
  ['fastify', 'memory'],
  ['fastify', 'redis'],
] as const;

describe.each(variants)('the NestJS chat on the %s platform, rate limits in %s', (platform, store) => {
  let nest: INestApplication;
  let url: string;
  const suffix = `${platform}${store}`.slice(0, 12);

  beforeAll(async () => {
    let rateLimitStore: ReturnType<typeof createRedisStore> | undefined;
    if (store === 'redis') {
      const info = inject('infra').redis;
      if (!info) throw new Error('the shared topology has no Redis');
      const client = new Redis(sentinelClientOptions(info));
      redisClients.push(client);
      rateLimitStore = createRedisStore({ client });
    }
    nest = await createNestChat(app, { platform, ...(rateLimitStore ? { rateLimitStore } : {}) });
    await nest.listen(0, '127.0.0.1');
    url = (await nest.getUrl()).replace('[::1]', '127.0.0.1');
  });

  afterAll(async () => {
    await nest?.close();
  });

  const graphql = async <T>(query: string, variables: Record<string, unknown> = {}, token?: string) => {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as { data?: T; errors?: { message: string; extensions: Record<string, unknown> }[] };
  };
  const post = (chatId: string, content: string, token?: string) =>
    fetch(`${url}/chats/${chatId}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ content }),
    });
  const register = async (username: string) => {
    const result = await graphql<{ register: { accessToken: string; refreshToken: string; user: { id: string } } }>(
      'mutation ($u: String!, $p: String!) { register(username: $u, password: $p) { accessToken refreshToken user { id } } }',
      { u: username, p: 'violet-Otter-42-Lantern!' },
    );
    if (!result.data) throw new Error(JSON.stringify(result.errors));
    return result.data.register;
  };

  let ann: Awaited<ReturnType<typeof register>>;
  let bob: Awaited<ReturnType<typeof register>>;
  let chatId: string;

  test('register, login, and refresh with rotation (a spent refresh token is refused)', async () => {
    ann = await register(`ann${suffix}`);
    bob = await register(`bob${suffix}`);
    const login = await graphql<{ login: { user: { id: string } } }>(
      'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { user { id } } }',
      { u: `ann${suffix}`, p: 'violet-Otter-42-Lantern!' },
    );
    expect(login.data?.login.user.id).toBe(ann.user.id);
    const wrong = await graphql('mutation { login(username: "nobody-here", password: "x") { accessToken } }');
    expect(wrong.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
    const refresh = 'mutation ($t: String!) { refresh(refreshToken: $t) { accessToken refreshToken } }';
    const rotated = await graphql<{ refresh: { refreshToken: string } }>(refresh, { t: ann.refreshToken });
    expect(rotated.data?.refresh.refreshToken).not.toBe(ann.refreshToken);
    // Once the successor was used, the first token presented again is theft (within 10 s and
    // before that, auth's reuse leeway would hand back the same successor: two tabs, a lost reply).
    const next = await graphql(refresh, { t: rotated.data?.refresh.refreshToken });
    expect(next.errors).toBeUndefined();
    const reused = await graphql(refresh, { t: ann.refreshToken });
    expect(reused.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'REFRESH_TOKEN_REUSED' });
    // Reuse revoked that session; ann logs in again for the rest.
    ann = { ...ann, ...(await register(`ann2${suffix}`)) };
  });

  test('401 without a token, 403 outside the chat, 201 inside', async () => {
    const created = await graphql<{ createChat: { id: string } }>(
      'mutation { createChat(name: "general") { id } }',
      {},
      ann.accessToken,
    );
    chatId = created.data?.createChat.id as string;
    expect(chatId).toMatch(/^[0-9a-f-]{36}$/);
    const anonymous = await post(chatId, 'hi');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    const outside = await post(chatId, 'hi', bob.accessToken);
    expect(outside.status).toBe(403);
    expect(await outside.json()).toMatchObject({ code: 'FORBIDDEN', permission: 'message:send' });
    const inside = await post(chatId, '  hello <b>world</b><script>x</script> ', ann.accessToken);
    expect(inside.status).toBe(201);
    expect(await inside.json()).toMatchObject({ chatId, senderId: ann.user.id, content: 'hello <b>world</b>' });
    expect(inside.headers.get('ratelimit-policy')).toBe('"default";q=30;w=60');
  });

  test('over GraphQL: FORBIDDEN outside, a member added by the owner can send, the messages connection pages', async () => {
    const send = 'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { content senderId } }';
    const outside = await graphql(send, { input: { chatId, content: 'let me in' } }, bob.accessToken);
    expect(outside.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    const notOwner = await graphql(
      'mutation ($c: ID!, $u: String!) { addMember(chatId: $c, username: $u) }',
      { c: chatId, u: `bob${suffix}` },
      bob.accessToken,
    );
    expect(notOwner.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    await graphql(
      'mutation ($c: ID!, $u: String!) { addMember(chatId: $c, username: $u) }',
      { c: chatId, u: `bob${suffix}` },
      ann.accessToken,
    );
    const sent = await graphql(send, { input: { chatId, content: 'thanks' } }, bob.accessToken);
    expect(sent.data).toEqual({ sendMessage: { content: 'thanks', senderId: bob.user.id } });
    const page = await graphql<{
      messages: { edges: { node: { content: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } };
    }>(
      'query ($c: ID!) { messages(chatId: $c, first: 1) { edges { node { content } } pageInfo { hasNextPage endCursor } } }',
      { c: chatId },
      bob.accessToken,
    );
    expect(page.data?.messages.edges.map((edge) => edge.node.content)).toEqual(['thanks']);
    expect(page.data?.messages.pageInfo.hasNextPage).toBe(true);
    const bad = await graphql(send, { input: { chatId, content: '   ' } }, bob.accessToken);
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', issues: [{ path: ['content'] }] });
  });

  test('a subscription authenticated on connect receives a message sent over REST (through the outbox); an unauthenticated one is refused', async () => {
    const wsUrl = `${url.replace(/^http/, 'ws')}/graphql`;
    const client = createClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${bob.accessToken}` },
      retryAttempts: 0,
    });
    try {
      const received = new Promise<unknown>((resolve, reject) => {
        client.subscribe(
          { query: `subscription { messageAdded(chatId: "${chatId}") { content senderId } }` },
          {
            // Messages of the earlier tests may still be on their way through the outbox: Ann's live ones count.
            next: (result) => {
              const added = (result.data as { messageAdded?: { senderId?: string } } | undefined)?.messageAdded;
              if (added?.senderId === ann.user.id) resolve(result);
            },
            error: reject,
            complete: () => reject(new Error('completed early')),
          },
        );
      });
      // Sent until one arrives: the subscription is live once the server ran its guards.
      let sent = 0;
      const sender = setInterval(() => {
        sent++;
        void post(chatId, `live ${sent}`, ann.accessToken);
      }, 100);
      try {
        expect(await received).toMatchObject({ data: { messageAdded: { senderId: ann.user.id } } });
      } finally {
        clearInterval(sender);
      }
    } finally {
      await client.dispose();
    }
    const anonymous = createClient({ url: wsUrl, webSocketImpl: WebSocket, retryAttempts: 0 });
    const refused = await new Promise<unknown>((resolve) => {
      anonymous.subscribe(
        { query: `subscription { messageAdded(chatId: "${chatId}") { content } }` },
        { next: () => resolve('received'), error: resolve, complete: () => resolve('completed') },
      );
    });
    expect((refused as { code?: number }).code).toBe(4403);
    await anonymous.dispose();
  });

  test('429 with RateLimit and Retry-After past 30 messages a minute', async () => {
    let response: Response | undefined;
    for (let i = 0; i < 40; i++) {
      response = await post(chatId, `burst ${i}`, ann.accessToken);
      if (response.status === 429) break;
      expect(response.status).toBe(201);
    }
    expect(response?.status).toBe(429);
    expect(Number(response?.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(response?.headers.get('ratelimit')).toMatch(/^"default";r=0;t=\d+$/);
    expect(await response?.json()).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: expect.any(Number) });
  });
});
