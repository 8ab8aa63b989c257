import { ARGS_PER_ENTRY, KIND_CODE, RATE_LIMIT_LUA, RATE_LIMIT_LUA_SHA1 } from '../algorithms/lua-script.ts';
import type { Decision, EvaluateMode, RateLimitStore, StoreEntry } from '../types.ts';

/**
 * The one method we need of a Redis client. An ioredis instance (plain, Sentinel or Cluster)
 * has it; no ioredis code is imported at run time.
 */
export interface RedisCommandClient {
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
}

export interface RedisStoreOptions {
  /** An ioredis client you created (plain or Sentinel); the store never closes it. */
  client: RedisCommandClient;
}

/**
 * A Redis store: every check, single or multi-key, is one EVALSHA of one Lua script: atomic,
 * timed by the Redis server's clock (TIME), keys expiring by themselves. The script is sent
 * with EVAL only when the server does not know it yet (first use, restart, failover).
 */
export function createRedisStore(options: RedisStoreOptions): RateLimitStore {
  const { client } = options;
  if (!client || typeof client.call !== 'function') {
    throw new TypeError('createRedisStore: `client` must be an ioredis instance (it needs a `call` method)');
  }

  const run = async (keys: string[], args: (string | number)[]): Promise<unknown> => {
    try {
      return await client.call('EVALSHA', RATE_LIMIT_LUA_SHA1, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      // EVAL also caches the script, so the next EVALSHA succeeds.
      return client.call('EVAL', RATE_LIMIT_LUA, keys.length, ...keys, ...args);
    }
  };

  return {
    async evaluate(mode: EvaluateMode, entries: readonly StoreEntry[]): Promise<Decision[]> {
      const keys: string[] = [];
      const args: (string | number)[] = [mode];
      for (const entry of entries) {
        keys.push(stateKey(entry.key), blockKey(entry.key));
        const [p1, p2, p3] = entry.algorithm.params;
        args.push(KIND_CODE[entry.algorithm.kind], entry.cost, entry.blockDurationMs, p1, p2, p3);
      }
      if (args.length !== 1 + entries.length * ARGS_PER_ENTRY) throw new Error('rate-limit script arguments out of shape');
      const reply = await run(keys, args);
      if (!Array.isArray(reply) || reply.length !== entries.length) {
        throw new Error(`unexpected reply from the rate-limit script: ${JSON.stringify(reply)}`);
      }
      return reply.map((row) => {
        const [allowed, remaining, resetMs, retryAfterMs] = (row as unknown[]).map(Number);
        return {
          allowed: allowed === 1,
          remaining: remaining ?? 0,
          resetMs: Math.max(0, resetMs ?? 0),
          retryAfterMs: Math.max(0, retryAfterMs ?? 0),
        };
      });
    },
    async reset(keys) {
      if (keys.length === 0) return;
      await client.call('DEL', ...keys.flatMap((key) => [stateKey(key), blockKey(key)]));
    },
    async block(key, durationMs) {
      await client.call('SET', blockKey(key), '1', 'PX', Math.max(1, Math.ceil(durationMs)));
    },
  };
}

const stateKey = (key: string) => `${key}|s`;
const blockKey = (key: string) => `${key}|b`;
