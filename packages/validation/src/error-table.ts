import type { ValidationError, ValidationErrorCode, ValidationIssue } from './errors.ts';

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

/** What a client receives for a validation error, whatever the transport. */
export interface ValidationErrorResponse {
  status: ValidationErrorMapping['status'];
  message: string;
  /** GraphQL `extensions` (also a fine JSON error body): `code` and every issue `{ path, message }`. */
  extensions: { code: ValidationErrorMapping['graphqlCode']; issues: ValidationIssue[] };
}

/**
 * The response for a validation error, from {@link VALIDATION_ERROR_TABLE}: for HTTP adapters;
 * GraphQL servers use `toGraphQLError` from `@switchboard/validation/graphql`, built on it.
 */
export function validationErrorResponse(error: ValidationError): ValidationErrorResponse {
  const mapping = VALIDATION_ERROR_TABLE[error.code] ?? VALIDATION_ERROR_TABLE.VALIDATION_FAILED;
  return {
    status: mapping.status,
    message: error.message,
    extensions: {
      code: mapping.graphqlCode,
      issues: error.issues.map((issue) => ({ path: [...issue.path], message: issue.message })),
    },
  };
}
