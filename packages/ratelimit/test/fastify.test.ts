import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { rateLimitPlugin } from '../src/fastify.ts';
import { createMemoryStore, createRateLimiter, fixedWindow, ipKey, StoreUnavailableError } from '../src/index.ts';

let app: FastifyInstance;
let url: string;
const limiterOf = (limit: number, prefix: string) =>
  createRateLimiter({ store: createMemoryStore(), algorithm: fixedWindow({ limit, windowMs: 60_000 }), prefix });

beforeAll(async () => {
  // A real Fastify 5 app behind one trusted proxy: a limited plugin scope, a route outside it,
  // a per-address limit, a key function that fails, a store that is down.
  app = Fastify({ trustProxy: '127.0.0.1' });
  app.setErrorHandler((error: Error, _request, reply) => {
    reply.code(500).send({ handled: error.message });
  });
  const byUser = (request: { headers: Record<string, string | string[] | undefined> }) =>
    String(request.headers['x-user'] ?? '');
  await app.register(async (limited) => {
    await limited.register(rateLimitPlugin, { limiter: limiterOf(3, 'api'), key: byUser, policy: 'messages' });
    limited.get('/messages', async () => ({ ok: true }));
    limited.post('/upload', async () => ({ ok: true }));
  });
  await app.register(async (costly) => {
    await costly.register(rateLimitPlugin, {
      limiter: limiterOf(3, 'upload'),
      key: byUser,
      cost: (request) => Number(request.headers['x-cost'] ?? 2),
    });
    costly.post('/costly', async () => ({ ok: true }));
  });
  await app.register(async (byAddress) => {
    await byAddress.register(rateLimitPlugin, { limiter: limiterOf(1, 'ip'), key: (request) => ipKey(request.ip) });
    byAddress.get('/by-ip', async (request) => ({ ip: request.ip }));
  });
  await app.register(async (broken) => {
    await broken.register(rateLimitPlugin, {
      limiter: limiterOf(1, 'broken'),
      key: () => {
        throw new Error('no key here');
      },
    });
    broken.get('/broken', async () => ({ reached: true }));
  });
  const failing = {
    consume: () => Promise.reject(new StoreUnavailableError('rate-limit state cannot be read')),
    algorithm: { windowMs: 60_000 },
  } as unknown as Parameters<typeof rateLimitPlugin>[1]['limiter'];
  await app.register(async (down) => {
    await down.register(rateLimitPlugin, { limiter: failing, key: byUser });
    down.get('/down', async () => ({ reached: true }));
  });
  app.get('/free', async () => ({ ok: true }));
  url = await app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await app?.close();
});

const call = (path: string, headers: Record<string, string>, method = 'GET') =>
  fetch(`${url}${path}`, { method, headers });

describe('rateLimitPlugin (a real Fastify 5 app)', () => {
  test('allowed requests carry the RateLimit headers; past the limit: 429, Retry-After, RATE_LIMITED', async () => {
    for (let i = 0; i < 3; i++) {
      const response = await call('/messages', { 'x-user': 'ann' });
      expect(response.status).toBe(200);
      expect(response.headers.get('ratelimit-policy')).toBe('"messages";q=3;w=60');
      expect(response.headers.get('ratelimit')).toMatch(new RegExp(`^"messages";r=${2 - i};t=\\d+$`));
    }
    const refused = await call('/messages', { 'x-user': 'ann' });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.headers.get('ratelimit')).toMatch(/^"messages";r=0;/);
    expect(await refused.json()).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: expect.any(Number) });
    // The scope shares one limiter: the other route of the scope is refused for ann too ...
    expect((await call('/upload', { 'x-user': 'ann' }, 'POST')).status).toBe(429);
    // ... another key has its own count, and a route outside the scope is not counted at all.
    expect((await call('/messages', { 'x-user': 'bob' })).status).toBe(200);
    const free = await call('/free', { 'x-user': 'ann' });
    expect(free.status).toBe(200);
    expect(free.headers.get('ratelimit')).toBeNull();
  });

  test('cost: a request costing 2 of 3 leaves room for no second one', async () => {
    expect((await call('/costly', { 'x-user': 'cy' }, 'POST')).status).toBe(200);
    expect((await call('/costly', { 'x-user': 'cy' }, 'POST')).status).toBe(429);
    expect((await call('/costly', { 'x-user': 'cy2', 'x-cost': '1' }, 'POST')).status).toBe(200);
  });

  test('attack: a spoofed X-Forwarded-For counts only through the trusted proxy', async () => {
    // The trusted hop (127.0.0.1) forwards for 203.0.113.7: counted as that address, once.
    const first = await call('/by-ip', { 'x-forwarded-for': '203.0.113.7' });
    expect(await first.json()).toEqual({ ip: '203.0.113.7' });
    expect((await call('/by-ip', { 'x-forwarded-for': '203.0.113.7' })).status).toBe(429);
    // The client prepends a forged hop to get a fresh count: the address stays the one the
    // trusted proxy saw (the rightmost untrusted), never the forged leftmost one.
    const chained = await call('/by-ip', { 'x-forwarded-for': '198.51.100.1, 203.0.113.7' });
    expect(chained.status).toBe(429);
  });

  test('a key function that fails or an empty key go to the error handler, never a count', async () => {
    const broken = await call('/broken', { 'x-user': 'dee' });
    expect(broken.status).toBe(500);
    expect(await broken.json()).toEqual({ handled: 'no key here' });
    const anonymous = await call('/messages', {});
    expect(anonymous.status).toBe(500);
    expect(((await anonymous.json()) as { handled: string }).handled).toMatch(/non-empty string/);
    expect((await call('/costly', { 'x-user': 'eve', 'x-cost': '0' }, 'POST')).status).toBe(500);
  });

  test('a store failure the limiter surfaces: 503 and its code from the error table, the handler not reached', async () => {
    const response = await call('/down', { 'x-user': 'fay' });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ error: 'rate-limit state cannot be read', code: 'STORE_UNAVAILABLE' });
  });

  test('misuse fails register with a TypeError', async () => {
    const limiter = limiterOf(1, 'x');
    for (const [options, message] of [
      [{ key: () => 'k' }, /`limiter` must be/],
      [{ limiter }, /`key` must be/],
      [{ limiter, key: () => 'k', cost: 0 }, /`cost` must be/],
      [{ limiter, key: () => 'k', policy: 'naïve' }, /printable ASCII/],
    ] as const) {
      const misused = Fastify();
      await expect(misused.register(rateLimitPlugin, options as never).ready()).rejects.toThrow(message);
      await misused.close();
    }
  });
});
