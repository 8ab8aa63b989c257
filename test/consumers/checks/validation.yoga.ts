import { deepStrictEqual } from 'node:assert/strict';
import { hardenedYogaOptions, useValidationErrors } from '@switchboard/validation/yoga';
import { createSchema, createYoga } from 'graphql-yoga';

export async function check(): Promise<void> {
  const hardened = hardenedYogaOptions();
  const yoga = createYoga({
    schema: createSchema({ typeDefs: 'type Query { hello: String }', resolvers: { Query: { hello: () => 'world' } } }),
    ...hardened,
    plugins: [...hardened.plugins, useValidationErrors()],
    logging: false,
  });
  const response = await yoga.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ hello }' }),
  });
  deepStrictEqual(await response.json(), { data: { hello: 'world' } });
}
