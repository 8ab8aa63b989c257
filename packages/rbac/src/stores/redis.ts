import type { RbacBus } from '../types.ts';

/** The parts of two ioredis clients the bus uses. */
export interface RedisBusClients {
  /** Any ioredis client. */
  publisher: { publish(channel: string, message: string): Promise<unknown> };
  /** A dedicated ioredis client: a subscribed connection can do nothing else. */
  subscriber: {
    subscribe(channel: string): Promise<unknown>;
    unsubscribe(channel: string): Promise<unknown>;
    on(event: 'message', listener: (channel: string, message: string) => void): unknown;
    off(event: 'message', listener: (channel: string, message: string) => void): unknown;
  };
  /** @default 'switchboard:rbac:grants' */
  channel?: string;
}

/**
 * Grant changes over Redis pub/sub. Fire-and-forget like pub/sub itself: an instance that
 * misses a message (a reconnect during failover) is corrected by the cache TTL.
 */
export function createRedisRbacBus(options: RedisBusClients): RbacBus {
  const { publisher, subscriber } = options;
  const channel = options.channel ?? 'switchboard:rbac:grants';
  if (typeof publisher?.publish !== 'function')
    throw new TypeError('createRedisRbacBus: `publisher` must be an ioredis client');
  if (typeof subscriber?.subscribe !== 'function')
    throw new TypeError('createRedisRbacBus: `subscriber` must be an ioredis client');
  return {
    async publish(userId) {
      await publisher.publish(channel, userId);
    },
    subscribe(handler) {
      const listener = (from: string, userId: string) => {
        if (from === channel && typeof userId === 'string' && userId.length > 0) handler(userId);
      };
      subscriber.on('message', listener);
      void subscriber.subscribe(channel).catch(() => {
        // ioredis resubscribes on reconnect; the cache TTL covers what is missed meanwhile.
      });
      return () => {
        subscriber.off('message', listener);
        void subscriber.unsubscribe(channel).catch(() => undefined);
      };
    },
  };
}
