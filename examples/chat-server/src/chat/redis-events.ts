import type { Cluster, Redis } from 'ioredis';
import type { ChatEventTarget } from './events.ts';

/** A Redis pub/sub event target whose deliveries can be awaited (the outbox relay's). */
export interface AwaitableEventTarget extends ChatEventTarget {
  /** Publishes to every instance; resolves once Redis accepted it, rejects if it did not. */
  publish(topic: string, detail: unknown): Promise<void>;
  /**
   * Resolves once Redis confirmed this instance's subscription to `topic` (at once when it has
   * no listener): from then on every message published to it arrives. Never rejects (a failed
   * subscribe is reported through `onError`; ioredis subscribes again after a reconnect).
   */
  subscribed(topic: string): Promise<void>;
}

/**
 * Events between instances over Redis pub/sub, for yoga's `createPubSub` (the role of
 * `@graphql-yoga/redis-event-target`, which publishes and subscribes without handling the
 * promises: a Redis outage longer than the client's command timeout rejects them unhandled and
 * stops the process). Here every Redis call's failure is reported and survived: ioredis
 * subscribes again by itself after a reconnect, and messages lost meanwhile are read from
 * PostgreSQL by the subscriptions. `publish` is awaited by the outbox relay, so an event Redis
 * refused is retried rather than marked delivered. A Cluster client works as a plain one: classic
 * PUBLISH reaches the subscribers of every node, and its one subscriber connection re-emits
 * 'message' (as with yoga's, whose clients are typed `Redis | Cluster` too).
 */
export function createRedisEvents(options: {
  publisher: Redis | Cluster;
  subscriber: Redis | Cluster;
  /**
   * Sharded pub/sub (SPUBLISH / SSUBSCRIBE, Redis 7): on a Cluster a message then stays in its
   * channel's shard; the subscriber must be a Cluster created with `shardedSubscribers: true`.
   * @default false
   */
  sharded?: boolean;
  onError: (error: unknown, operation: 'publish' | 'subscribe' | 'unsubscribe') => void;
}): AwaitableEventTarget {
  const { publisher, subscriber, onError } = options;
  const sharded = options.sharded === true;
  const listeners = new Map<string, Set<(event: CustomEvent) => void>>();
  // Per topic listened to, its SUBSCRIBE's answer (settled either way).
  const confirmations = new Map<string, Promise<void>>();

  subscriber.on(sharded ? 'smessage' : 'message', (channel: string, raw: string) => {
    const set = listeners.get(channel);
    if (!set) return;
    let detail: unknown;
    try {
      detail = raw === '' ? null : JSON.parse(raw);
    } catch {
      return;
    }
    // One parsed value for every listener of this instance: subscribers share it, read-only.
    const event = new CustomEvent(channel, { detail });
    for (const listener of set) listener(event);
  });

  // The same function for add and remove, as yoga's own event target does.
  const listenerOf = (callback: EventListenerOrEventListenerObject | null) =>
    (callback === null ? undefined : 'handleEvent' in callback ? callback.handleEvent : callback) as
      | ((event: CustomEvent) => void)
      | undefined;

  const publish = async (topic: string, detail: unknown): Promise<void> => {
    const message = detail === undefined ? '' : JSON.stringify(detail);
    await (sharded ? publisher.spublish(topic, message) : publisher.publish(topic, message));
  };

  return {
    publish,
    subscribed: (topic) => confirmations.get(topic) ?? Promise.resolve(),
    addEventListener(topic: string, callback: EventListenerOrEventListenerObject | null) {
      const listener = listenerOf(callback);
      if (!listener) return;
      let set = listeners.get(topic);
      if (!set) {
        set = new Set();
        listeners.set(topic, set);
        confirmations.set(
          topic,
          (sharded ? subscriber.ssubscribe(topic) : subscriber.subscribe(topic)).then(
            () => undefined,
            (error: unknown) => onError(error, 'subscribe'),
          ),
        );
      }
      set.add(listener);
    },
    removeEventListener(topic: string, callback: EventListenerOrEventListenerObject | null) {
      const listener = listenerOf(callback);
      const set = listeners.get(topic);
      if (!listener || !set) return;
      set.delete(listener);
      if (set.size > 0) return;
      listeners.delete(topic);
      confirmations.delete(topic);
      (sharded ? subscriber.sunsubscribe(topic) : subscriber.unsubscribe(topic)).catch((error: unknown) =>
        onError(error, 'unsubscribe'),
      );
    },
    dispatchEvent(event: Event) {
      publish(event.type, (event as CustomEvent).detail).catch((error: unknown) => onError(error, 'publish'));
      return true;
    },
  };
}
