import { createSchema, createYoga, type Plugin } from 'graphql-yoga';
import { describe, expect, test, vi } from 'vitest';
import { createMemoryStore, createRateLimiter, fixedWindow, ipKey, type RateLimiter } from '../src/index.ts';
import { type UseOperationRateLimitOptions, useOperationRateLimit, useRateLimit } from '../src/yoga.ts';

interface Context {
  userId?: string;
  ip: string;
}

interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions: Record<string, unknown> & { code?: string; retryAfterMs?: number } }[];
}

const typeDefs = /* GraphQL */ `
  type Item { id: ID!, name: String! }
  type Query { ping: String, items(first: Int): [Item!]! }
  type Mutation { sendMessage(text: String!): Int }
  type Subscription { ticks(count: Int!): Int! }
`;

/** A yoga server whose operations are charged against `limiter`; counts what actually ran. */
function server(
  limiter: RateLimiter,
  options: Partial<UseOperationRateLimitOptions<Context>> = {},
  extraPlugins: Plugin[] = [],
) {
  const ran = { queries: 0, sends: 0, subscriptions: 0, events: 0 };
  const yoga = createYoga<Context>({
    logging: false,
    schema: createSchema({
      typeDefs,
      resolvers: {
        Query: {
          ping: () => {
            ran.queries++;
            return 'pong';
          },
          items: (_: unknown, args: { first?: number }) =>
            Array.from({ length: Math.min(args.first ?? 1, 5) }, (_, i) => ({ id: String(i), name: `item ${i}` })),
        },
        Mutation: { sendMessage: () => ++ran.sends },
        Subscription: {
          ticks: {
            subscribe: async function* (_: unknown, args: { count: number }) {
              ran.subscriptions++;
              for (let i = 1; i <= args.count; i++) {
                ran.events++;
                yield { ticks: i };
              }
            },
          },
        },
      },
    }),
    context: ({ request }) => ({
      userId: request.headers.get('x-user') ?? undefined,
      ip: request.headers.get('x-ip') ?? '203.0.113.7',
    }),
    plugins: [
      useOperationRateLimit<Context>({
        limiter,
        // The documented pattern: per user when signed in, per network address otherwise.
        key: (context) => (context.userId ? `user:${context.userId}` : `ip:${ipKey(context.ip)}`),
        ...options,
      }),
      ...extraPlugins,
    ],
  });
  const post = async (query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}) => {
    const response = await yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
      body: JSON.stringify({ query, variables }),
    });
    return {
      status: response.status,
      retryAfter: response.headers.get('retry-after'),
      body: (await response.json()) as GraphQLBody,
    };
  };
  /** Runs a subscription over SSE to its end; returns every event's payload. */
  const subscribe = async (query: string, headers: Record<string, string> = {}) => {
    const response = await yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
      body: JSON.stringify({ query }),
    });
    const events = (await response.text()).split('\n').filter((line) => line.startsWith('data: {'));
    return events.map((line) => JSON.parse(line.slice('data: '.length)) as GraphQLBody);
  };
  return { post, subscribe, ran };
}

const budget = (limit: number, prefix = 'ops') =>
  createRateLimiter({ store: createMemoryStore(), algorithm: fixedWindow({ limit, windowMs: 60_000 }), prefix });

