import { createSchema, createYoga } from 'graphql-yoga';
import { beforeAll, describe, expect, test } from 'vitest';
import { type Auth, createAuth, generateSigningKey, type PrivateSigningJwk } from '../src/index.ts';
import { type AuthContext, useAuth } from '../src/yoga.ts';
import { expiredToken } from './expired-token.ts';

const options = { issuer: 'https://auth.switchboard.test', audience: 'switchboard-api' };
let key: PrivateSigningJwk;
let auth: Auth;
let token: string;

beforeAll(async () => {
  key = await generateSigningKey();
  auth = await createAuth({ ...options, keys: [key] });
  ({ accessToken: token } = await auth.issueTokens({ id: 'u1' }));
});

describe('auth.authenticate', () => {
  test('reads a Bearer token from a Request, Headers, or a Node-style headers object', async () => {
    const expected = { userId: 'u1' };
    expect(
      await auth.authenticate(new Request('http://x', { headers: { authorization: `Bearer ${token}` } })),
    ).toMatchObject(expected);
    expect(await auth.authenticate(new Headers({ Authorization: `bearer ${token}` }))).toMatchObject(expected);
    expect(await auth.authenticate({ headers: { authorization: `Bearer ${token}` } })).toMatchObject(expected);
  });

  test('no header is UNAUTHENTICATED; a wrong scheme or garbage is INVALID_TOKEN; expired is TOKEN_EXPIRED', async () => {
    await expect(auth.authenticate(new Headers())).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(auth.authenticate(new Headers({ authorization: `Basic ${token}` }))).rejects.toMatchObject({
      code: 'INVALID_TOKEN',
    });
    await expect(auth.authenticate(new Headers({ authorization: 'Bearer' }))).rejects.toMatchObject({
      code: 'INVALID_TOKEN',
    });
    await expect(auth.authenticate(new Headers({ authorization: 'Bearer a b' }))).rejects.toMatchObject({
      code: 'INVALID_TOKEN',
    });
    await expect(
      auth.authenticate(new Headers({ authorization: `Bearer ${await expiredToken(key, options)}` })),
    ).rejects.toMatchObject({
      code: 'TOKEN_EXPIRED',
    });
  });

  test('attack: two Authorization headers (smuggling a second identity) are refused', async () => {
    await expect(
      auth.authenticate({ headers: { authorization: [`Bearer ${token}`, 'Bearer other'] } }),
    ).rejects.toMatchObject({
      code: 'INVALID_TOKEN',
    });
  });
});

describe('useAuth (graphql-yoga)', () => {
  const server = (required?: boolean) =>
    createYoga<AuthContext>({
      logging: false,
      schema: createSchema<AuthContext>({
        typeDefs: 'type Query { me: String }',
        resolvers: { Query: { me: (_source, _args, context) => context.principal?.userId ?? 'anonymous' } },
      }),
      plugins: [useAuth({ auth, ...(required === undefined ? {} : { required }) })],
    });
  const ask = async (yoga: ReturnType<typeof server>, authorization?: string) => {
    const response = await yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify({ query: '{ me }' }),
    });
    return {
      status: response.status,
      challenge: response.headers.get('www-authenticate'),
      body: (await response.json()) as {
        data?: { me: string };
        errors?: { extensions: { code: string; reason?: string } }[];
      },
    };
  };

  test('puts the principal in the context; anonymous requests get null', async () => {
    const yoga = server();
    expect((await ask(yoga, `Bearer ${token}`)).body.data?.me).toBe('u1');
    expect((await ask(yoga)).body.data?.me).toBe('anonymous');
  });

  test('a bad token is a 401 UNAUTHENTICATED with its reason and a WWW-Authenticate challenge, never anonymous', async () => {
    const yoga = server();
    const expired = await ask(yoga, `Bearer ${await expiredToken(key, options)}`);
    expect(expired.status).toBe(401);
    expect(expired.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'TOKEN_EXPIRED' });
    expect(expired.challenge).toBe('Bearer error="invalid_token"');
    const forged = await ask(yoga, `Bearer ${token.slice(0, -4)}AAAA`);
    expect(forged.status).toBe(401);
    expect(forged.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED', reason: 'INVALID_TOKEN' });
    expect(forged.body.data).toBeUndefined();
  });

  test('required: a request without a token is 401 UNAUTHENTICATED, with a bare Bearer challenge', async () => {
    const result = await ask(server(true));
    expect(result.status).toBe(401);
    expect(result.body.errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED' });
    expect(result.challenge).toBe('Bearer');
  });
});

describe('header parsing attacks', () => {
  test('a client header named "headers" cannot hide the real Authorization header', async () => {
    const nodeHeaders = { authorization: 'Bearer not-a-real-token', headers: 'x' } as Record<string, string>;
    await expect(auth.authenticate(nodeHeaders)).rejects.toMatchObject({ code: 'INVALID_TOKEN' });
  });
});
