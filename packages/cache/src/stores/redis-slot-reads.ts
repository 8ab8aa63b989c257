import { defineScript, NON_LOCAL_KEY_LUA, redisSlot } from '@switchboard/hot-path';
import type { SharedRead } from '../types.ts';

/**
 * The reads of the Redis tier that differ on a Redis Cluster, where one command (and one
 * script's declared keys) may only touch keys of one slot: an MGET split per node, and
 * `readValidated` checking an entry's tags here instead of inside a script (they live in their
 * own slots). On a single Redis the MGET goes out as it is.
 */

export const generation = (reply: unknown): number => Number(reply ?? 0);

export const rawEntry = (reply: unknown): string | null =>
  typeof reply === 'string' ? reply : reply instanceof Buffer ? reply.toString('utf8') : null;

// One node's share of an MGET, in one script run (cluster-node-batches.ts in the hot-path kit
// says why and how): one MGET per slot inside, each group's values, or 0 for a group whose keys
// the node does not hold ("not here": read again with an MGET of its own). KEYS[1]: any of the
// keys (it routes the command). ARGV[1]: the number G of groups; ARGV[2..G+1]: their sizes;
// then the keys, group after group.
const MGET_BY_SLOT = defineScript(`${NON_LOCAL_KEY_LUA}
local groups = tonumber(ARGV[1])
local at = groups + 2
local out = {}
for g = 1, groups do
  local n = tonumber(ARGV[g + 1])
  local ok, values = pcall(redis.call, 'MGET', unpack(ARGV, at, at + n - 1))
  if ok then out[g] = values
  elseif non_local(values) then out[g] = 0
  else return redis.error_reply(error_text(values)) end
  at = at + n
end
return out
`);

export function slotAwareReads(tier: {
  cluster: boolean;
  /** On a cluster: the node of a slot per the client's table (undefined when not known). */
  nodeOfSlot: (slot: number) => string | undefined;
  call: (command: string, ...args: (string | number)[]) => Promise<unknown>;
  send: (args: string[]) => Promise<unknown>;
  runScript: (script: typeof MGET_BY_SLOT, args: (string | number)[]) => Promise<unknown>;
  entryKey: (key: string) => string;
  keyGenKey: (key: string) => string;
  tagKey: (tag: string) => string;
}) {
  const { cluster, nodeOfSlot, call, send, runScript, entryKey, keyGenKey, tagKey } = tier;

  /** One slot's keys read with an MGET of their own; their values put at their positions. */
  const mgetSlot = (keys: readonly string[], positions: readonly number[], reply: unknown[]) =>
    call('MGET', ...positions.map((i) => keys[i] as string)).then((values) => {
      if (!Array.isArray(values) || values.length !== positions.length) throw new Error('unexpected MGET reply');
      for (let j = 0; j < positions.length; j++) reply[positions[j] as number] = values[j];
    });

  /** Several slots of one node in one script run; a slot the node does not hold is read alone. */
  const mgetNode = (keys: readonly string[], slots: readonly number[][], reply: unknown[]) => {
    const args: (string | number)[] = [1, keys[(slots[0] as number[])[0] as number] as string, slots.length];
    for (const positions of slots) args.push(positions.length);
    for (const positions of slots) for (const i of positions) args.push(keys[i] as string);
    return runScript(MGET_BY_SLOT, args).then((groups) => {
      if (!Array.isArray(groups) || groups.length !== slots.length) throw new Error('unexpected MGET reply');
      const again: Promise<void>[] = [];
      for (let g = 0; g < slots.length; g++) {
        const positions = slots[g] as number[];
        const values = groups[g];
        if (values === 0) {
          again.push(mgetSlot(keys, positions, reply));
          continue;
        }
        if (!Array.isArray(values) || values.length !== positions.length) throw new Error('unexpected MGET reply');
        for (let j = 0; j < positions.length; j++) reply[positions[j] as number] = values[j];
      }
      return Promise.all(again);
    });
  };

  /**
   * An MGET (`args`: 'MGET', then the keys): as it is on a single Redis; on a cluster one
   * command per node (an MGET per slot inside one script run; a plain MGET when the node's
   * share is one slot, or the node is not known yet), sent together, the answers back in the
   * keys' order. Each slot's MGET is atomic, the set of them is not.
   */
  const mget = (args: string[]): Promise<unknown> => {
    if (!cluster) return send(args);
    const keys = args.slice(1);
    const bySlot = new Map<number, number[]>();
    for (let i = 0; i < keys.length; i++) {
      const slot = redisSlot(keys[i] as string);
      const positions = bySlot.get(slot);
      if (positions) positions.push(i);
      else bySlot.set(slot, [i]);
    }
    const byNode = new Map<string, number[][]>();
    const alone: number[][] = [];
    for (const [slot, positions] of bySlot) {
      const node = nodeOfSlot(slot);
      if (node === undefined) {
        alone.push(positions);
        continue;
      }
      const slots = byNode.get(node);
      if (slots) slots.push(positions);
      else byNode.set(node, [positions]);
    }
    const reply: unknown[] = new Array(keys.length);
    const sent: Promise<unknown>[] = alone.map((positions) => mgetSlot(keys, positions, reply));
    for (const slots of byNode.values())
      sent.push(slots.length === 1 ? mgetSlot(keys, slots[0] as number[], reply) : mgetNode(keys, slots, reply));
    return Promise.all(sent).then(() => reply);
  };

  /** The generations of these tags now, in order. */
  const generationsOf = async (tags: readonly string[]): Promise<number[]> => {
    if (tags.length === 0) return [];
    const reply = (await mget(['MGET', ...tags.map(tagKey)])) as unknown[];
    return reply.map(generation);
  };

  /**
   * `readValidated` on a cluster: the entry and its key generation (one slot), then the
   * generations of the tags asked and of the entry's own tags (their slots), compared here as
   * the READ script compares them inside a single Redis.
   */
  const readValidatedAcrossSlots = async (key: string, tags: readonly string[]): Promise<SharedRead> => {
    const [rawReply, keyGenReply] = (await call('MGET', entryKey(key), keyGenKey(key))) as unknown[];
    let raw = rawEntry(rawReply);
    const own = raw === null ? undefined : ownTags(raw);
    if (own === undefined) raw = null;
    const names = [...new Set([...tags, ...(own ?? []).map(([tag]) => tag)])];
    const gens = await generationsOf(names);
    const now = new Map(names.map((tag, i) => [tag, gens[i] as number]));
    if (own?.some(([tag, gen]) => (now.get(tag) ?? 0) > gen)) raw = null;
    return { raw, keyGen: generation(keyGenReply), gens: tags.map((tag) => now.get(tag) ?? 0) };
  };

  return { mget, generationsOf, readValidatedAcrossSlots };
}

/**
 * An envelope's `[tag, generation]` pairs, read from its header line; undefined when the header
 * is not one (the READ script then treats the entry as missing, and so does the cluster path).
 */
function ownTags(raw: string): [string, number][] | undefined {
  const newline = raw.indexOf('\n');
  if (newline < 0) return undefined;
  try {
    const header = JSON.parse(raw.slice(0, newline)) as { t?: unknown };
    if (!Array.isArray(header.t)) return undefined;
    const pairs: [string, number][] = [];
    for (const pair of header.t) {
      if (!Array.isArray(pair) || typeof pair[0] !== 'string' || typeof pair[1] !== 'number') return undefined;
      pairs.push([pair[0], pair[1]]);
    }
    return pairs;
  } catch {
    return undefined;
  }
}
