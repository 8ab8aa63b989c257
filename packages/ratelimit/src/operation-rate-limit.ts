import type { ExecutionArgs, ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { RateLimitedError } from './errors.ts';
import { toGraphQLError } from './graphql.ts';
import { createOperationCost, type OperationCostFunction } from './operation-cost.ts';
import type { RateLimiter } from './rate-limiter.ts';

/** Options of {@link useOperationRateLimit}. */
export interface UseOperationRateLimitOptions<Context> {
  /** The budget every operation is charged against. */
  limiter: RateLimiter;
  /**
   * Whose budget an operation spends, from the execution context (after yoga's context
   * building, so what your auth plugin adds is there): typically `user:<id>` for a signed-in
   * user and `ip:<ipKey(address)>` otherwise. Prefix the kinds so that they cannot collide.
   * `null`, `undefined` or `''` mean "no key": see `fallbackKey`.
   */
  key: (context: Context) => string | null | undefined | Promise<string | null | undefined>;
  /**
   * Points an operation costs. Called once per operation with its document, variables and
   * operation name. Rounded up; an operation costlier than the whole budget costs the whole
   * budget; 0 charges nothing.
   * @default createOperationCost(): a field count with list multipliers, analysed once per document
   */
  cost?: OperationCostFunction;
  /**
   * The key charged when `key` returns none, shared by every such operation (so a bug or an
   * unknown address cannot make operations free). `null` charges such operations nothing.
   * @default 'unkeyed'
   */
  fallbackKey?: string | null;
  /** The message of the GraphQL error. @default 'Too many requests, please retry later.' */
  message?: string;
}

/**
 * graphql-yoga / envelop plugin: charges every operation (query, mutation or subscription)
 * once against one budget, before it runs: a query or mutation when it executes, a
 * subscription when it starts (its events are never charged). The charge is the operation's
 * `cost` (by default a field count with list multipliers) under `key(context)`. Past the
 * budget, the operation does not run and gets the package's refusal: `extensions.code:
 * 'RATE_LIMITED'`, `extensions.retryAfterMs`, and over HTTP status 429 with `Retry-After`.
 *
 * Use it with `useRateLimit` (per-field limits such as messages per chat): both apply, the
 * operation budget first. Documents that fail to parse or validate never execute and are not
 * charged; bound them with the validation limits of your server (tokens, depth).
 *
 * @example
 * useOperationRateLimit<{ userId?: string; ip: string }>({
 *   limiter: createRateLimiter({ store, algorithm: tokenBucket({ capacity: 500, refillPerSecond: 10 }), prefix: 'ops' }),
 *   key: (context) => (context.userId ? `user:${context.userId}` : `ip:${ipKey(context.ip)}`),
 * });
 */
export function useOperationRateLimit<Context = Record<string, unknown>>(
  options: UseOperationRateLimitOptions<Context>,
): Plugin {
  const { limiter, key } = options ?? {};
  if (!limiter || typeof limiter.consume !== 'function' || !limiter.algorithm) {
    throw new TypeError('useOperationRateLimit: `limiter` must come from createRateLimiter()');
  }
  if (typeof key !== 'function') throw new TypeError('useOperationRateLimit: `key` must be a function');
  const cost = options.cost ?? createOperationCost();
  if (typeof cost !== 'function') throw new TypeError('useOperationRateLimit: `cost` must be a function');
  const fallbackKey = options.fallbackKey === undefined ? 'unkeyed' : options.fallbackKey;
  if (fallbackKey !== null && (typeof fallbackKey !== 'string' || fallbackKey.length === 0)) {
    throw new TypeError('useOperationRateLimit: `fallbackKey` must be a non-empty string or null');
  }
  const message = options.message ?? 'Too many requests, please retry later.';
  // The most one operation can be charged: a cost above the limit could never be paid.
  const budget = Math.floor(limiter.algorithm.limit);

  const charge = async (args: ExecutionArgs, stop: (result: ExecutionResult) => void): Promise<void> => {
    const chargedKey = (await key(args.contextValue as Context)) || fallbackKey;
    if (!chargedKey) return;
    const points = pointsOf(
      cost(args.document, (args.variableValues ?? {}) as Record<string, unknown>, args.operationName),
      budget,
    );
    if (points === 0) return;
    const result = await limiter.consume(chargedKey, { cost: points });
    if (!result.allowed) {
      stop({
        errors: [
          toGraphQLError(new RateLimitedError({ retryAfterMs: result.retryAfterMs, limit: result.limit, message })),
        ],
      });
    }
  };

  return {
    onExecute: ({ args, setResultAndStopExecution }) => charge(args, setResultAndStopExecution),
    onSubscribe: ({ args, setResultAndStopExecution }) => charge(args, setResultAndStopExecution),
  };
}

function pointsOf(cost: number, budget: number): number {
  if (typeof cost !== 'number' || Number.isNaN(cost) || cost < 0) {
    throw new TypeError(`useOperationRateLimit: cost must be a number >= 0, got ${String(cost)}`);
  }
  return Math.min(budget, Math.ceil(cost));
}
