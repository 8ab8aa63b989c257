import { strictEqual } from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { createMemoryStore, createRateLimiter, fixedWindow } from '@switchboard/ratelimit';
import { rateLimitMiddleware } from '@switchboard/ratelimit/express';
import express from 'express';

export async function check(): Promise<void> {
  const limiter = createRateLimiter({
    store: createMemoryStore(),
    algorithm: fixedWindow({ limit: 1, windowMs: 60_000 }),
    prefix: 'consumer',
  });
  const app = express();
  app.use(rateLimitMiddleware({ limiter, key: () => 'everyone' }));
  app.get('/', (_req, res) => {
    res.json({ ok: true });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    strictEqual((await fetch(url)).status, 200);
    const refused = await fetch(url);
    strictEqual(refused.status, 429);
    strictEqual(Number(refused.headers.get('retry-after')) > 0, true);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}
