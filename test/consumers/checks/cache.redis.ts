import { ok } from 'node:assert/strict';
import { createCache } from '@switchboard/cache';
import { createRedisBus, createRedisTier } from '@switchboard/cache/redis';
import { Redis } from 'ioredis';

export async function check(): Promise<void> {
  const client = new Redis({ lazyConnect: true });
  const subscriber = new Redis({ lazyConnect: true });
  const l2 = createRedisTier({ client });
  const bus = createRedisBus({ publisher: client, subscriber });
  ok(typeof l2.read === 'function' && typeof bus.publish === 'function');
  client.disconnect();
  subscriber.disconnect();
  ok(typeof createCache === 'function');
}
