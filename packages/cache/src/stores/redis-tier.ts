import {
  defineScript,
  type LuaScript,
  nodeOfSlotIn,
  type ScriptClient,
  scriptRunner,
  TurnBatches,
  wholeNumberOption,
} from '@switchboard/hot-path';
import { withinL2Deadline } from '../deadline.ts';
import { type PendingReads, READ_WITHIN, type ReadsWithin } from '../internal.ts';
import type { SharedRead, SharedTier } from '../types.ts';
import { generation, rawEntry, slotAwareReads } from './redis-slot-reads.ts';

/**
 * What we need of an ioredis client (plain, Sentinel or `Cluster`). No client code is imported
 * at run time.
 */
export interface RedisClientLike {
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
  /** True on an ioredis `Cluster`: commands and scripts then group their keys by slot. */
  readonly isCluster?: boolean;
  /** On an ioredis `Cluster`: its slot table, to send a turn's reads per node (see the README). */
  readonly slots?: readonly (readonly string[] | undefined)[] | undefined;
}

/** What we need of a node-redis client (`redis` / `@redis/client` v4 and later, connected). */
export interface NodeRedisClientLike {
  sendCommand(args: string[]): Promise<unknown>;
}

export interface RedisTierOptions {
  /**
   * An ioredis client (plain, Sentinel or `Cluster`) or a node-redis client (not its cluster
   * client) you created (and, for node-redis, connected); the tier never closes it.
   */
  client: RedisClientLike | NodeRedisClientLike;
  /** Prefix of every Redis key this tier writes (no spaces, no braces). @default 'cache' */
  prefix?: string;
  /**
   * How long a key's delete generation is kept: a fetch that started before a delete and ends
   * later than this could still store its value. @default 3600000
   */
  keyGenerationTtlMs?: number;
  /**
   * How long a tag's generation is kept after its last bump. Entries never live longer than
   * this (TTL + grace is capped to it): an entry must not outlive the counter that invalidates it.
   * @default 2592000000 (30 days)
   */
  tagGenerationTtlMs?: number;
}

// Entries are "<header JSON>\n<value>"; the header's `t` lists [tag, generation] pairs. An entry
// is valid while none of its tags has a higher generation now. KEYS: entry, key generation,
// then the tags whose generations the caller wants (to snapshot before fetching). ARGV[1]: the
// start of tag keys, `<prefix>|t|{`, closed by '}' after the tag (an entry's own tags are not
// known before it is read). Single Redis only: on a cluster the tags live in other slots.
const READ_LUA = `
local raw = redis.call('GET', KEYS[1])
if raw then
  local newline = string.find(raw, '\\n', 1, true)
  local ok, header = false, nil
  if newline then ok, header = pcall(cjson.decode, string.sub(raw, 1, newline - 1)) end
  if not ok or type(header) ~= 'table' or type(header.t) ~= 'table' then
    raw = false
  else
    for _, pair in ipairs(header.t) do
      if tonumber(redis.call('GET', ARGV[1] .. pair[1] .. '}') or '0') > pair[2] then
        raw = false
        break
      end
    end
  end
end
local reply = { raw or false, tonumber(redis.call('GET', KEYS[2]) or '0') }
for i = 3, #KEYS do reply[#reply + 1] = tonumber(redis.call('GET', KEYS[i]) or '0') end
return reply
`;

// Compare-and-set: store only if the key and the tags still have the generations the writer
// read before fetching. KEYS: entry, key generation, tags (none on a cluster, where the tier
// checks them just before). ARGV: value, pttl, key generation, tag generations.
const WRITE_LUA = `
if tonumber(redis.call('GET', KEYS[2]) or '0') ~= tonumber(ARGV[3]) then return 0 end
for i = 3, #KEYS do
  if tonumber(redis.call('GET', KEYS[i]) or '0') ~= tonumber(ARGV[i + 1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`;

// Explicit set: store, and bump the key generation so that a fetch in flight elsewhere
// cannot overwrite this newer value. KEYS: entry, key generation. ARGV: value, pttl, gen ttl.
const SET_LUA = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
`;

// KEYS: (entry, key generation) pairs. ARGV[1]: generation ttl.
const DELETE_LUA = `
for i = 1, #KEYS, 2 do
  redis.call('DEL', KEYS[i])
  redis.call('INCR', KEYS[i + 1])
  redis.call('PEXPIRE', KEYS[i + 1], ARGV[1])
