import { ok } from 'node:assert/strict';
import { createRedisRevocationBus } from '@switchboard/auth/redis';
import { Redis } from 'ioredis';

export async function check(): Promise<void> {
  const publisher = new Redis({ lazyConnect: true });
  const subscriber = new Redis({ lazyConnect: true });
  const bus = createRedisRevocationBus({ publisher, subscriber });
  ok(typeof bus.publish === 'function');
  publisher.disconnect();
  subscriber.disconnect();
}
