import type { RateLimitErrorCode } from './errors.ts';

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
