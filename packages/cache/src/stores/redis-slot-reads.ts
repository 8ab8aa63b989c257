import { redisSlot } from '@switchboard/hot-path';
import type { SharedRead } from '../types.ts';

/**
 * The reads of the Redis tier that differ on a Redis Cluster, where one command (and one
 * script) may only touch keys of one slot: an MGET split per slot, and `readValidated` checking
 * an entry's tags here instead of inside a script (they live in their own slots). On a single
 * Redis the MGET goes out as it is.
 */

export const generation = (reply: unknown): number => Number(reply ?? 0);

export const rawEntry = (reply: unknown): string | null =>
  typeof reply === 'string' ? reply : reply instanceof Buffer ? reply.toString('utf8') : null;

export function slotAwareReads(tier: {
  cluster: boolean;
  call: (command: string, ...args: (string | number)[]) => Promise<unknown>;
  send: (args: string[]) => Promise<unknown>;
  entryKey: (key: string) => string;
  keyGenKey: (key: string) => string;
  tagKey: (tag: string) => string;
}) {
  const { cluster, call, send, entryKey, keyGenKey, tagKey } = tier;
  /**
   * An MGET (`args`: 'MGET', then the keys): as it is on a single Redis; on a cluster one MGET
   * per slot, sent together (each atomic alone, not together), the answers back in the keys'
   * order.
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
    const reply: unknown[] = new Array(keys.length);
    return Promise.all(
      [...bySlot.values()].map((positions) =>
        call('MGET', ...positions.map((i) => keys[i] as string)).then((values) => {
          if (!Array.isArray(values) || values.length !== positions.length) throw new Error('unexpected MGET reply');
          for (let j = 0; j < positions.length; j++) reply[positions[j] as number] = values[j];
        }),
      ),
    ).then(() => reply);
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
