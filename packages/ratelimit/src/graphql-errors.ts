import type { GraphQLError } from 'graphql';
// Through yoga, so the error belongs to the graphql instance yoga checks it against.
import { createGraphQLError } from 'graphql-yoga';
import { isRateLimitedError, type RateLimitError, type RateLimitErrorCode } from './errors.ts';

// The one table from this package's error codes to what a GraphQL client sees: both yoga plugins
// (per field and per operation) map their refusals through it, and so can an application's
// `maskError`.
const HTTP_STATUS: Readonly<Record<RateLimitErrorCode, number>> = {
  RATE_LIMITED: 429,
  STORE_UNAVAILABLE: 503,
  STORE_TIMEOUT: 503,
};

/**
 * The GraphQL error for an error of this package: `extensions.code` is the error's `code`
 * (`RATE_LIMITED`, `STORE_UNAVAILABLE`, `STORE_TIMEOUT`). A refusal also carries
 * `extensions.retryAfterMs` and, over HTTP, status 429 with a `Retry-After` header (whole
 * seconds, at least 1); store failures get status 503.
 *
 * @example
 * const result = await limiter.consume(userId);
 * if (!result.allowed) throw toGraphQLError(new RateLimitedError(result));
 */
export function toGraphQLError(error: RateLimitError): GraphQLError {
  const status = HTTP_STATUS[error.code];
  if (isRateLimitedError(error)) {
    const { retryAfterMs } = error;
    return createGraphQLError(error.message, {
      extensions: {
        code: error.code,
        retryAfterMs,
        http: { status, headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) } },
      },
    });
  }
  return createGraphQLError(error.message, { extensions: { code: error.code, http: { status } } });
}
