/**
 * Batches per node on a Redis Cluster: why and how (the rate limiter's checks, both scripts, and
 * the cache's reads use it).
 *
 * A command's keys, and a script's declared keys, must share one slot; 16,384 slots spread a
 * service's keys so thinly that a turn's work almost never shares one. Batched per slot, each
 * check or read is a command of its own (measured on a 3-master cluster: the rate limiter at
 * 0.65-0.78× rate-limiter-flexible's checks/s, against 1.6× on one Redis). But Redis does not
 * hold a script to its declared slot: a script without a `#!lua` flags line may use any key its
 * node holds (Redis 7 refuses only keys of another node — "Script attempted to access a non
 * local key in a cluster node" — an error `pcall` catches before anything is read; a single
 * command inside the script, an MGET say, must still keep to one slot). So a batch holds one
 * node's work: the script declares one of its keys (the client routes the command by it; a
 * MOVED reply re-routes the whole batch), reads the others from ARGV, and answers "not here"
 * for work whose keys the node does not hold (the client's slot table was stale, a slot moved),
 * which the caller sends again alone, to its own slot, where the client's MOVED/ASK handling
 * applies. A resent piece is decided after work sent later to its slot: call order holds except
 * across a slot move.
 *
 * The slot table is the client's: an ioredis `Cluster` keeps one (`slots`: per slot, the
 * addresses of its master first, then its replicas), refreshed on MOVED and on its own schedule.
 * We only read it, to group; Redis decides what a node holds.
 */
export interface ClusterSlotTable {
  /** Per slot (0-16383), its nodes' addresses, the master first (ioredis' `Cluster#slots`). */
  readonly slots?: readonly (readonly string[] | undefined)[] | undefined;
}

/**
 * The master's address of a slot per the client's table, or undefined when the table does not
 * know it (not loaded yet, or no such table: then work is batched per slot).
 */
export function nodeOfSlotIn(client: ClusterSlotTable): (slot: number) => string | undefined {
  return (slot) => client.slots?.[slot]?.[0];
}

/**
 * Lua: `non_local(err)`, whether an error caught by `pcall` is Redis refusing a key its node
 * does not hold (the one error a per-node batch turns into "not here"), and `error_text(err)`,
 * its message (`pcall` gives a table `{ err = ... }` for a Redis error, a string for a Lua one),
 * to fail the run with `redis.error_reply` otherwise.
 */
export const NON_LOCAL_KEY_LUA = `
local function error_text(err)
  if type(err) == 'table' then return tostring(err.err) end
  return tostring(err)
end
local function non_local(err)
  return string.find(error_text(err), 'non local key', 1, true) ~= nil
end
`;
