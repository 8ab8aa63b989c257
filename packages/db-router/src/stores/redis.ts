import { defineScript, scriptRunner, wholeNumberOption } from '@switchboard/hot-path';
import { InvalidCausalTokenError } from '../errors.ts';
import { decodeCausalToken, encodeCausalToken } from '../token.ts';
import type { CausalTokenStore } from '../types.ts';

/**
 * The one method the store needs of a Redis client. An ioredis instance (plain, Sentinel or
 * `Cluster`) has it; no ioredis code is imported at run time.
 */
export interface RedisCommandClient {
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
}

/** Options of `createRedisTokenStore`. */
export interface RedisTokenStoreOptions {
  /**
   * An ioredis client you created (plain, Sentinel or `Cluster`: every command names one key);
   * the store never closes it.
   */
  client: RedisCommandClient;
  /** Prefix of every key (`<prefix><key>`). @default 'switchboard:causal:' */
  prefix?: string;
  /**
   * How long a token is kept (ms, Redis `PX`). Past it, replicas have long replayed it; keep it
   * well above the router's `maxLagMs`. @default 60000
   */
  ttlMs?: number;
}

// Tokens are stored canonical (`v1.` + lowercase hex without leading zeros), so comparing WAL
// positions is: longer hex is larger, equal lengths compare as strings. A value that is not a
// token (written by something else) is replaced.
const ADVANCE = defineScript(`
local current = redis.call('GET', KEYS[1])
if current and string.sub(current, 1, 3) == 'v1.' then
  local old = string.sub(current, 4)
  local new = string.sub(ARGV[1], 4)
  if #old > #new or (#old == #new and old >= new) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`);

/**
 * Causal tokens in Redis, shared by every instance of the application: the user's next request
 * reads at least as fresh as their last write, whichever instance serves it. `advance` is one
 * EVALSHA (compare-and-set on the WAL position: a token never goes back, also when two instances
 * write for the same user at once); `get` is one GET.
 *
 * @example
 * import { createRedisTokenStore } from '@switchboard/db-router/redis';
 * const store = createRedisTokenStore({ client: redis, ttlMs: 60_000 });
 * const sessions = createCausalSessions({ router, store });
 */
export function createRedisTokenStore(options: RedisTokenStoreOptions): CausalTokenStore {
  const { client } = options;
  if (!client || typeof client.call !== 'function') {
    throw new TypeError('createRedisTokenStore: `client` must be an ioredis instance (it needs a `call` method)');
  }
  const prefix = options.prefix ?? 'switchboard:causal:';
  if (typeof prefix !== 'string') throw new TypeError('createRedisTokenStore: `prefix` must be a string');
  const ttlMs = wholeNumberOption('createRedisTokenStore', 'ttlMs', options.ttlMs ?? 60_000, { min: 1 });
  const runScript = scriptRunner(client);

  return {
    async get(key) {
      const value = await client.call('GET', `${prefix}${key}`);
      const text = typeof value === 'string' ? value : value instanceof Uint8Array ? Buffer.from(value).toString() : '';
      return decodeCausalToken(text) === undefined ? undefined : text;
    },
    async advance(key, token) {
      const lsn = decodeCausalToken(token);
      if (lsn === undefined) throw new InvalidCausalTokenError(token);
      const canonical = encodeCausalToken(lsn);
      await runScript(ADVANCE, [1, `${prefix}${key}`, canonical, ttlMs]);
    },
  };
}
