import { pubSubMode, resolveTelemetry } from '@switchboard/hot-path';
import { BusTracing, type Telemetry } from '../telemetry.ts';
import type { RbacBus } from '../types.ts';

/** A `message` (classic) or `smessage` (sharded) listener. */
type MessageListener = (channel: string, message: string) => void;

/** The parts of two ioredis clients (`Redis` or `Cluster`) the bus uses. */
export interface RedisBusClients {
  /** Any ioredis client. `spublish` is needed with `sharded`. */
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
  /** @default 'switchboard:rbac:grants' */
  channel?: string;
  /**
   * Where policy versions go (a channel of their own: instances of an older version read every
   * message on `channel` as a user id). @default `${channel}:policy`
   */
  policyChannel?: string;
  /**
   * OpenTelemetry: a publish runs in a `send <channel>` span (producer), the handling of each
   * message received in a `process <channel>` span (consumer, a trace of its own: messages
   * carry no trace context), per the messaging conventions (`messaging.system` `redis`,
   * `messaging.destination.name` the channel). `true` for the global `@opentelemetry/api`, or
   * the API object. @default false (no tracing code runs)
   */
  telemetry?: Telemetry;
  /**
   * Sharded pub/sub (Redis 7: `SPUBLISH` / `SSUBSCRIBE`) on both channels: on a Redis Cluster a
   * message travels only within the shard that owns its channel's slot, instead of being
   * broadcast to every node. Every instance on the channels must use the same mode: a classic
   * `PUBLISH` never reaches a sharded subscriber, nor the reverse. @default false
   */
  sharded?: boolean;
}

/**
 * Grant changes and policy versions over Redis pub/sub, on a single Redis or a Cluster (classic,
 * or sharded with `sharded: true`). Fire-and-forget like pub/sub itself: an instance that misses
 * a message (a reconnect during failover) is corrected by the cache TTL (grants) or the policy
 * poll (`policyPollMs`).
 *
 * @example
 * const bus = createRedisRbacBus({ publisher: redis, subscriber: redis.duplicate() });
 * const rbac = await createRbac({ roles, store, cache: { bus } });
 */
export function createRedisRbacBus(options: RedisBusClients): RbacBus {
  const { publisher, subscriber } = options;
  const channel = options.channel ?? 'switchboard:rbac:grants';
  if (typeof publisher?.publish !== 'function')
    throw new TypeError('createRedisRbacBus: `publisher` must be an ioredis client');
  if (typeof subscriber?.subscribe !== 'function')
    throw new TypeError('createRedisRbacBus: `subscriber` must be an ioredis client');
  const mode = pubSubMode('createRedisRbacBus', publisher, subscriber, options.sharded);
  const policyChannel = options.policyChannel ?? `${channel}:policy`;
  if (policyChannel === channel) throw new TypeError('createRedisRbacBus: `policyChannel` must differ from `channel`');
  const api = resolveTelemetry('createRedisRbacBus', options.telemetry);
  const tracing = api && new BusTracing(api, channel, mode.sharded);
  const policyTracing = api && new BusTracing(api, policyChannel, mode.sharded);
  const { event } = mode;
  const publish = async (userId: string) => {
    await mode.publish(channel, userId);
  };
  const publishPolicy = async (version: number) => {
    await mode.publish(policyChannel, String(version));
  };
  /** Subscribes `handler` to one channel's messages that `read` accepts. */
  const listen = <T>(
    on: string,
    read: (message: string) => T | undefined,
    handler: (value: T) => void,
    traced: BusTracing | undefined,
  ) => {
    const listener = (from: string, message: string) => {
      if (from !== on || typeof message !== 'string') return;
      const value = read(message);
      if (value === undefined) return;
      if (traced) traced.process(() => handler(value));
      else handler(value);
    };
    subscriber.on(event, listener);
    void mode.subscribe(on).catch(() => {
      // ioredis resubscribes on reconnect; the cache TTL and the policy poll cover what is missed meanwhile.
    });
    return () => {
      subscriber.off(event, listener);
      void mode.unsubscribe(on).catch(() => undefined);
    };
  };
  return {
    publish: tracing ? (userId) => tracing.send(() => publish(userId)) : publish,
    subscribe: (handler) => listen(channel, (userId) => (userId.length === 0 ? undefined : userId), handler, tracing),
    publishPolicy: policyTracing ? (version) => policyTracing.send(() => publishPolicy(version)) : publishPolicy,
    subscribePolicy: (handler) =>
      listen(
        policyChannel,
        (message) => {
          const version = Number(message);
          return Number.isSafeInteger(version) && version > 0 ? version : undefined;
        },
        handler,
        policyTracing,
      ),
  };
}
