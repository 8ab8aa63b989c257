import { pubSubMode } from '@switchboard/hot-path';
import type { BusMessage, CacheBus } from '../types.ts';

/** A `message` (classic) or `smessage` (sharded) listener. */
type MessageListener = (channel: string, message: string) => void;

/** The parts of an ioredis client (`Redis` or `Cluster`) the bus publishes with. */
export interface RedisPublisherLike {
  publish(channel: string, message: string): Promise<unknown>;
  /** Needed with `sharded`. */
  spublish?(channel: string, message: string): Promise<unknown>;
}

/** The parts of an ioredis client (`Redis` or `Cluster`) the bus subscribes with. */
export interface RedisSubscriberLike {
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  /** Needed with `sharded`. */
  ssubscribe?(channel: string): Promise<unknown>;
  /** Needed with `sharded`. */
  sunsubscribe?(channel: string): Promise<unknown>;
  on(event: 'message' | 'smessage', listener: MessageListener): unknown;
  off(event: 'message' | 'smessage', listener: MessageListener): unknown;
}

export interface RedisBusOptions {
  /** Any ioredis client (it may be shared with other work). */
  publisher: RedisPublisherLike;
  /**
   * A dedicated ioredis client: a subscribed connection can do nothing else. With `sharded`, a
   * `Cluster` must be created with `{ shardedSubscribers: true }`.
   */
  subscriber: RedisSubscriberLike;
  /** @default 'switchboard:cache:bus' */
  channel?: string;
  /**
   * Sharded pub/sub (Redis 7: `SPUBLISH` / `SSUBSCRIBE`): on a Redis Cluster a message travels
   * only within the shard that owns the channel's slot, instead of being broadcast to every
   * node. Every instance on the channel must use the same mode: a classic `PUBLISH` never
   * reaches a sharded subscriber, nor the reverse. @default false
   */
  sharded?: boolean;
}

/**
 * Invalidations over Redis pub/sub, on a single Redis or a Cluster (classic, or sharded with
 * `sharded: true`). Fire-and-forget like pub/sub itself: a subscriber that is disconnected (a
 * failover, a network blip) misses messages; `l1MaxStalenessMs` bounds what that can cost.
 * ioredis resubscribes by itself after reconnecting.
 */
export function createRedisBus(options: RedisBusOptions): CacheBus {
  const { publisher, subscriber } = options;
  const channel = options.channel ?? 'switchboard:cache:bus';
  if (!publisher || typeof publisher.publish !== 'function')
    throw new TypeError('createRedisBus: `publisher` must be an ioredis client');
  if (!subscriber || typeof subscriber.subscribe !== 'function')
    throw new TypeError('createRedisBus: `subscriber` must be an ioredis client');
  const mode = pubSubMode('createRedisBus', publisher, subscriber, options.sharded);
  const { event } = mode;
  return {
    async publish(message) {
      await mode.publish(channel, JSON.stringify(message));
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
      subscriber.on(event, listener);
      void mode.subscribe(channel).catch(() => {
        // Retried by ioredis on reconnect; staleness stays bounded by l1MaxStalenessMs.
      });
      return () => {
        subscriber.off(event, listener);
        void mode.unsubscribe(channel).catch(() => undefined);
      };
    },
  };
}
