// Shared by the Redis buses of auth, rbac and cache: one choice of pub/sub mode, one wording
// of its errors.

/** The publishing side of a bus's ioredis client (`Redis` or `Cluster`). */
export interface PubSubPublisher {
  publish(channel: string, message: string): Promise<unknown>;
  spublish?(channel: string, message: string): Promise<unknown>;
}

/** The subscribing side of a bus's ioredis client (`Redis` or `Cluster`). */
export interface PubSubSubscriber {
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  ssubscribe?(channel: string): Promise<unknown>;
  sunsubscribe?(channel: string): Promise<unknown>;
}

/** Classic pub/sub (PUBLISH / SUBSCRIBE) or sharded (Redis 7: SPUBLISH / SSUBSCRIBE), chosen once. */
export interface PubSubMode {
  readonly sharded: boolean;
  /** The subscriber's event for a message of this mode. */
  readonly event: 'message' | 'smessage';
  publish(channel: string, message: string): Promise<unknown>;
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
}

/**
 * The mode a bus's `sharded` option asks for, over its clients: a TypeError (naming `factory`)
 * when `sharded` is not a boolean, or when sharded mode is asked of clients that cannot do it
 * (saying how to get ones that can).
 */
export function pubSubMode(
  factory: string,
  publisher: PubSubPublisher,
  subscriber: PubSubSubscriber,
  sharded: unknown = false,
): PubSubMode {
  if (typeof sharded !== 'boolean')
    throw new TypeError(`${factory}: \`sharded\` must be a boolean, got ${String(sharded)}`);
  if (!sharded)
    return {
      sharded,
      event: 'message',
      publish: (channel, message) => publisher.publish(channel, message),
      subscribe: (channel) => subscriber.subscribe(channel),
      unsubscribe: (channel) => subscriber.unsubscribe(channel),
    };
  const { spublish } = publisher;
  const { ssubscribe, sunsubscribe } = subscriber;
  if (typeof spublish !== 'function')
    throw new TypeError(
      `${factory}: \`sharded: true\` needs a \`publisher\` with \`spublish\` (an ioredis client, Redis 7 sharded pub/sub)`,
    );
  if (typeof ssubscribe !== 'function' || typeof sunsubscribe !== 'function')
    throw new TypeError(
      `${factory}: \`sharded: true\` needs a \`subscriber\` with \`ssubscribe\` and \`sunsubscribe\` (an ioredis client, Redis 7 sharded pub/sub)`,
    );
  const cluster = subscriber as { isCluster?: unknown; options?: { shardedSubscribers?: unknown } };
  if (cluster.isCluster === true && cluster.options?.shardedSubscribers !== true)
    throw new TypeError(
      `${factory}: \`sharded: true\` needs a \`subscriber\` Cluster created with \`new Cluster(nodes, { shardedSubscribers: true })\` (without it ioredis sends SSUBSCRIBE to one node, which fails with "Too many Cluster redirections")`,
    );
  return {
    sharded,
    event: 'smessage',
    publish: (channel, message) => spublish.call(publisher, channel, message),
    subscribe: (channel) => ssubscribe.call(subscriber, channel),
    unsubscribe: (channel) => sunsubscribe.call(subscriber, channel),
  };
}
