import {
  ARGS_PER_ENTRY,
  FIXED_WINDOW_BATCH_SCRIPT,
  GENERAL_SCRIPT,
  KIND_CODE,
  type LuaScript,
} from '../algorithms/lua-script.ts';
import type { Algorithm, AlgorithmKind, Decision, EvaluateMode, RateLimitStore, StoreEntry } from '../types.ts';
import { REDIS_FIXED_WINDOW, type RedisConsume, type RedisConsumeHooks } from './fast-paths.ts';
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
}

/**
 * A Redis store: every check, single or multi-key, is one EVALSHA of a Lua script: atomic,
 * timed by the Redis server's clock (TIME, or key TTLs), keys expiring by themselves. A script
 * is sent with EVAL only when the server does not know it yet (first use, restart, failover).
 */
export function createRedisStore(options: RedisStoreOptions): RateLimitStore {
  const { client } = options;
  if (!client || typeof client.call !== 'function') {
    throw new TypeError('createRedisStore: `client` must be an ioredis instance (it needs a `call` method)');
  }

  // One `.then` from the reply to the decoded result: at 100k checks/s every promise hop shows.
  const run = <T>(
    script: LuaScript,
    keys: string[],
    args: (string | number)[],
    decode: (reply: unknown) => T,
  ): Promise<T> =>
    client.call('EVALSHA', script.sha1, keys.length, ...keys, ...args).then(decode, (error: unknown) => {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      // EVAL also caches the script, so the next EVALSHA succeeds.
      return client.call('EVAL', script.source, keys.length, ...keys, ...args).then(decode);
    });

  const evalsha = typeof client.evalsha === 'function' ? client.evalsha.bind(client) : undefined;
  // The fixed-window script, by SHA1, with EVAL when Redis does not know it yet.
  const sendFixedWindow: SendBatch = (args) => {
    const { sha1, source } = FIXED_WINDOW_BATCH_SCRIPT;
    const sent = evalsha
      ? evalsha(sha1, ...(args as [number, ...(string | number)[]]))
      : client.call('EVALSHA', sha1, ...args);
    return sent.catch((error: unknown) => {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return client.call('EVAL', source, ...args);
    });
  };
  // A lone fixed-window consume through `evaluate` (the limiter batches its own): the batch
  // script with one check.
  const consumeFixedWindow = (entry: StoreEntry): Promise<Decision[]> => {
    const [limit, windowMs] = entry.algorithm.params;
    return sendFixedWindow([
      2,
      stateKey(entry.key, 'fixed-window'),
      blockKey(entry.key),
      1,
      ...fixedWindowParams(limit, windowMs, entry.blockDurationMs),
      1,
      entry.cost,
    ]).then((reply) => {
      if (!Array.isArray(reply) || reply.length !== 3) {
        throw new Error(`unexpected reply from the rate-limit script: ${JSON.stringify(reply)}`);
      }
      const allowed = reply[0] === 1;
      const resetMs = Number(reply[2]);
      return [{ allowed, remaining: Number(reply[1]), resetMs, retryAfterMs: allowed ? 0 : resetMs }];
    });
  };
  const batchedConsumer = createConsumeBatcher(sendFixedWindow);
  const fixedWindowConsumer = (
    prefix: string,
    algorithm: Algorithm,
    blockDurationMs: number,
    hooks: RedisConsumeHooks,
  ): RedisConsume => {
    const [limit, windowMs] = algorithm.params;
    return batchedConsumer(prefix, fixedWindowParams(limit, windowMs, blockDurationMs), algorithm.limit, hooks);
  };

  const store: RateLimitStore = {
    evaluate(mode: EvaluateMode, entries: readonly StoreEntry[]): Promise<Decision[]> {
      const only = entries[0];
      if (entries.length === 1 && only && mode === 'consume' && only.algorithm.kind === 'fixed-window') {
        return consumeFixedWindow(only);
      }
      const keys: string[] = [];
      const args: (string | number)[] = [mode];
      for (const entry of entries) {
        keys.push(stateKey(entry.key, entry.algorithm.kind), blockKey(entry.key));
        const [p1, p2, p3] = entry.algorithm.params;
        args.push(KIND_CODE[entry.algorithm.kind], entry.cost, entry.blockDurationMs, p1, p2, p3);
      }
      if (args.length !== 1 + entries.length * ARGS_PER_ENTRY) {
        return Promise.reject(new Error('rate-limit script arguments out of shape'));
      }
      return run(GENERAL_SCRIPT, keys, args, (reply) => {
        if (!Array.isArray(reply) || reply.length !== entries.length) {
          throw new Error(`unexpected reply from the rate-limit script: ${JSON.stringify(reply)}`);
        }
        return reply.map(toDecision);
      });
    },
    async reset(keys) {
      if (keys.length === 0) return;
      await client.call(
        'DEL',
        ...keys.flatMap((key) => [...ALL_STATE_SUFFIXES.map((suffix) => `${key}|${suffix}`), blockKey(key)]),
      );
    },
    async block(key, durationMs) {
      // A block is a key that expires when the block ends.
      await client.call('SET', blockKey(key), '1', 'PX', Math.max(1, Math.ceil(durationMs)));
    },
  };
  // Not enumerable and not in the type: an internal protocol between this store and the limiter.
  Object.defineProperty(store, REDIS_FIXED_WINDOW, { value: fixedWindowConsumer, enumerable: false });
  return store;
}

/** The fixed-window script's parameter set: limit, window and block duration in whole ms. */
const fixedWindowParams = (limit: number, windowMs: number, blockDurationMs: number): [number, number, number] => [
  Math.floor(limit),
  Math.ceil(windowMs),
  Math.ceil(blockDurationMs),
];

function toDecision(row: unknown): Decision {
  if (!Array.isArray(row) || row.length !== 4)
    throw new Error(`unexpected reply from the rate-limit script: ${JSON.stringify(row)}`);
  return {
    allowed: row[0] === 1,
    remaining: Math.max(0, Number(row[1])),
    resetMs: Math.max(0, Number(row[2])),
    retryAfterMs: Math.max(0, Number(row[3])),
  };
}

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
