/**
 * Batches per node on a Redis Cluster: why and how.
 *
 * A script's declared keys must share one slot, and 16,384 slots spread a service's keys so
 * thinly that a turn's checks almost never share one: batched per slot, each check is a command
 * of its own (measured: 0.78× rate-limiter-flexible's checks/s on a 3-master cluster, against
 * 1.6× on one Redis). But Redis does not hold a script to its declared slot: a script without a
 * `#!lua` flags line may use any key its node holds (Redis 7 refuses only keys of another node,
 * with "Script attempted to access a non local key in a cluster node", an error `pcall` catches
 * before anything is read). So a batch holds one node's checks: the first check's keys are
 * declared (the client routes the command by them; a MOVED reply re-routes it), the others ride
 * in ARGV, and a check whose keys the node no longer holds — the client's slot table was stale,
 * a slot moved — answers "not here" and is sent again alone to its own slot, where the client's
 * MOVED/ASK handling applies.
 *
 * Where the client's slot table comes from: an ioredis `Cluster` keeps one (`slots`: per slot,
 * the addresses of its master first, then its replicas), refreshed on MOVED and on its own
 * schedule. We only read it, to group; Redis decides what a node holds.
 */
export interface ClusterSlotTable {
  /** Per slot (0-16383), its nodes' addresses, the master first (ioredis' `Cluster#slots`). */
  readonly slots?: readonly (readonly string[] | undefined)[] | undefined;
}

/**
 * The master's address of a slot per the client's table, or undefined when the table does not
 * know it (not loaded yet, or no such table: then checks are batched per slot).
 */
export function nodeOfSlotIn(client: ClusterSlotTable): (slot: number) => string | undefined {
  return (slot) => client.slots?.[slot]?.[0];
}
