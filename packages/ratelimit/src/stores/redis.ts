import { nodeOfSlotIn, redisSlot, scriptRunner } from '@switchboard/hot-path';
import { FIXED_WINDOW_BATCH_SCRIPT, GENERAL_SCRIPT } from '../algorithms/lua-script.ts';
import { bindStore } from '../bind-store.ts';
import { encodeKey, hashTagOf, isSafeShort, KEY_SEPARATOR, taggedKey } from '../keys.ts';
import { redisStoreTelemetry, type Telemetry, traceRedisStore } from '../telemetry.ts';
import type { AlgorithmKind, Decision, EvaluateMode, RateLimitStore, StoreEntry } from '../types.ts';
import { createCheckBatcher } from './redis-check-batch.ts';
import { createConsumeBatcher, type SendBatch } from './redis-consume-batch.ts';

/**
 * The one method we need of a Redis client. An ioredis instance (plain, Sentinel or `Cluster`)
 * has it; no ioredis code is imported at run time.
 */
export interface RedisCommandClient {
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
  /** ioredis' own EVALSHA: a little cheaper per call than the generic `call`; used when present. */
  evalsha?(sha1: string, numberOfKeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
  /** True on an ioredis `Cluster`: scripts then group their keys by slot. */
  readonly isCluster?: boolean;
  /** On an ioredis `Cluster`: its slot table, to batch a turn's checks per node (hot-path's cluster-node-batches.ts). */
  readonly slots?: readonly (readonly string[] | undefined)[] | undefined;
}

export interface RedisStoreOptions {
  /**
   * An ioredis client you created: plain, Sentinel or `Cluster` (told by its `isCluster`); the
   * store never closes it.
   */
  client: RedisCommandClient;
  /**
   * OpenTelemetry: a span per check, block and reset (`switchboard.ratelimit.consume`, `.peek`,
   * `.penalize`, `.block`, `.reset`), with the limiter's prefix, algorithm and answer.
   * @default false
   */
  telemetry?: Telemetry;
}

/**
 * A Redis store: every check, single or multi-key, is one round trip: an EVALSHA of a Lua
 * script, atomic, timed by the Redis server's clock (TIME, or key TTLs), keys expiring by
 * themselves. The checks of one event-loop turn share their EVALSHAs (each still decided alone,
 * in order). A script is sent with EVAL only when the server does not know it yet (first use,
 * restart, failover).
 *
 * Redis keys: `<prefix>|{<tag>}<rest>|<suffix>` — the hash tag is the encoded key (or the tag
 * the limiter's `hashTag` gave, the encoded key then following it), so a key's state and block
 * always share a slot. On a Redis Cluster a turn's checks are batched per node (hot-path's
 * cluster-node-batches.ts), and `consumeAll` refuses entries whose tags differ (`assertAtomic`).
 */
export function createRedisStore(options: RedisStoreOptions): RateLimitStore {
  const { client } = options;
  if (!client || typeof client.call !== 'function') {
    throw new TypeError('createRedisStore: `client` must be an ioredis instance (it needs a `call` method)');
  }
  const telemetry = redisStoreTelemetry(options.telemetry);

  const cluster = client.isCluster === true;
  // On a cluster a turn's checks are batched per node (cluster-node-batches.ts in the hot-path kit).
  const nodeOfSlot = cluster ? nodeOfSlotIn(client) : undefined;
  const run = scriptRunner(client);
  const general: SendBatch = (args) => run(GENERAL_SCRIPT, args);
  const checks = createCheckBatcher(
    general,
    (keys, entry) => {
      const redisKey = redisKeyOf(entry.key);
      keys.push(stateKey(redisKey, entry.algorithm.kind), blockKey(redisKey));
    },
    cluster ? (entry) => redisSlot(redisKeyOf(entry.key)) : undefined,
    nodeOfSlot,
  );
  const consumes = createConsumeBatcher((args) => run(FIXED_WINDOW_BATCH_SCRIPT, args), nodeOfSlot);
  // Call order holds across the two batchers and plain commands: Redis runs one connection's
  // commands in the order they are sent, so whatever waits in one batcher goes out before a
  // check joins the other, and both go out before a reset or a block.
  const flushBoth = () => {
    consumes.batches.flush();
    checks.batches.flush();
  };

  const store: RateLimitStore = {
    evaluate(mode: EvaluateMode, entries: readonly StoreEntry[]): Promise<Decision[]> {
      if (consumes.batches.pending) consumes.batches.flush();
      return checks.check(mode, entries);
    },
    async reset(keys) {
      if (keys.length === 0) return;
      flushBoth();
      const redisKeysOf = (key: string) => {
        const redisKey = redisKeyOf(key);
        return [...ALL_STATE_SUFFIXES.map((suffix) => stateKeyWith(redisKey, suffix)), blockKey(redisKey)];
      };
      // On a cluster one DEL per key (its keys share a slot; different keys seldom do).
      if (cluster) await Promise.all(keys.map((key) => client.call('DEL', ...redisKeysOf(key))));
      else await client.call('DEL', ...keys.flatMap(redisKeysOf));
    },
    async block(key, durationMs) {
      flushBoth();
      // A block is a key that expires when the block ends.
      await client.call('SET', blockKey(redisKeyOf(key)), '1', 'PX', Math.max(1, Math.ceil(durationMs)));
    },
    assertAtomic(entries) {
      if (!cluster || entries.length < 2) return;
      const tags = new Set(entries.map((entry) => hashTagIn(redisKeyOf(entry.key))));
      if (tags.size > 1)
        throw new TypeError(
          `consumeAll on a Redis Cluster: these entries' keys lie in different slots (hash tags ${[...tags].map((tag) => JSON.stringify(tag)).join(', ')}), so one atomic script cannot decide them. Give the limiters a \`hashTag\` option that maps each of these keys to the same tag, e.g. hashTag: (key) => key.split(':')[0] for keys 'userId' and 'userId:chatId'.`,
        );
    },
    // Fixed windows get the batch script of their own (a counter, no clock read); the other
    // algorithms the general script, through `evaluate`.
    bind(prefix, algorithm, bindOptions) {
      if (algorithm.kind !== 'fixed-window') return bindStore(store, prefix, algorithm, bindOptions);
      const [limit, windowMs] = algorithm.params;
      const consume = consumes.consumer(
        fixedWindowParams(limit, windowMs, bindOptions.blockDurationMs),
        algorithm.limit,
        bindOptions,
      );
      const head = `${prefix}${KEY_SEPARATOR}`;
      const { hashTag } = bindOptions;
      return {
        consume(key, cost) {
          if (checks.batches.pending) checks.batches.flush();
          const encoded = isSafeShort(key) ? key : encodeKey(key);
          const redisKey =
            hashTag === undefined
              ? `${head}{${encoded}}`
              : head + taggedKey(encodeKey(hashTagOf(hashTag, key)), encoded);
          const state = stateKey(redisKey, 'fixed-window');
          return consume(state, blockKey(redisKey), key, cost, cluster ? redisSlot(state) : undefined);
        },
      };
    },
  };
  return telemetry ? traceRedisStore(telemetry, store) : store;
}

/** The fixed-window script's parameter set: limit, window and block duration in whole ms. */
const fixedWindowParams = (limit: number, windowMs: number, blockDurationMs: number): [number, number, number] => [
  Math.floor(limit),
  Math.ceil(windowMs),
  Math.ceil(blockDurationMs),
];

// The algorithm is part of the state key: limiters of different algorithms (a rolling deploy
// that changes one) never read each other's state in the wrong format.
const STATE_SUFFIX: Record<AlgorithmKind, string> = {
  'fixed-window': 'fw',
  'sliding-window-log': 'swl',
  'sliding-window-counter': 'swc',
  'token-bucket': 'tb',
  gcra: 'gcra',
};
const ALL_STATE_SUFFIXES = Object.values(STATE_SUFFIX);
// `redisKey` is a storage key as Redis stores it (`redisKeyOf`).
const stateKeyWith = (redisKey: string, suffix: string) => `${redisKey}|${suffix}`;
const stateKey = (redisKey: string, kind: AlgorithmKind) => stateKeyWith(redisKey, STATE_SUFFIX[kind]);
const blockKey = (redisKey: string) => `${redisKey}|b`;

/**
 * A storage key (`<prefix>|<encoded key>`, or `<prefix>|{<tag>}<encoded key>` from a limiter
 * with `hashTag`) as Redis stores it: always with a hash tag, the encoded key being its own tag
 * unless the limiter gave one. Encoded keys and prefixes never contain braces, so a `{` after
 * the separator is always a limiter's tag.
 */
function redisKeyOf(storageKey: string): string {
  const bar = storageKey.indexOf(KEY_SEPARATOR);
  if (storageKey.charCodeAt(bar + 1) === OPEN_BRACE) return storageKey;
  return `${storageKey.slice(0, bar + 1)}{${storageKey.slice(bar + 1)}}`;
}

const OPEN_BRACE = 123;

/** The hash tag of a key as Redis stores it (what `redisKeyOf` put between the first braces). */
function hashTagIn(redisKey: string): string {
  const open = redisKey.indexOf('{');
  return redisKey.slice(open + 1, redisKey.indexOf('}', open + 1));
}
