import { setTimeout as sleep } from 'node:timers/promises';
import type { Cluster, Redis } from 'ioredis';
import { afterAll } from 'vitest';
import { createRedisStore } from '../src/redis.ts';
import { storeContract } from '../src/testing.ts';
import type { RateLimitStore } from '../src/types.ts';

/**
 * Two clients on one Redis deployment (as two processes would have), a store over each, the
 * store contract run over them, and the clients closed after the file. Returns the first store
 * and its client for the file's own tests.
 */
export function redisContract<C extends Redis | Cluster>(
  name: string,
  connect: () => C,
): { store: RateLimitStore; peerStore: RateLimitStore; mainClient: C; peerClient: C } {
  const mainClient = connect();
  const peerClient = connect();
  const store = createRedisStore({ client: mainClient });
  const peerStore = createRedisStore({ client: peerClient });
  afterAll(() => {
    mainClient.disconnect();
    peerClient.disconnect();
  });
  storeContract({ name, store: () => store, peerStore: () => peerStore, advance: (ms) => sleep(ms) });
  return { store, peerStore, mainClient, peerClient };
}
