import type { ValidationErrorCode } from './errors.ts';

/** How one {@link ValidationErrorCode} reaches a client. */
export interface ValidationErrorMapping {
  /** HTTP status of a response failing with this error (unless `httpStatus` says otherwise). */
  readonly status: 400;
  /** GraphQL `extensions.code`. */
  readonly graphqlCode: 'BAD_USER_INPUT';
}

/**
 * The one table from every {@link ValidationErrorCode} to what a client sees: HTTP status and
 * GraphQL `extensions.code`. `toGraphQLError` (from `@switchboard/validation/graphql`) and the
 * yoga plugins read it; adapters of other frameworks should too, so that no second mapping
 * drifts from this one.
 */
export const VALIDATION_ERROR_TABLE: { readonly [Code in ValidationErrorCode]: ValidationErrorMapping } = Object.freeze(
  {
    VALIDATION_FAILED: Object.freeze({ status: 400, graphqlCode: 'BAD_USER_INPUT' }),
  },
);
