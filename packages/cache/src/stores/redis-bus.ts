import type { BusMessage, CacheBus } from '../types.ts';

/** The parts of two ioredis clients the bus uses. */
export interface RedisPublisherLike {
  publish(channel: string, message: string): Promise<unknown>;
}

export interface RedisSubscriberLike {
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  off(event: 'message', listener: (channel: string, message: string) => void): unknown;
}

export interface RedisBusOptions {
  /** Any ioredis client (it may be shared with other work). */
  publisher: RedisPublisherLike;
  /** A dedicated ioredis client: a subscribed connection can do nothing else. */
  subscriber: RedisSubscriberLike;
  /** @default 'switchboard:cache:bus' */
  channel?: string;
}

/**
 * Invalidations over Redis pub/sub. Fire-and-forget like pub/sub itself: a subscriber that is
 * disconnected (a failover, a network blip) misses messages; `l1MaxStalenessMs` bounds what
 * that can cost. ioredis resubscribes by itself after reconnecting.
 */
export function createRedisBus(options: RedisBusOptions): CacheBus {
  const { publisher, subscriber } = options;
  const channel = options.channel ?? 'switchboard:cache:bus';
  if (!publisher || typeof publisher.publish !== 'function')
    throw new TypeError('createRedisBus: `publisher` must be an ioredis client');
  if (!subscriber || typeof subscriber.subscribe !== 'function')
    throw new TypeError('createRedisBus: `subscriber` must be an ioredis client');
  return {
    async publish(message) {
      await publisher.publish(channel, JSON.stringify(message));
    },
    subscribe(handler) {
      const listener = (from: string, raw: string) => {
        if (from !== channel) return;
        let message: BusMessage & { from: string };
        try {
          message = JSON.parse(raw) as BusMessage & { from: string };
        } catch {
          return;
        }
        handler(message);
      };
      subscriber.on('message', listener);
      void subscriber.subscribe(channel).catch(() => {
        // Retried by ioredis on reconnect; staleness stays bounded by l1MaxStalenessMs.
      });
      return () => {
        subscriber.off('message', listener);
        void subscriber.unsubscribe(channel).catch(() => undefined);
      };
    },
  };
}