end
return 1
`;

// A tag generation lives tagGenerationTtlMs after its last bump (entries are capped below that).
const BUMP_TAG_LUA = `
local gen = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return gen
`;

// Compare-and-delete: a lock that expired and was taken by another instance stays theirs.
const UNLOCK_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

const READ = defineScript(READ_LUA);
const WRITE = defineScript(WRITE_LUA);
const SET = defineScript(SET_LUA);
const DELETE = defineScript(DELETE_LUA);
const UNLOCK = defineScript(UNLOCK_LUA);
const BUMP_TAG = defineScript(BUMP_TAG_LUA);

type Command = (command: string, ...args: (string | number)[]) => Promise<unknown>;
/** One command as a whole argument list, the command's name first (no copy for node-redis). */
type CommandArgs = (args: string[]) => Promise<unknown>;

/**
 * One way to send commands whichever client it is. `scripts` is what runs Lua scripts: ioredis
 * itself (its own `evalsha` when it has one), or node-redis through `call`.
 */
function commandRunner(client: RedisClientLike | NodeRedisClientLike | undefined): {
  call: Command;
  send: CommandArgs;
  scripts: ScriptClient;
} {
  if (client && typeof (client as RedisClientLike).call === 'function') {
    const ioredis = client as RedisClientLike;
    return {
      call: (command, ...args) => ioredis.call(command, ...args),
      send: (args) => ioredis.call(args[0] as string, ...args.slice(1)),
      scripts: ioredis,
    };
  }
  if (client && typeof (client as NodeRedisClientLike).sendCommand === 'function') {
    const nodeRedis = client as NodeRedisClientLike;
    const call: Command = (command, ...args) => nodeRedis.sendCommand([command, ...args.map(String)]);
    return { call, send: (args) => nodeRedis.sendCommand(args), scripts: { call } };
  }
  throw new TypeError(
    'createRedisTier: `client` must be an ioredis instance (with `call`) or a node-redis client (with `sendCommand`)',
  );
}

// Most reads in one MGET: bounds the size of one command and of its reply.
const MAX_BATCH = 256;

const ignore = () => undefined;

/** Reads sent together as one MGET: one promise for all of them, answers picked by index. */
class ReadBatch implements PendingReads {
  readonly keys: string[] = [];
  readonly tags: (readonly string[])[] = [];
  readonly done: Promise<void>;
  settle!: () => void;
  fail!: (error: unknown) => void;
  reply: unknown[] = [];
  /** Where each distinct tag's generation sits in the reply. */
  tagSlots = new Map<string, number>();

  /** `timeoutMs`: the deadline of every read in it (`Infinity` for none). */
  constructor(readonly timeoutMs: number) {
    this.done = new Promise<void>((resolve, reject) => {
      this.settle = resolve;
      this.fail = reject;
    });
    // Every read awaits `done`; this only keeps a failure nobody waits for from being reported.
    this.done.catch(ignore);
  }

  get size(): number {
    return this.keys.length;
  }

  add(key: string, tags: readonly string[]): number {
    this.tags.push(tags);
    return this.keys.push(key) - 1;
  }

  result(index: number): SharedRead {
    const { reply, tagSlots } = this;
    const tags = this.tags[index] as readonly string[];
    const gens: number[] = new Array(tags.length);
    for (let j = 0; j < tags.length; j++) gens[j] = generation(reply[tagSlots.get(tags[j] as string) as number]);
    return { raw: rawEntry(reply[2 * index]), keyGen: generation(reply[2 * index + 1]), gens };
  }
}

/**
 * The shared tier over Redis: one MGET per read (entry and the generations to validate it),
 * a server-side validated read for entries with tags the caller did not name, compare-and-set
 * writes, O(1) tag invalidation (one INCR), and a short
 * lock for cluster-wide single-flight. Works with a Sentinel-managed ioredis client.
 *
 * Keys: `<prefix>|e|{<key>}` (entry), `<prefix>|k|{<key>}` (its delete generation) and
 * `<prefix>|l|{<key>}` (its lock) share the key as hash tag, so on a Redis Cluster they live in
 * one slot; `<prefix>|t|{<tag>}` (a tag's generation) lives in the tag's own. On a cluster
 * (an ioredis `Cluster`) a read's MGET goes out as one command per node (redis-slot-reads.ts),
 * sent together; tags are
 * validated by the tier rather than inside a script, and a write checks its tags' generations
 * just before its compare-and-set on the key (see the README's "Redis Cluster" for what that
 * guarantees).
 */
export function createRedisTier(options: RedisTierOptions): SharedTier {
  const { call, send, scripts } = commandRunner(options.client);
  const cluster = (options.client as RedisClientLike | undefined)?.isCluster === true;
  const prefix = options.prefix ?? 'cache';
  if (typeof prefix !== 'string' || prefix.length === 0 || /[\s{}]/.test(prefix)) {
    throw new TypeError(
      `createRedisTier: prefix must be a non-empty string without spaces or braces, got ${JSON.stringify(prefix)}`,
    );
  }
  const keyGenerationTtlMs = wholeNumberOption(
    'createRedisTier',
    'keyGenerationTtlMs',
    options.keyGenerationTtlMs ?? 3_600_000,
    { min: 1 },
  );
  const tagGenerationTtlMs = wholeNumberOption(
    'createRedisTier',
    'tagGenerationTtlMs',
    options.tagGenerationTtlMs ?? 30 * 24 * 3_600_000,
    { min: 1 },
  );
  const entryTtl = (ttlMs: number) => Math.max(1, Math.ceil(Math.min(ttlMs, tagGenerationTtlMs)));
  const entryKey = (key: string) => `${prefix}|e|{${key}}`;
  const keyGenKey = (key: string) => `${prefix}|k|{${key}}`;
  const tagPrefix = `${prefix}|t|{`;
  const tagKey = (tag: string) => `${tagPrefix}${tag}}`;
  const lockKey = (key: string) => `${prefix}|l|{${key}}`;
  const runScript = scriptRunner(scripts);
  const { mget, generationsOf, readValidatedAcrossSlots } = slotAwareReads({
    cluster,
    nodeOfSlot: nodeOfSlotIn(options.client as RedisClientLike),
    call,
    send,
    runScript,
    entryKey,
    keyGenKey,
    tagKey,
  });

  const run = (lua: LuaScript, keys: string[], args: (string | number)[]): Promise<unknown> =>
    runScript(lua, [keys.length, ...keys, ...args]);

  const fromReply = (reply: unknown[]): SharedRead => {
    const gens: number[] = [];
    for (let i = 2; i < reply.length; i++) gens.push(generation(reply[i]));
    return { raw: rawEntry(reply[0]), keyGen: generation(reply[1]), gens };
  };

  const sendBatch = (reads: ReadBatch) => {
    // Layout: entry and key generation of each read, then every distinct tag once.
    const args: string[] = ['MGET'];
    for (const key of reads.keys) args.push(entryKey(key), keyGenKey(key));
    const { tagSlots } = reads;
    for (const tags of reads.tags) {
      for (const tag of tags) {
        if (tagSlots.has(tag)) continue;
        tagSlots.set(tag, args.length - 1);
        args.push(tagKey(tag));
      }
    }
    let sent: Promise<unknown>;
    try {
      sent = withinL2Deadline(mget(args), reads.timeoutMs);
    } catch (error) {
      reads.fail(error);
      return;
    }
    sent.then((result) => {
      if (!Array.isArray(result) || result.length !== args.length - 1) {
        reads.fail(new Error(`unexpected MGET reply from Redis for ${reads.size} reads`));
        return;
      }
      reads.reply = result;
      reads.settle();
    }, reads.fail);
  };

  // Reads issued in the same turn of the event loop share one MGET (sent at the end of that
  // turn): one command for the client to encode, send and parse, and each tag generation asked
  // once. MGET is atomic, so every read in it sees one consistent moment, as it would alone.
  // Reads with different deadlines (caches sharing this tier) go in different batches, and a
  // batch's deadline covers each of its reads.
  const batches = new TurnBatches<number, ReadBatch>({
    create: (timeoutMs) => new ReadBatch(timeoutMs),
    send: sendBatch,
    isFull: (reads) => reads.size >= MAX_BATCH,
  });

  const tier: SharedTier & ReadsWithin = {
    read(key, tags) {
      const reads = batches.batchFor(Number.POSITIVE_INFINITY);
      const index = reads.add(key, tags);
      return reads.done.then(() => reads.result(index));
    },
    [READ_WITHIN](key, tags, timeoutMs) {
      const reads = batches.batchFor(timeoutMs);
      reads.add(key, tags);
      return reads;
    },
    async readValidated(key, tags) {
      if (cluster) return readValidatedAcrossSlots(key, tags);
      return fromReply(
        (await run(READ, [entryKey(key), keyGenKey(key), ...tags.map(tagKey)], [tagPrefix])) as unknown[],
      );
    },
    async write(key, raw, ttlMs, expect) {
      if (cluster) {
        // The tags live in other slots: checked just before the key's compare-and-set. A bump
        // landing between the two may let a stale value in, which no read serves (reads check
        // every tag of an entry).
        const now = await generationsOf(expect.tags);
        if (now.some((gen, i) => gen !== expect.gens[i])) return false;
        const stored = await run(WRITE, [entryKey(key), keyGenKey(key)], [raw, entryTtl(ttlMs), expect.keyGen]);
        return Number(stored) === 1;
      }
      const reply = await run(
        WRITE,
        [entryKey(key), keyGenKey(key), ...expect.tags.map(tagKey)],
        [raw, entryTtl(ttlMs), expect.keyGen, ...expect.gens],
      );
      return Number(reply) === 1;
    },
    async set(key, raw, ttlMs) {
      await run(SET, [entryKey(key), keyGenKey(key)], [raw, entryTtl(ttlMs), keyGenerationTtlMs]);
    },
    async delete(keys) {
      if (keys.length === 0) return;
      if (cluster) {
        // One script per key (a key's entry and generation share its slot; keys seldom do).
        await Promise.all(keys.map((key) => run(DELETE, [entryKey(key), keyGenKey(key)], [keyGenerationTtlMs])));
        return;
      }
      await run(
        DELETE,
        keys.flatMap((key) => [entryKey(key), keyGenKey(key)]),
        [keyGenerationTtlMs],
      );
    },
    async bumpTag(tag) {
      return Number(await run(BUMP_TAG, [tagKey(tag)], [tagGenerationTtlMs]));
    },
    async lock(key, token, ttlMs) {
      return (await call('SET', lockKey(key), token, 'NX', 'PX', Math.max(1, Math.ceil(ttlMs)))) === 'OK';
    },
    async unlock(key, token) {
      await run(UNLOCK, [lockKey(key)], [token]);
    },
  };
  return tier;
}
