import { type ListeningApp, listenOnLoopback } from '@switchboard/infra';
// Express 4, installed beside Express 5 under an npm alias: the middleware imports nothing of
// Express, so both majors must see the same behaviour.
import express4 from 'express4';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { authMiddleware } from '../src/express.ts';
import { createAuth, generateSigningKey } from '../src/index.ts';

let served: ListeningApp;
let token: string;

beforeAll(async () => {
  const auth = await createAuth({ issuer: 'https://auth.test', audience: 'api', keys: [await generateSigningKey()] });
  ({ accessToken: token } = await auth.issueTokens({ id: 'u1' }));
  const app = express4();
  app.use(authMiddleware({ auth }));
  app.get('/me', (req, res) => {
    res.json({ userId: (req as { principal?: { userId: string } }).principal?.userId });
  });
  served = await listenOnLoopback(app);
});

afterAll(async () => {
  await served?.close();
});

test('on Express 4: 401 with the challenge without a token, the principal with one', async () => {
  const refused = await fetch(`${served.url}/me`);
  expect(refused.status).toBe(401);
  expect(refused.headers.get('www-authenticate')).toBe('Bearer');
  expect(await refused.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
  const allowed = await fetch(`${served.url}/me`, { headers: { authorization: `Bearer ${token}` } });
  expect(await allowed.json()).toEqual({ userId: 'u1' });
});
