import { sentinelClientOptions } from '@switchboard/infra';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, test } from 'vitest';
import { createRedisEvents } from '../src/chat/redis-events.ts';

const redisInfo = inject('infra').redis;
if (!redisInfo) throw new Error('the shared topology has no Redis');
const clients: Redis[] = [];
const client = () => {
  const made = new Redis(sentinelClientOptions(redisInfo));
  clients.push(made);
  return made;
};

afterAll(() => {
  for (const made of clients) made.disconnect();
});

const topic = () => `test-events:${Math.random().toString(36).slice(2)}`;
const until = async (check: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

describe('createRedisEvents', () => {
  test('publish resolves once Redis took it; every listener of the topic gets the parsed value, until removed', async () => {
    const errors: string[] = [];
    const events = createRedisEvents({
      publisher: client(),
      subscriber: client(),
      onError: (_error, operation) => errors.push(operation),
    });
    const name = topic();
    const first: unknown[] = [];
    const second: unknown[] = [];
    const one = (event: Event) => first.push((event as CustomEvent).detail);
    const two = (event: Event) => second.push((event as CustomEvent).detail);
    events.addEventListener(name, one);
    events.addEventListener(name, two);
    // SUBSCRIBE travels on its own connection: probe until the subscription is in place, then
    // look only at what follows the probes.
    const probes: Promise<void>[] = [];
    await until(() => {
      probes.push(events.publish(name, { n: 0 }));
      return first.length > 0;
    });
    await Promise.all(probes);
    const real = (values: unknown[]) => values.filter((value) => (value as { n: number }).n > 0);
    await events.publish(name, { n: 1 });
    await until(() => real(first).length === 1 && real(second).length === 1);
    events.removeEventListener(name, one);
    await events.publish(name, { n: 2 });
    await until(() => real(second).length === 2);
    expect(real(first)).toEqual([{ n: 1 }]);
    expect(real(second)).toEqual([{ n: 1 }, { n: 2 }]);
    expect(errors).toEqual([]);
  });

  test('subscribed(topic) resolves once Redis counts the subscription: a publish right after it arrives', async () => {
    const errors: string[] = [];
    // A SUBSCRIBE that takes 100 ms to reach Redis (as on a loaded network): asked for is not
    // yet live.
    const subscriber = client();
    const subscribe = subscriber.subscribe.bind(subscriber);
    subscriber.subscribe = ((...channels: string[]) =>
      new Promise((resolve) => setTimeout(resolve, 100)).then(() => subscribe(...channels))) as typeof subscribe;
    const events = createRedisEvents({
      publisher: client(),
      subscriber,
      onError: (_error, operation) => errors.push(operation),
    });
    const probe = client();
    for (let round = 0; round < 3; round++) {
      const name = topic();
      const heard: unknown[] = [];
      events.addEventListener(name, (event) => heard.push((event as CustomEvent).detail));
      await events.subscribed(name);
      expect(await probe.pubsub('NUMSUB', name)).toEqual([name, 1]);
      await events.publish(name, { round });
      await until(() => heard.length === 1);
      expect(heard).toEqual([{ round }]);
    }
    // A topic nobody listens to: at once.
    await events.subscribed(topic());
    expect(errors).toEqual([]);
  });

  test('Redis refusing a call is reported, never an unhandled rejection; the awaited publish rejects', async () => {
    const broken = new Redis({ ...sentinelClientOptions(redisInfo), lazyConnect: true, enableOfflineQueue: false });
    clients.push(broken);
    const reported: string[] = [];
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const events = createRedisEvents({
        publisher: broken,
        subscriber: broken,
        onError: (_error, operation) => reported.push(operation),
      });
      const name = topic();
      const listener = () => {};
      events.addEventListener(name, listener);
      events.removeEventListener(name, listener);
      events.dispatchEvent(new CustomEvent(name, { detail: { n: 1 } }) as never);
      await expect(events.publish(name, { n: 2 })).rejects.toThrow();
      await until(() => reported.length === 3);
      expect(reported.sort()).toEqual(['publish', 'subscribe', 'unsubscribe']);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
