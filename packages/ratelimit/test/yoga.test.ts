import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSchema, createYoga } from 'graphql-yoga';
import { describe, expect, test } from 'vitest';
import { createMemoryStore, createRateLimiter, fixedWindow } from '../src/index.ts';
import { useRateLimit } from '../src/yoga.ts';

interface GraphQLBody {
  data?: { sendMessage: number | null };
  errors?: { message: string; extensions: Record<string, unknown> & { retryAfterMs?: number } }[];
}

function server(options: { perUser: number; perChat: number }) {
  const store = createMemoryStore();
  const perUser = createRateLimiter({
    store,
    algorithm: fixedWindow({ limit: options.perUser, windowMs: 60_000 }),
    prefix: 'user',
  });
  const perChat = createRateLimiter({
    store,
    algorithm: fixedWindow({ limit: options.perChat, windowMs: 60_000 }),
    prefix: 'chat',
  });
  let sent = 0;
  const yoga = createYoga<{ userId?: string }>({
    logging: false,
    schema: createSchema({
      typeDefs: 'type Query { ping: String } type Mutation { sendMessage(chatId: ID!, text: String!): Int }',
      resolvers: {
        Query: { ping: () => 'pong' },
        Mutation: { sendMessage: () => ++sent },
      },
    }),
    context: ({ request }) => ({ userId: request.headers.get('x-user') ?? undefined }),
    plugins: [
      useRateLimit<{ userId?: string }>({
        rules: {
          'Mutation.sendMessage': [
            { limiter: perUser, key: ({ context }) => context.userId ?? null },
            {
              limiter: perChat,
              key: ({ context, args }) => (context.userId ? `${context.userId}:${String(args.chatId)}` : null),
            },
          ],
        },
      }),
    ],
  });
  const send = async (user: string, chatId: string) => {
    const response = await yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', 'x-user': user },
      body: JSON.stringify({ query: `mutation { sendMessage(chatId: "${chatId}", text: "hi") }` }),
    });
    return {
      status: response.status,
      retryAfter: response.headers.get('retry-after'),
      rateLimit: response.headers.get('ratelimit'),
      rateLimitPolicy: response.headers.get('ratelimit-policy'),
      body: (await response.json()) as GraphQLBody,
    };
  };
  return { send, sent: () => sent, perUser };
}

describe('useRateLimit', () => {
  test('refuses with RATE_LIMITED, retryAfterMs, HTTP 429 and Retry-After; the resolver does not run', async () => {
    const app = server({ perUser: 10, perChat: 2 });
    expect((await app.send('u1', 'c1')).body.data?.sendMessage).toBe(1);
    expect((await app.send('u1', 'c1')).body.data?.sendMessage).toBe(2);
    const refused = await app.send('u1', 'c1');
    expect(refused.status).toBe(429);
    expect(refused.retryAfter).toBe('60');
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED' });
    expect(refused.body.errors?.[0]?.extensions.retryAfterMs).toBeGreaterThan(59_000);
    expect(app.sent()).toBe(2);
  });

  test('limits on one field are all or nothing: the per-chat refusal does not spend the per-user limit', async () => {
    const app = server({ perUser: 10, perChat: 1 });
    await app.send('u1', 'c1');
    for (let i = 0; i < 5; i++) expect((await app.send('u1', 'c1')).status).toBe(429);
    expect((await app.perUser.peek('u1')).remaining).toBe(9);
    expect((await app.send('u1', 'c2')).body.data?.sendMessage).toBe(2);
  });

  test('RateLimit headers name the checked limit with the fewest requests left', async () => {
    const app = server({ perUser: 10, perChat: 3 });
    const first = await app.send('u1', 'c1');
    expect(first.rateLimitPolicy).toBe('"chat";q=3;w=60');
    expect(first.rateLimit).toMatch(/^"chat";r=2;t=(59|60)$/);
    await app.send('u1', 'c1');
    await app.send('u1', 'c1');
    const refused = await app.send('u1', 'c1');
    expect(refused.rateLimit).toMatch(/^"chat";r=0;t=\d+$/);
    // Another chat: its fresh budget (2 left after this one) is still tighter than the user's (6 left).
    const other = await app.send('u1', 'c2');
    expect(other.rateLimitPolicy).toBe('"chat";q=3;w=60');
    expect(other.rateLimit).toMatch(/^"chat";r=2;/);
  });

  test('a rule naming a field that does not exist fails at startup instead of protecting nothing', () => {
    const limiter = createRateLimiter({
      store: createMemoryStore(),
      algorithm: fixedWindow({ limit: 1, windowMs: 1_000 }),
    });
    expect(() =>
      createYoga({
        schema: createSchema({ typeDefs: 'type Query { ping: String } type Mutation { sendMessage: Int }' }),
        plugins: [useRateLimit({ rules: { 'Mutation.sendMesage': { limiter, key: () => 'k' } } })],
      }),
    ).toThrow('useRateLimit: no such field in the schema: Mutation.sendMesage');
    expect(() => useRateLimit({ rules: { 'not a coordinate': { limiter, key: () => 'k' } } })).toThrow(TypeError);
  });
});

describe('useRateLimit over a real HTTP server', () => {
  test('a refusal carries one Retry-After, not the header twice', async () => {
    const limiter = createRateLimiter({
      store: createMemoryStore(),
      algorithm: fixedWindow({ limit: 1, windowMs: 60_000 }),
      prefix: 'http',
    });
    const yoga = createYoga({
      logging: false,
      schema: createSchema({
        typeDefs: 'type Query { ping: String } type Mutation { send: Int }',
        resolvers: { Mutation: { send: () => 1 } },
      }),
      plugins: [useRateLimit({ rules: { 'Mutation.send': { limiter, key: () => 'one' } } })],
    });
    const server = createServer(yoga);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const post = () =>
        fetch(`http://127.0.0.1:${port}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: 'mutation { send }' }),
        });
      const first = await post();
      await first.text();
      expect(first.headers.get('retry-after')).toBeNull();
      const refused = await post();
      await refused.text();
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('60');
      expect(refused.headers.get('ratelimit')).toBe('"http";r=0;t=60');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
