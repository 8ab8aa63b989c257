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
}

/**
 * Grant changes and policy versions over Redis pub/sub. Fire-and-forget like pub/sub itself: an
 * instance that misses a message (a reconnect during failover) is corrected by the cache TTL
 * (grants) or the policy poll (`policyPollMs`).
 */
export function createRedisRbacBus(options: RedisBusClients): RbacBus {
  const { publisher, subscriber } = options;
  const channel = options.channel ?? 'switchboard:rbac:grants';
  if (typeof publisher?.publish !== 'function')
    throw new TypeError('createRedisRbacBus: `publisher` must be an ioredis client');
  if (typeof subscriber?.subscribe !== 'function')
    throw new TypeError('createRedisRbacBus: `subscriber` must be an ioredis client');
  const policyChannel = options.policyChannel ?? `${channel}:policy`;
  if (policyChannel === channel) throw new TypeError('createRedisRbacBus: `policyChannel` must differ from `channel`');
  const api = resolveTelemetry('createRedisRbacBus', options.telemetry);
  const tracing = api && new BusTracing(api, channel);
  const policyTracing = api && new BusTracing(api, policyChannel);
  const publish = async (userId: string) => {
    await publisher.publish(channel, userId);
  };
  const publishPolicy = async (version: number) => {
    await publisher.publish(policyChannel, String(version));
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
    subscriber.on('message', listener);
    void subscriber.subscribe(on).catch(() => {
      // ioredis resubscribes on reconnect; the cache TTL and the policy poll cover what is missed meanwhile.
    });
    return () => {
      subscriber.off('message', listener);
      void subscriber.unsubscribe(on).catch(() => undefined);
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
