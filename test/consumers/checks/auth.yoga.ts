import { deepStrictEqual } from 'node:assert/strict';
import { createAccessTokenService, generateSigningKey, loadKeySet } from '@switchboard/auth';
import { type AuthContext, useAuth } from '@switchboard/auth/yoga';
import { createSchema, createYoga } from 'graphql-yoga';

export async function check(): Promise<void> {
  const keys = await loadKeySet([await generateSigningKey()]);
  const tokens = createAccessTokenService(keys, { issuer: 'https://api.example', audience: 'chat' });
  const auth = { verifyAccessToken: (token: string) => tokens.verify(token) };
  const yoga = createYoga<object, AuthContext>({
    schema: createSchema<AuthContext>({
      typeDefs: 'type Query { me: String }',
      resolvers: { Query: { me: (_root, _args, context) => context.principal?.userId ?? null } },
    }),
    plugins: [useAuth({ auth })],
    logging: false,
  });
  const { token } = await tokens.sign({ userId: 'u1', sessionId: 's1' });
  const response = await yoga.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: '{ me }' }),
  });
  deepStrictEqual(await response.json(), { data: { me: 'u1' } });
}
