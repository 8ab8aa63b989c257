import { isRateLimitedError, type RateLimitError, type RateLimitErrorCode } from './errors.ts';

/** How one {@link RateLimitErrorCode} reaches a client. */
export interface RateLimitErrorMapping {
  /** HTTP status of a response failing with this error. */
  readonly status: 429 | 503;
  /** GraphQL `extensions.code`: the error's own code, which clients already branch on. */
  readonly graphqlCode: RateLimitErrorCode;
}

/**
 * The one table from every {@link RateLimitErrorCode} to what a client sees. `toGraphQLError`
 * (from `@switchboard/ratelimit/graphql`) and both yoga plugins read it; adapters of other
 * frameworks should too, so that no second mapping drifts from this one.
 */
export const RATE_LIMIT_ERROR_TABLE: { readonly [Code in RateLimitErrorCode]: RateLimitErrorMapping } = Object.freeze({
  RATE_LIMITED: Object.freeze({ status: 429, graphqlCode: 'RATE_LIMITED' }),
  STORE_UNAVAILABLE: Object.freeze({ status: 503, graphqlCode: 'STORE_UNAVAILABLE' }),
  STORE_TIMEOUT: Object.freeze({ status: 503, graphqlCode: 'STORE_TIMEOUT' }),
});

/** What a client receives for a rate-limit error, whatever the transport. */
export interface RateLimitErrorResponse {
  status: RateLimitErrorMapping['status'];
  /** `Retry-After` (whole seconds, rounded up) when refused past the limit. */
  headers: Record<string, string>;
  message: string;
  /** GraphQL `extensions` (also a fine JSON error body): `code`, and `retryAfterMs` past the limit. */
  extensions: { code: RateLimitErrorCode; retryAfterMs?: number };
}

/**
 * The response for a rate-limit error, from {@link RATE_LIMIT_ERROR_TABLE}: for HTTP adapters;
 * GraphQL servers use `toGraphQLError` from `@switchboard/ratelimit/graphql`, built on it.
 */
export function rateLimitErrorResponse(error: RateLimitError): RateLimitErrorResponse {
  const { status, graphqlCode } = RATE_LIMIT_ERROR_TABLE[error.code] ?? RATE_LIMIT_ERROR_TABLE.STORE_UNAVAILABLE;
  if (!isRateLimitedError(error))
    return { status, headers: {}, message: error.message, extensions: { code: graphqlCode } };
  const { retryAfterMs } = error;
  // Retry-After counts whole seconds; rounding down would invite a retry that is still too early.
  const retryAfter = String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
  return {
    status,
    headers: { 'Retry-After': retryAfter },
    message: error.message,
    extensions: { code: graphqlCode, retryAfterMs },
  };
}