describe('useOperationRateLimit', () => {
  test('refuses a query flood past the budget with RATE_LIMITED, retryAfterMs, 429 and Retry-After', async () => {
    const limiter = budget(5);
    const app = server(limiter);
    for (let i = 0; i < 5; i++) expect((await app.post('{ ping }')).body).toEqual({ data: { ping: 'pong' } });
    for (let i = 0; i < 20; i++) {
      const refused = await app.post('{ ping }');
      expect(refused.status).toBe(429);
      expect(refused.retryAfter).toBe('60');
      expect(refused.body.data).toBeUndefined();
      expect(refused.body.errors).toHaveLength(1);
      expect(refused.body.errors?.[0]?.message).toBe('Too many requests, please retry later.');
      expect(refused.body.errors?.[0]?.extensions.code).toBe('RATE_LIMITED');
      expect(refused.body.errors?.[0]?.extensions.retryAfterMs).toBeGreaterThan(59_000);
    }
    // Refused operations did not run.
    expect(app.ran.queries).toBe(5);
    // Mutations spend the same budget.
    expect((await app.post('mutation { sendMessage(text: "hi") }')).body.errors?.[0]?.extensions.code).toBe(
      'RATE_LIMITED',
    );
    expect(app.ran.sends).toBe(0);
  });

  test('budgets are per key: one user flooding spends neither another user nor an anonymous address', async () => {
    const limiter = budget(3);
    const app = server(limiter);
    for (let i = 0; i < 10; i++) await app.post('{ ping }', {}, { 'x-user': 'mallory' });
    expect((await app.post('{ ping }', {}, { 'x-user': 'mallory' })).status).toBe(429);
    expect((await app.post('{ ping }', {}, { 'x-user': 'alice' })).body.data).toEqual({ ping: 'pong' });
    expect((await app.post('{ ping }')).body.data).toEqual({ ping: 'pong' });
    expect((await limiter.peek('user:alice')).remaining).toBe(2);
    expect((await limiter.peek('ip:203.0.113.7')).remaining).toBe(2);
  });

  test('charges a subscription once when it starts and never for its events', async () => {
    const limiter = budget(10);
    const cost = vi.fn(() => 3);
    const app = server(limiter, { cost });
    const events = await app.subscribe('subscription { ticks(count: 50) }', { 'x-user': 'u1' });
    expect(events).toHaveLength(50);
    expect(events.at(-1)).toEqual({ data: { ticks: 50 } });
    expect(app.ran.events).toBe(50);
    // 50 events delivered, one charge of 3 points.
    expect(cost).toHaveBeenCalledTimes(1);
    expect((await limiter.peek('user:u1')).remaining).toBe(7);

    // Past the budget a subscription does not start.
    await app.subscribe('subscription { ticks(count: 5) }', { 'x-user': 'u1' });
    await app.subscribe('subscription { ticks(count: 5) }', { 'x-user': 'u1' });
    expect(app.ran.subscriptions).toBe(3);
    const [refused, ...rest] = await app.subscribe('subscription { ticks(count: 5) }', { 'x-user': 'u1' });
    expect(refused?.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED' });
    expect(refused?.errors?.[0]?.extensions.retryAfterMs).toBeGreaterThan(59_000);
    expect(rest).toEqual([]);
    expect(app.ran.subscriptions).toBe(3);
  });

  test('costlier documents consume more: fields counted, list arguments multiply', async () => {
    const limiter = budget(100);
    const app = server(limiter);
    await app.post('{ ping }', {}, { 'x-user': 'u1' });
    expect((await limiter.peek('user:u1')).remaining).toBe(99);
    await app.post('{ items(first: 10) { id name } }', {}, { 'x-user': 'u1' });
    expect((await limiter.peek('user:u1')).remaining).toBe(99 - 21);
    await app.post('query Items($n: Int) { items(first: $n) { id name } }', { n: 30 }, { 'x-user': 'u1' });
    expect((await limiter.peek('user:u1')).remaining).toBe(99 - 21 - 61);
    // 17 points left: a 21-point document is refused, a 1-point one still passes.
    expect((await app.post('{ items(first: 10) { id name } }', {}, { 'x-user': 'u1' })).status).toBe(429);
    expect((await app.post('{ ping }', {}, { 'x-user': 'u1' })).status).toBe(200);
  });

  test('calls the cost function once per operation, with the document and the variables', async () => {
    const limiter = budget(100);
    const cost = vi.fn(() => 2);
    const app = server(limiter, { cost });
    const query = 'query Items($n: Int) { items(first: $n) { id } ping }';
    await app.post(query, { n: 4 }, { 'x-user': 'u1' });
    expect(cost).toHaveBeenCalledTimes(1);
    const [document, variables, operationName] = cost.mock.calls[0] as unknown as [unknown, unknown, unknown];
    expect(document).toMatchObject({ kind: 'Document' });
    expect(variables).toEqual({ n: 4 });
    expect(operationName).toBeUndefined();
    expect((await limiter.peek('user:u1')).remaining).toBe(98);
  });

  test('an operation costlier than the whole budget costs the whole budget', async () => {
    const limiter = budget(5);
    const app = server(limiter, { cost: () => 1_000 });
    expect((await app.post('{ ping }')).status).toBe(200);
    expect((await limiter.peek('ip:203.0.113.7')).remaining).toBe(0);
    expect((await app.post('{ ping }')).status).toBe(429);
  });

  test('no key: the operation is charged to the shared fallback key, or to nothing with fallbackKey: null', async () => {
    const limiter = budget(3);
    // A key function that finds nothing for anonymous clients ('' and null alike).
    const app = server(limiter, { key: (context) => context.userId ?? (context.ip === 'empty' ? '' : null) });
    await app.post('{ ping }', {}, { 'x-ip': 'empty' });
    await app.post('{ ping }', {}, { 'x-ip': '198.51.100.1' });
    await app.post('{ ping }', {}, { 'x-ip': '198.51.100.2' });
    // Every keyless operation shares one budget: the fourth is refused, whoever sends it.
    expect((await app.post('{ ping }', {}, { 'x-ip': '198.51.100.3' })).status).toBe(429);
    expect((await limiter.peek('unkeyed')).remaining).toBe(0);
    expect((await app.post('{ ping }', {}, { 'x-user': 'u1' })).status).toBe(200);

    const free = budget(1);
    const exempt = server(free, { key: () => null, fallbackKey: null });
    for (let i = 0; i < 5; i++) expect((await exempt.post('{ ping }')).status).toBe(200);
    expect((await free.peek('unkeyed')).remaining).toBe(1);

    const custom = budget(2);
    const named = server(custom, { key: () => '', fallbackKey: 'anonymous' });
    await named.post('{ ping }');
    expect((await custom.peek('anonymous')).remaining).toBe(1);
  });

  test('works on top of useRateLimit: both budgets apply, and a refused operation spends no field limit', async () => {
    const operations = budget(4, 'ops');
    const perField = budget(2, 'send');
    const app = server(operations, {}, [
      useRateLimit<Context>({
        rules: { 'Mutation.sendMessage': { limiter: perField, key: ({ context }) => context.userId ?? null } },
      }),
    ]);
    const send = () => app.post('mutation { sendMessage(text: "hi") }', {}, { 'x-user': 'u1' });
    expect((await send()).body.data).toEqual({ sendMessage: 1 });
    expect((await send()).body.data).toEqual({ sendMessage: 2 });
    // The field rule refuses the third message (the operation itself was within its budget).
    const third = await send();
    expect(third.status).toBe(429);
    expect(third.body.errors?.[0]?.extensions.code).toBe('RATE_LIMITED');
    expect((await operations.peek('user:u1')).remaining).toBe(1);
    await perField.reset('u1');
    expect((await send()).body.data).toEqual({ sendMessage: 3 });
    // The operation budget is spent: refused before the field rule is consulted.
    expect((await send()).status).toBe(429);
    expect((await perField.peek('u1')).remaining).toBe(1);
    expect(app.ran.sends).toBe(3);
  });

  test('bad options throw TypeError', () => {
    const limiter = budget(1);
    const key = () => 'k';
    expect(() => useOperationRateLimit({ limiter: {} as RateLimiter, key })).toThrow(TypeError);
    expect(() => useOperationRateLimit({ limiter, key: 'k' as unknown as () => string })).toThrow(TypeError);
    expect(() => useOperationRateLimit({ limiter, key, fallbackKey: '' })).toThrow(TypeError);
    expect(() => useOperationRateLimit({ limiter, key, cost: 3 as unknown as () => number })).toThrow(TypeError);
  });

  test('a cost function returning a negative or non-number cost is a TypeError, not a free operation', async () => {
    const limiter = budget(5);
    const app = server(limiter, { cost: () => Number.NaN });
    const response = await app.post('{ ping }');
    expect(response.body.errors?.[0]?.message).toBe('Unexpected error.');
    expect(app.ran.queries).toBe(0);
  });
});
