import { type ListeningApp, listenOnLoopback } from '@switchboard/infra';
// Express 4, installed beside Express 5 under an npm alias: the middleware imports nothing of
// Express, so both majors must see the same behaviour.
import express4 from 'express4';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { rateLimitMiddleware } from '../src/express.ts';
import { createMemoryStore, createRateLimiter, fixedWindow } from '../src/index.ts';

let served: ListeningApp;

beforeAll(async () => {
  const limiter = createRateLimiter({
    store: createMemoryStore(),
    algorithm: fixedWindow({ limit: 1, windowMs: 60_000 }),
    prefix: 'express4',
  });
  const app = express4();
  app.use(rateLimitMiddleware({ limiter, key: () => 'everyone' }));
  app.get('/', (_req, res) => {
    res.json({ ok: true });
  });
  served = await listenOnLoopback(app);
});

afterAll(async () => {
  await served?.close();
});

test('on Express 4: headers on the allowed request, 429 + Retry-After + RATE_LIMITED past the limit', async () => {
  const allowed = await fetch(served.url);
  expect(allowed.status).toBe(200);
  expect(allowed.headers.get('ratelimit')).toMatch(/^"default";r=0;t=\d+$/);
  const refused = await fetch(served.url);
  expect(refused.status).toBe(429);
  expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(await refused.json()).toMatchObject({ code: 'RATE_LIMITED' });
});
