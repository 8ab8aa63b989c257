/**
 * @switchboard/ratelimit/graphql: rate-limit errors as GraphQL errors a client can act on, from
 * the package's one error table. Needs only the `graphql` peer.
 * @packageDocumentation
 */
import { GraphQLError } from 'graphql';
import { rateLimitErrorResponse } from './error-table.ts';
import type { RateLimitError } from './errors.ts';

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
  const { status, headers, message, extensions } = rateLimitErrorResponse(error);
  const { from } = options;
  return new GraphQLError(message, {
    ...(from?.nodes ? { nodes: from.nodes } : {}),
    ...(from?.source ? { source: from.source } : {}),
    ...(from?.positions ? { positions: from.positions } : {}),
    ...(from?.path ? { path: from.path } : {}),
    extensions: { ...extensions, http: Object.keys(headers).length > 0 ? { status, headers } : { status } },
  });
}
