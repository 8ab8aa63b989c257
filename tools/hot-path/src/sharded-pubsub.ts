// Shared by the Redis buses of auth, rbac and cache: one check, one wording.

/** With `sharded: true` (Redis 7 sharded pub/sub): the clients can do it, or a TypeError says how to get them. */
export function checkShardedPubSub(
  factory: string,
  publisher: { spublish?: unknown },
  subscriber: { ssubscribe?: unknown; sunsubscribe?: unknown },
): void {
  if (typeof publisher.spublish !== 'function')
    throw new TypeError(
      `${factory}: \`sharded: true\` needs a \`publisher\` with \`spublish\` (an ioredis client, Redis 7 sharded pub/sub)`,
    );
  if (typeof subscriber.ssubscribe !== 'function' || typeof subscriber.sunsubscribe !== 'function')
    throw new TypeError(
      `${factory}: \`sharded: true\` needs a \`subscriber\` with \`ssubscribe\` and \`sunsubscribe\` (an ioredis client, Redis 7 sharded pub/sub)`,
    );
  const cluster = subscriber as { isCluster?: unknown; options?: { shardedSubscribers?: unknown } };
  if (cluster.isCluster === true && cluster.options?.shardedSubscribers !== true)
    throw new TypeError(
      `${factory}: \`sharded: true\` needs a \`subscriber\` Cluster created with \`new Cluster(nodes, { shardedSubscribers: true })\` (without it ioredis sends SSUBSCRIBE to one node, which fails with "Too many Cluster redirections")`,
    );
}
