/**
 * @switchboard/ratelimit/graphql: rate-limit errors as GraphQL errors a client can act on, from
 * the package's one error table. Needs only the `graphql` peer.
 * @packageDocumentation
 */
import { GraphQLError } from 'graphql';
import { RATE_LIMIT_ERROR_TABLE } from './error-table.ts';
import { isRateLimitedError, type RateLimitError } from './errors.ts';

export { RATE_LIMIT_ERROR_TABLE, type RateLimitErrorMapping } from './error-table.ts';

/** Options of {@link toGraphQLError}. */
export interface ToGraphQLErrorOptions {
  /** The error graphql-js wrapped the rate-limit error in: supplies `path`, `locations` and source. */
  from?: GraphQLError;
}

/**
 * The GraphQL error for an error of this package, from `RATE_LIMIT_ERROR_TABLE`:
 * `extensions.code` is the error's `code` (`RATE_LIMITED`, `STORE_UNAVAILABLE`,
 * `STORE_TIMEOUT`). A refusal also carries `extensions.retryAfterMs` and, over HTTP, status 429
 * with a `Retry-After` header (whole seconds, at least 1); store failures get status 503. The
 * error is not attached as `originalError`: graphql-yoga masks a GraphQL error that wraps a
 * non-GraphQL one.
 *
 * @example
 * const result = await limiter.consume(userId);
 * if (!result.allowed) throw toGraphQLError(new RateLimitedError(result));
 */
export function toGraphQLError(error: RateLimitError, options: ToGraphQLErrorOptions = {}): GraphQLError {
  const { status, graphqlCode } = RATE_LIMIT_ERROR_TABLE[error.code] ?? RATE_LIMIT_ERROR_TABLE.STORE_UNAVAILABLE;
  const { from } = options;
  const located = {
    ...(from?.nodes ? { nodes: from.nodes } : {}),
    ...(from?.source ? { source: from.source } : {}),
    ...(from?.positions ? { positions: from.positions } : {}),
    ...(from?.path ? { path: from.path } : {}),
  };
  if (isRateLimitedError(error)) {
    const { retryAfterMs } = error;
    // Retry-After counts whole seconds; rounding down would invite a retry that is still too early.
    const retryAfter = String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
    return new GraphQLError(error.message, {
      ...located,
      extensions: { code: graphqlCode, retryAfterMs, http: { status, headers: { 'Retry-After': retryAfter } } },
    });
  }
  return new GraphQLError(error.message, { ...located, extensions: { code: graphqlCode, http: { status } } });
}
