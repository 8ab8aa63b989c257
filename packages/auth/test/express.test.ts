import { type ListeningApp, listenOnLoopback } from '@switchboard/infra';
import express from 'express';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { authMiddleware } from '../src/express.ts';
import { type Auth, createAuth, generateSigningKey, type PrivateSigningJwk } from '../src/index.ts';
import { expectBadTokensRefused } from './expired-token.ts';

const options = { issuer: 'https://auth.switchboard.test', audience: 'switchboard-api' };
let key: PrivateSigningJwk;
let auth: Auth;
let token: string;
let served: ListeningApp;
let url: string;

beforeAll(async () => {
  key = await generateSigningKey();
  auth = await createAuth({ ...options, keys: [key] });
  ({ accessToken: token } = await auth.issueTokens({ id: 'u1' }));
  // A real Express 5 app: a required area, an optional one, and a handler that fails.
  const app = express();
  app.use('/api', authMiddleware({ auth }));
  app.get('/api/me', (req, res) => {
    res.json({ userId: req.principal?.userId });
  });
  app.get('/open', authMiddleware({ auth, optional: true }), (req, res) => {
    res.json({ principal: req.principal === null ? null : req.principal?.userId });
  });
  const failing = authMiddleware({
    auth: {
      verifyAccessToken: async () => {
        throw new Error('not an auth error');
      },
    },
  });
  app.get('/broken', failing, (_req, res) => {
    res.json({ reached: true });
  });
  app.use((error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(500).json({ handled: error.message });
  });
  served = await listenOnLoopback(app);
  url = served.url;
});

afterAll(async () => {
  await served?.close();
});

const get = (path: string, authorization?: string) =>
  fetch(`${url}${path}`, authorization ? { headers: { authorization } } : {});

describe('authMiddleware (a real Express 5 app)', () => {
  test('a valid bearer token puts the principal on req.principal', async () => {
    const response = await get('/api/me', `Bearer ${token}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ userId: 'u1' });
  });

  test('no token: 401 with the RFC 6750 challenge and the error code; optional: principal null', async () => {
    const response = await get('/api/me');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await response.json()).toMatchObject({ code: 'UNAUTHENTICATED', error: expect.any(String) });
    const open = await get('/open');
    expect(open.status).toBe(200);
    expect(await open.json()).toEqual({ principal: null });
  });

  test('attack: an expired, forged or malformed token is refused, also where a token is optional', async () => {
    await expectBadTokensRefused(get, ['/api/me', '/open'], { key, claims: options, token });
  });

  test('an error that is not an auth error goes to the app’s error handler', async () => {
    const response = await get('/broken', `Bearer ${token}`);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ handled: 'not an auth error' });
  });

  test('misuse fails at once: no auth instance, a non-boolean optional', () => {
    expect(() => authMiddleware({} as never)).toThrow(/`auth` must be/);
    expect(() => authMiddleware({ auth, optional: 'yes' as never })).toThrow(/`optional` must be a boolean/);
  });
});
