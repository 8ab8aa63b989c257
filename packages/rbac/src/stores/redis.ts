import { resolveTelemetry } from '@switchboard/hot-path';
import { BusTracing, type Telemetry } from '../telemetry.ts';
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
  /**
   * OpenTelemetry: a publish runs in a `send <channel>` span (producer), the handling of each
   * message received in a `process <channel>` span (consumer, a trace of its own: messages
   * carry no trace context), per the messaging conventions (`messaging.system` `redis`,
   * `messaging.destination.name` the channel). `true` for the global `@opentelemetry/api`, or
   * the API object. @default false (no tracing code runs)
   */
  telemetry?: Telemetry;
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
  const api = resolveTelemetry('createRedisRbacBus', options.telemetry);
  const tracing = api && new BusTracing(api, channel);
  const publish = async (userId: string) => {
    await publisher.publish(channel, userId);
  };
  return {
    publish: tracing ? (userId) => tracing.send(() => publish(userId)) : publish,
    subscribe(handler) {
      const listener = (from: string, userId: string) => {
        if (from !== channel || typeof userId !== 'string' || userId.length === 0) return;
        if (tracing) tracing.process(() => handler(userId));
        else handler(userId);
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
