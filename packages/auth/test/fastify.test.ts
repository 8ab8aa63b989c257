import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { authPlugin } from '../src/fastify.ts';
import { type Auth, createAuth, generateSigningKey, type PrivateSigningJwk } from '../src/index.ts';
import { expectBadTokensRefused } from './expired-token.ts';

const options = { issuer: 'https://auth.switchboard.test', audience: 'switchboard-api' };
let key: PrivateSigningJwk;
let auth: Auth;
let token: string;
let app: FastifyInstance;
let url: string;
let bodiesParsed = 0;

beforeAll(async () => {
  key = await generateSigningKey();
  auth = await createAuth({ ...options, keys: [key] });
  ({ accessToken: token } = await auth.issueTokens({ id: 'u1' }));
  // A real Fastify 5 app: a required scope, an optional sibling scope, an unguarded route, and
  // a verifier that fails with something that is not an auth error.
  app = Fastify();
  app.setErrorHandler((error: Error, _request, reply) => {
    reply.code(500).send({ handled: error.message });
  });
  await app.register(
    async (api) => {
      await api.register(authPlugin, { auth });
      api.get('/me', async (request) => ({ userId: request.principal?.userId }));
      const countParsing = async () => {
        bodiesParsed++;
      };
      api.post('/upload', { preParsing: countParsing }, async () => ({ bodiesParsed }));
    },
    { prefix: '/api' },
  );
  await app.register(async (open) => {
    await open.register(authPlugin, { auth, optional: true });
    open.get('/open', async (request) => ({ principal: request.principal?.userId ?? request.principal }));
  });
  await app.register(async (broken) => {
    await broken.register(authPlugin, {
      auth: {
        verifyAccessToken: async () => {
          throw new Error('not an auth error');
        },
      },
    });
    broken.get('/broken', async () => ({ reached: true }));
  });
  app.get('/health', async (request) => ({ principal: request.principal ?? 'undecorated' }));
  url = await app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await app?.close();
});

const get = (path: string, authorization?: string) =>
  fetch(`${url}${path}`, authorization ? { headers: { authorization } } : {});

describe('authPlugin (a real Fastify 5 app)', () => {
  test('a valid bearer token puts the principal on request.principal', async () => {
    const response = await get('/api/me', `Bearer ${token}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ userId: 'u1' });
  });

  test('no token: 401 with the RFC 6750 challenge and the error code; optional: principal null', async () => {
    const response = await get('/api/me');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    expect(await response.json()).toMatchObject({ code: 'UNAUTHENTICATED', error: expect.any(String) });
    const open = await get('/open');
    expect(open.status).toBe(200);
    expect(await open.json()).toEqual({ principal: null });
    expect(await (await get('/open', `Bearer ${token}`)).json()).toEqual({ principal: 'u1' });
  });

  test('the plugin guards only its scope; routes outside it are not authenticated', async () => {
    const health = await get('/health');
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ principal: 'undecorated' });
  });

  test('refused in onRequest: an unauthenticated upload is answered before its body is read', async () => {
    const response = await fetch(`${url}/api/upload`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ big: 'x'.repeat(10_000) }),
    });
    expect(response.status).toBe(401);
    expect(bodiesParsed).toBe(0);
    const allowed = await fetch(`${url}/api/upload`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: '{}',
    });
    expect(await allowed.json()).toEqual({ bodiesParsed: 1 });
  });

  test('attack: an expired, forged or malformed token is refused, also where a token is optional', async () => {
    await expectBadTokensRefused(get, ['/api/me', '/open'], { key, claims: options, token });
  });

  test('an error that is not an auth error goes to Fastify’s error handler', async () => {
    const response = await get('/broken', `Bearer ${token}`);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ handled: 'not an auth error' });
  });

  test('misuse fails register with a TypeError', async () => {
    for (const [pluginOptions, message] of [
      [{}, /`auth` must be/],
      [{ auth, optional: 'yes' }, /`optional` must be a boolean/],
    ] as const) {
      const misused = Fastify();
      await expect(misused.register(authPlugin, pluginOptions as never).ready()).rejects.toThrow(message);
      await misused.close();
    }
  });
});
