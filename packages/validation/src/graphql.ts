/**
 * @switchboard/validation/graphql: input errors as GraphQL errors a client can act on, from the
 * package's one error table. Needs only the `graphql` peer.
 * @packageDocumentation
 */
import { GraphQLError } from 'graphql';
import { validationErrorResponse } from './error-table.ts';
import type { ValidationError, ValidationIssue } from './errors.ts';

export { VALIDATION_ERROR_TABLE, type ValidationErrorMapping } from './error-table.ts';

/** The `extensions` of a GraphQL error made from a {@link ValidationError}. */
export interface BadUserInputExtensions {
  code: 'BAD_USER_INPUT';
  /** Every issue, each `{ path, message }` (path inside the input, not the GraphQL path). */
  issues: readonly ValidationIssue[];
  http?: { status: number };
}

/** Options of {@link toGraphQLError} and of the yoga plugin `useValidationErrors`. */
export interface ValidationErrorsOptions {
  /**
   * HTTP status for a response carrying such an error. yoga uses the highest status among the
   * errors (it ignores this for `application/json` responses only if you set `http.spec`).
   * `false` leaves yoga's choice (200 with the error in the body).
   * @default 400
   */
  httpStatus?: number | false;
}

/**
 * The GraphQL error for a {@link ValidationError}, from `VALIDATION_ERROR_TABLE`: same message,
 * `extensions.code = 'BAD_USER_INPUT'`, `extensions.issues` and an HTTP status. `from` (the
 * error graphql-js wrapped it in) supplies `path` and `locations`. The validation error is not
 * attached as `originalError`: graphql-yoga masks a GraphQL error that wraps a non-GraphQL one.
 *
 * @example
 * maskError: (error) => (isValidationError(error.originalError) ? toGraphQLError(error.originalError, { from: error }) : error)
 */
export function toGraphQLError(
  error: ValidationError,
  options: ValidationErrorsOptions & { from?: GraphQLError } = {},
): GraphQLError {
  const response = validationErrorResponse(error);
  const status = options.httpStatus ?? response.status;
  const extensions: BadUserInputExtensions = {
    ...response.extensions,
    ...(status === false ? {} : { http: { status } }),
  };
  const from = options.from;
  return new GraphQLError(error.message, {
    ...(from?.nodes ? { nodes: from.nodes } : {}),
    ...(from?.source ? { source: from.source } : {}),
    ...(from?.positions ? { positions: from.positions } : {}),
    ...(from?.path ? { path: from.path } : {}),
    extensions: extensions as unknown as Record<string, unknown>,
  });
}
