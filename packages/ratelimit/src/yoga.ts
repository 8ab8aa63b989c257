/**
 * @switchboard/ratelimit/yoga: graphql-yoga / envelop plugins (per-field rules with `useRateLimit`, a
 * budget for every operation with `useOperationRateLimit`). Their refusals come from the error
 * table of `@switchboard/ratelimit/graphql`. Peers: `graphql`, `graphql-yoga`.
 * @packageDocumentation
 */
import {
  defaultFieldResolver,
  type GraphQLFieldResolver,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLResolveInfo,
  type GraphQLSchema,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { RateLimitedError } from './errors.ts';
import { toGraphQLError as graphqlToGraphQLError } from './graphql.ts';
import { rateLimitHeaders } from './headers.ts';
import { consumeAll, type RateLimiter } from './rate-limiter.ts';
import type { RateLimitResult } from './types.ts';

/**
 * @deprecated Import `toGraphQLError` from `@switchboard/ratelimit/graphql` (needs only
 * `graphql`); this re-export goes away in the next minor release.
 */
export const toGraphQLError: typeof graphqlToGraphQLError = graphqlToGraphQLError;
export { createOperationCost, type OperationCostFunction, type OperationCostOptions } from './operation-cost.ts';
export { type UseOperationRateLimitOptions, useOperationRateLimit } from './operation-rate-limit.ts';

/** What a rule's `key` function sees. */
export interface RateLimitRuleContext<Context> {
  args: Record<string, unknown>;
  context: Context;
  info: GraphQLResolveInfo;
}

/** One limit on one field. */
export interface RateLimitCheck<Context> {
  limiter: RateLimiter;
  /**
   * The key this request counts against, e.g. the user id, or `${ip}:${username}` for login.
   * Return `null` to skip this limit (e.g. no user: authentication refuses elsewhere).
   */
  key: (ctx: RateLimitRuleContext<Context>) => string | null | Promise<string | null>;
  /** @default 1 */
  cost?: number | ((ctx: RateLimitRuleContext<Context>) => number);
}

export interface UseRateLimitOptions<Context> {
  /**
   * Limits per field, keyed `Type.field`. Several limits on one field are checked all or nothing
   * in one store round trip (their limiters must share a store).
   *
   * @example { 'Mutation.sendMessage': [{ limiter: perUser, key: ({ context }) => context.userId }] }
   */
  rules: Record<string, RateLimitCheck<Context> | RateLimitCheck<Context>[]>;
  /** The message of the GraphQL error. @default 'Too many requests, please retry later.' */
  message?: string;
  /**
   * Set `RateLimit` / `RateLimit-Policy` (IETF draft) on HTTP responses, for the limit with the
   * fewest requests left among those a request was checked against (named by its limiter's
   * prefix). @default true
   */
  headers?: boolean;
}

const wrapped = new WeakSet<GraphQLSchema>();

/**
 * graphql-yoga / envelop plugin: checks the configured limits before a field resolves. A
 * refusal becomes a GraphQL error with `extensions.code: 'RATE_LIMITED'`, `extensions.retryAfterMs`
 * and, over HTTP, status 429 with a `Retry-After` header; the field's resolver does not run.
 */
export function useRateLimit<Context = Record<string, unknown>>(options: UseRateLimitOptions<Context>): Plugin {
  const rules = new Map(
    Object.entries(options.rules).map(([coordinate, checks]) => {
      if (!/^[_A-Za-z][_0-9A-Za-z]*\.[_A-Za-z][_0-9A-Za-z]*$/.test(coordinate)) {
        throw new TypeError(`useRateLimit: rule keys look like 'Type.field', got '${coordinate}'`);
      }
      return [coordinate, Array.isArray(checks) ? checks : [checks]] as const;
    }),
  );
  const message = options.message ?? 'Too many requests, please retry later.';
  const closest = options.headers === false ? undefined : new WeakMap<Request, Tightest>();

  return {
    onResponse({ request, response }) {
      const tightest = closest?.get(request);
      if (!tightest) return;
      const headers = rateLimitHeaders(tightest.result, {
        policy: tightest.limiter.prefix,
        windowMs: tightest.limiter.algorithm.windowMs,
      });
      // Retry-After comes with the refusal's GraphQL error (its `http.headers`), which yoga
      // adds itself; setting it here too made Node's adapter send "60, 60".
      for (const [name, value] of Object.entries(headers)) {
        if (name !== 'Retry-After') response.headers.set(name, value);
      }
    },
    onSchemaChange(payload) {
      const schema = payload.schema as GraphQLSchema;
      if (wrapped.has(schema)) return;
      wrapped.add(schema);
      const missing = new Set(rules.keys());
      for (const type of Object.values(schema.getTypeMap())) {
        if (!isObjectType(type) || type.name.startsWith('__')) continue;
        for (const field of Object.values(type.getFields())) {
          const coordinate = `${type.name}.${field.name}`;
          const checks = rules.get(coordinate);
          if (!checks) continue;
          missing.delete(coordinate);
          field.resolve = limitResolver(field.resolve ?? defaultFieldResolver, checks, message, closest);
        }
      }
      if (missing.size > 0) {
        // A typo in a rule would silently leave a field unprotected.
        throw new TypeError(`useRateLimit: no such field in the schema: ${[...missing].join(', ')}`);
      }
    },
  };
}

// By tag, not instanceof: the schema may come from another copy of graphql than ours.
function isObjectType(type: GraphQLNamedType): type is GraphQLObjectType {
  return (type as { [Symbol.toStringTag]?: string })[Symbol.toStringTag] === 'GraphQLObjectType';
}

interface Tightest {
  limiter: RateLimiter;
  result: RateLimitResult;
}

/** Keeps, per HTTP request, the checked limit with the fewest requests left (refusals first). */
function remember(
  closest: WeakMap<Request, Tightest>,
  request: Request,
  limiters: RateLimiter[],
  results: RateLimitResult[],
) {
  let tightest = closest.get(request);
  results.forEach((result, i) => {
    const limiter = limiters[i] as RateLimiter;
    const current = tightest?.result;
    if (
      !current ||
      (current.allowed && !result.allowed) ||
      (current.allowed === result.allowed && result.remaining < current.remaining)
    ) {
      tightest = { limiter, result };
    }
  });
  if (tightest) closest.set(request, tightest);
}

function limitResolver<Context>(
  resolve: GraphQLFieldResolver<unknown, Context>,
  checks: RateLimitCheck<Context>[],
  message: string,
  closest: WeakMap<Request, Tightest> | undefined,
): GraphQLFieldResolver<unknown, Context> {
  return async (source, args, context, info) => {
    const ctx: RateLimitRuleContext<Context> = { args, context, info };
    const entries = [];
    for (const check of checks) {
      const key = await check.key(ctx);
      if (key === null) continue;
      const cost = typeof check.cost === 'function' ? check.cost(ctx) : (check.cost ?? 1);
      entries.push({ limiter: check.limiter, key, cost });
    }
    if (entries.length > 0) {
      const outcome = await consumeAll(entries);
      const request = (context as { request?: Request } | null)?.request;
      if (closest && request) {
        remember(
          closest,
          request,
          entries.map((entry) => entry.limiter),
          outcome.results,
        );
      }
      if (!outcome.allowed) {
        const { retryAfterMs } = outcome;
        const refusing = outcome.results.find((result) => !result.allowed) as RateLimitResult;
        throw graphqlToGraphQLError(new RateLimitedError({ retryAfterMs, limit: refusing.limit, message }));
      }
    }
    return resolve(source, args, context, info);
  };
}
