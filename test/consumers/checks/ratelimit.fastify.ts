import { strictEqual } from 'node:assert/strict';
import { createMemoryStore, createRateLimiter, fixedWindow, ipKey } from '@switchboard/ratelimit';
import { rateLimitPlugin } from '@switchboard/ratelimit/fastify';
import Fastify from 'fastify';

export async function check(): Promise<void> {
  const limiter = createRateLimiter({
    store: createMemoryStore(),
    algorithm: fixedWindow({ limit: 1, windowMs: 60_000 }),
    prefix: 'consumer',
  });
  const app = Fastify();
  await app.register(rateLimitPlugin, { limiter, key: (request) => ipKey(request.ip) });
  app.get('/', async () => ({ ok: true }));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    strictEqual((await fetch(url)).status, 200);
    const refused = await fetch(url);
    strictEqual(refused.status, 429);
    strictEqual(Number(refused.headers.get('retry-after')) > 0, true);
  } finally {
    await app.close();
  }
}
