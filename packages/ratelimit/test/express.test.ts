import { type ListeningApp, listenOnLoopback } from '@switchboard/infra';
import express from 'express';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { rateLimitMiddleware } from '../src/express.ts';
import { createMemoryStore, createRateLimiter, fixedWindow, StoreUnavailableError } from '../src/index.ts';

let served: ListeningApp;
let url: string;

beforeAll(async () => {
  const store = createMemoryStore();
  const limiter = createRateLimiter({ store, algorithm: fixedWindow({ limit: 3, windowMs: 60_000 }), prefix: 'api' });
  // A real Express 5 app: counted per `x-user` header; an upload costs 2; a key function that fails.
  const app = express();
  const byUser = (req: express.Request) => String(req.headers['x-user'] ?? '');
  app.get('/messages', rateLimitMiddleware({ limiter, key: byUser, policy: 'messages' }), (_req, res) => {
    res.json({ ok: true });
  });
  app.post(
    '/upload',
    rateLimitMiddleware({ limiter, key: byUser, cost: (req) => Number(req.headers['x-cost'] ?? 2) }),
    (_req, res) => {
      res.json({ ok: true });
    },
  );
  app.get(
    '/broken',
    rateLimitMiddleware({
      limiter,
      key: () => {
        throw new Error('no key here');
      },
    }),
    (_req, res) => {
      res.json({ reached: true });
    },
  );
  // A store failure the limiter surfaces (Redis answering that a key's state is unreadable).
  const failing = {
    consume: () => Promise.reject(new StoreUnavailableError('rate-limit state cannot be read')),
    algorithm: { windowMs: 60_000 },
  } as unknown as Parameters<typeof rateLimitMiddleware>[0]['limiter'];
  app.get('/down', rateLimitMiddleware({ limiter: failing, key: byUser }), (_req, res) => {
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

const call = (path: string, user: string, init: RequestInit & { cost?: number } = {}) =>
  fetch(`${url}${path}`, {
    ...init,
    headers: { 'x-user': user, ...(init.cost === undefined ? {} : { 'x-cost': String(init.cost) }) },
  });

describe('rateLimitMiddleware (a real Express 5 app)', () => {
  test('allowed requests carry the RateLimit headers; past the limit: 429, Retry-After, RATE_LIMITED', async () => {
    for (let i = 0; i < 3; i++) {
      const response = await call('/messages', 'ann');
      expect(response.status).toBe(200);
      expect(response.headers.get('ratelimit-policy')).toBe('"messages";q=3;w=60');
      expect(response.headers.get('ratelimit')).toMatch(new RegExp(`^"messages";r=${2 - i};t=\\d+$`));
    }
    const refused = await call('/messages', 'ann');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.headers.get('ratelimit')).toMatch(/^"messages";r=0;/);
    expect(await refused.json()).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: expect.any(Number) });
    // Another key has its own count.
    expect((await call('/messages', 'bob')).status).toBe(200);
  });

  test('cost: an upload costs 2, so the second one is refused', async () => {
    expect((await call('/upload', 'cy', { method: 'POST' })).status).toBe(200);
    expect((await call('/upload', 'cy', { method: 'POST' })).status).toBe(429);
  });

  test('a key function that fails, an empty key or a bad cost go to the app’s error handler, never a count', async () => {
    const broken = await call('/broken', 'dee');
    expect(broken.status).toBe(500);
    expect(await broken.json()).toEqual({ handled: 'no key here' });
    const anonymous = await call('/messages', '');
    expect(anonymous.status).toBe(500);
    expect(((await anonymous.json()) as { handled: string }).handled).toMatch(/non-empty string/);
    expect((await call('/upload', 'eve', { method: 'POST', cost: 0 })).status).toBe(500);
  });

  test('a store failure the limiter surfaces: its status and code from the error table, the handler not reached', async () => {
    const response = await call('/down', 'fay');
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ error: 'rate-limit state cannot be read', code: 'STORE_UNAVAILABLE' });
  });

  test('misuse fails at once', () => {
    const limiter = createRateLimiter({
      store: createMemoryStore(),
      algorithm: fixedWindow({ limit: 1, windowMs: 1_000 }),
      prefix: 'x',
    });
    expect(() => rateLimitMiddleware({ key: () => 'k' } as never)).toThrow(/`limiter` must be/);
    expect(() => rateLimitMiddleware({ limiter } as never)).toThrow(/`key` must be/);
    expect(() => rateLimitMiddleware({ limiter, key: () => 'k', cost: 0 })).toThrow(/`cost` must be/);
    expect(() => rateLimitMiddleware({ limiter, key: () => 'k', policy: 'naïve' })).toThrow(/printable ASCII/);
  });
});
