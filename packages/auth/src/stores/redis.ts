import { pubSubMode } from '@switchboard/hot-path';
import type { RevocationBus, SessionRevocation } from '../types.ts';

/** A `message` (classic) or `smessage` (sharded) listener. */
type MessageListener = (channel: string, message: string) => void;

/** The parts of two ioredis clients (`Redis` or `Cluster`) the bus uses. */
export interface RedisRevocationBusOptions {
  /** Any ioredis client (it may be shared with other work). `spublish` is needed with `sharded`. */
  publisher: {
    publish(channel: string, message: string): Promise<unknown>;
    spublish?(channel: string, message: string): Promise<unknown>;
  };
  /**
   * A dedicated ioredis client: a subscribed connection can do nothing else. With `sharded` it
   * needs `ssubscribe` / `sunsubscribe`, and a `Cluster` must be created with
   * `{ shardedSubscribers: true }`.
   */
  subscriber: {
    subscribe(channel: string): Promise<unknown>;
    unsubscribe(channel: string): Promise<unknown>;
    ssubscribe?(channel: string): Promise<unknown>;
    sunsubscribe?(channel: string): Promise<unknown>;
    on(event: 'message' | 'smessage', listener: MessageListener): unknown;
    off(event: 'message' | 'smessage', listener: MessageListener): unknown;
  };
  /** @default 'switchboard:auth:revocations' */
  channel?: string;
  /**
   * Sharded pub/sub (Redis 7: `SPUBLISH` / `SSUBSCRIBE`): on a Redis Cluster a message travels
   * only within the shard that owns the channel's slot, instead of being broadcast to every
   * node. Every instance on the channel must use the same mode: a classic `PUBLISH` never
   * reaches a sharded subscriber, nor the reverse. @default false
   */
  sharded?: boolean;
}

// Session and user ids are short; anything longer is not one of our messages.
const MAX_ID_LENGTH = 512;

/**
 * Revocations over Redis pub/sub, between the `createAuth` instances of every process that
 * shares the channel. Pass clients you created (`Redis` or `Cluster`); the bus never closes
 * them. A subscriber disconnected during a failover misses messages (ioredis resubscribes on
 * reconnect): the store poll of `revocations.pollIntervalMs` finds what was missed.
 *
 * @example
 * const bus = createRedisRevocationBus({ publisher: redis, subscriber: redis.duplicate() });
 * const auth = await createAuth({ issuer, audience, keys, stores, revocations: { bus } });
 */
export function createRedisRevocationBus(options: RedisRevocationBusOptions): RevocationBus {
  const { publisher, subscriber } = options ?? ({} as RedisRevocationBusOptions);
  const channel = options?.channel ?? 'switchboard:auth:revocations';
  if (typeof publisher?.publish !== 'function')
    throw new TypeError('createRedisRevocationBus: `publisher` must be an ioredis client');
  if (typeof subscriber?.subscribe !== 'function' || typeof subscriber.on !== 'function')
    throw new TypeError('createRedisRevocationBus: `subscriber` must be an ioredis client');
  const mode = pubSubMode('createRedisRevocationBus', publisher, subscriber, options.sharded);
  const { event } = mode;
  return {
    async publish(revocations) {
      if (revocations.length === 0) return;
      const message = revocations.map(({ sessionId, userId }) => ({ sessionId, userId }));
      await mode.publish(channel, JSON.stringify(message));
    },
    async subscribe(handler) {
      const listener = (from: string, raw: string) => {
        if (from !== channel) return;
        const revocations = parseMessage(raw);
        if (revocations.length > 0) handler(revocations);
      };
      subscriber.on(event, listener);
      try {
        await mode.subscribe(channel);
      } catch (error) {
        subscriber.off(event, listener);
        throw error;
      }
      return () => {
        subscriber.off(event, listener);
        void mode.unsubscribe(channel).catch(() => undefined);
      };
    },
  };
}

/** The well-formed revocations of a message; anything else on the channel is ignored. */
function parseMessage(raw: string): SessionRevocation[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  const revocations: SessionRevocation[] = [];
  for (const item of parsed) {
    const { sessionId, userId } = (item ?? {}) as { sessionId?: unknown; userId?: unknown };
    if (isId(sessionId) && isId(userId)) revocations.push({ sessionId, userId });
  }
  return revocations;
}

function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH;
}
