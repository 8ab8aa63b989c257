import { ok } from 'node:assert/strict';
import { createRedisTokenStore } from '@switchboard/db-router/redis';
import { Redis } from 'ioredis';

export async function check(): Promise<void> {
  const client = new Redis({ lazyConnect: true });
  const store = createRedisTokenStore({ client });
  ok(typeof store.get === 'function');
  client.disconnect();
}
