import { ok } from 'node:assert/strict';
import { createRedisRbacBus } from '@switchboard/rbac/redis';
import { Redis } from 'ioredis';

export async function check(): Promise<void> {
  const publisher = new Redis({ lazyConnect: true });
  const subscriber = new Redis({ lazyConnect: true });
  const bus = createRedisRbacBus({ publisher, subscriber });
  ok(typeof bus.publish === 'function');
  publisher.disconnect();
  subscriber.disconnect();
}
