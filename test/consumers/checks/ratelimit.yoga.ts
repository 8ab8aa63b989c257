import { deepStrictEqual, strictEqual } from 'node:assert/strict';
import { createMemoryStore, createRateLimiter, fixedWindow } from '@switchboard/ratelimit';
import { useRateLimit } from '@switchboard/ratelimit/yoga';
import { createSchema, createYoga } from 'graphql-yoga';

export async function check(): Promise<void> {
  const limiter = createRateLimiter({
    store: createMemoryStore(),
    algorithm: fixedWindow({ limit: 1, windowMs: 60_000 }),
    prefix: 'hello',
  });
  const yoga = createYoga({
    schema: createSchema({ typeDefs: 'type Query { hello: String }', resolvers: { Query: { hello: () => 'world' } } }),
    plugins: [useRateLimit({ rules: { 'Query.hello': { limiter, key: () => 'everyone' } } })],
    logging: false,
  });
  const ask = () =>
    yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ hello }' }),
    });
  deepStrictEqual(await (await ask()).json(), { data: { hello: 'world' } });
  const refused = await ask();
  strictEqual(refused.status, 429);
  const body = (await refused.json()) as { errors: { extensions: { code: string } }[] };
  strictEqual(body.errors[0]?.extensions.code, 'RATE_LIMITED');
}
