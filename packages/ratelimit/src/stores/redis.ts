import { scriptRunner } from '@switchboard/hot-path';
import { FIXED_WINDOW_BATCH_SCRIPT, GENERAL_SCRIPT } from '../algorithms/lua-script.ts';
import { bindStore } from '../bind-store.ts';
import { encodeKey, isSafeShort, joinStorageKey } from '../keys.ts';
import { redisStoreTelemetry, type Telemetry, traceRedisStore } from '../telemetry.ts';
import type { AlgorithmKind, Decision, EvaluateMode, RateLimitStore, StoreEntry } from '../types.ts';
import { createCheckBatcher } from './redis-check-batch.ts';
import { createConsumeBatcher, type SendBatch } from './redis-consume-batch.ts';

/**
 * The one method we need of a Redis client. An ioredis instance (plain or Sentinel) has it; no
 * ioredis code is imported at run time.
 */
export interface RedisCommandClient {
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
  /** ioredis' own EVALSHA: a little cheaper per call than the generic `call`; used when present. */
  evalsha?(sha1: string, numberOfKeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown>;
}

export interface RedisStoreOptions {
  /** An ioredis client you created (plain or Sentinel); the store never closes it. */
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
 */
export function createRedisStore(options: RedisStoreOptions): RateLimitStore {
  const { client } = options;
  if (!client || typeof client.call !== 'function') {
    throw new TypeError('createRedisStore: `client` must be an ioredis instance (it needs a `call` method)');
  }
  const telemetry = redisStoreTelemetry(options.telemetry);

  const run = scriptRunner(client);
  const general: SendBatch = (args) => run(GENERAL_SCRIPT, args);
  const checks = createCheckBatcher(
    general,
    (entry) => stateKey(entry.key, entry.algorithm.kind),
    (entry) => blockKey(entry.key),
  );
  const consumes = createConsumeBatcher((args) => run(FIXED_WINDOW_BATCH_SCRIPT, args));
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
      await client.call(
        'DEL',
        ...keys.flatMap((key) => [...ALL_STATE_SUFFIXES.map((suffix) => `${key}|${suffix}`), blockKey(key)]),
      );
    },
    async block(key, durationMs) {
      flushBoth();
      // A block is a key that expires when the block ends.
      await client.call('SET', blockKey(key), '1', 'PX', Math.max(1, Math.ceil(durationMs)));
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
      return {
        consume(key, cost) {
          if (checks.batches.pending) checks.batches.flush();
          const storage = joinStorageKey(prefix, isSafeShort(key) ? key : encodeKey(key));
          return consume(stateKey(storage, 'fixed-window'), blockKey(storage), key, cost);
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
const stateKey = (key: string, kind: AlgorithmKind) => `${key}|${STATE_SUFFIX[kind]}`;
const blockKey = (key: string) => `${key}|b`;
