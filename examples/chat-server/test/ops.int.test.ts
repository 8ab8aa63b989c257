import { createServer } from 'node:net';
import { createCache } from '@switchboard/cache';
import { createTestDatabase } from '@switchboard/infra';
import { createOutbox } from '@switchboard/tx';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, expect, inject, test } from 'vitest';
import { createOps } from '../src/ops.ts';

const closers: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  for (const close of closers) await close();
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('/ready says not ready, and why, when Redis does not answer (and ready with Postgres alone)', async () => {
  const db = await createTestDatabase(inject('infra'), 'chat_ops');
  const pool = new pg.Pool({ connectionString: db.primary, max: 2 });
  closers.push(() => pool.end());
  const cache = createCache({ ttlMs: 1_000 });
  const outbox = createOutbox();
  expect((await createOps({ pool, outbox, cache }).ready()).ready).toBe(true);

  const unreachable = new Redis({
    host: '127.0.0.1',
    port: await closedPort(),
    lazyConnect: true,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  unreachable.on('error', () => {});
  closers.push(() => unreachable.disconnect());
  const report = await createOps({ pool, outbox, cache, redis: unreachable }).ready();
  expect(report.ready).toBe(false);
  expect(report.checks.postgres?.ok).toBe(true);
  expect(report.checks.redis).toMatchObject({ ok: false, error: expect.any(String) });
});
